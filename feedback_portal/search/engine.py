"""The portal's search index: feedback items and issues in one Whoosh index.

Usage (the web layer)::

    ix = SearchIndex.open_or_create("var/search-index")
    ix.rebuild(docs)                      # bulk (re)index: iterable of dicts, see IndexDoc
    ix.upsert([doc]); ix.delete(["F123"]) # keep in step with the database
    res = ix.search("case notes lost module:case-notes", page=1, limit=20,
                    filters={"status": ["received", "under-review"]}, sort="relevance")
    res.total, res.hits[0].ref, res.hits[0].highlights["body"], res.facets["module"]
    ix.similar("my case note vanished when I was logged out", limit=5)

Query language (never raises on user input; problems become ``QueryError`` or ``notices``):

* plain words: OR semantics, ranked by how much matches (BM25 over ``content`` = title + body, plus
  public ``replies`` at 0.4, with a coordination bonus), after domain analysis
  (synonyms/abbreviations -> concepts, stop words, stemming).
* typo tolerance: a word that is not in the index is expanded to close index terms (edit distance
  1, or 2 for words of 7+ letters) and to close synonym variants.
* ``"quoted phrase"`` must appear as a phrase; ``-word`` / ``-"phrase"`` excludes; ``+word`` requires;
  ``word*`` prefix search (3+ letters before the ``*``).
* fielded terms: ``module:case-notes team:cp-west status:received kind:bug type:issue issue:ISS-4
  ref:F12`` (several values of one field are OR-ed, different fields AND-ed).  ``*`` alone (or an empty
  query) lists everything, newest first.
* relevance ranking adds a light pseudo-relevance-feedback step: the best first-pass matches
  contribute a few extra weighted terms, so "autosave" also finds "lost my note when it timed out".
"""

from __future__ import annotations

import heapq
import json
import logging
import math
import os
import re
import threading
import time
from array import array
from collections import Counter, OrderedDict, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time as dtime, timezone
from itertools import repeat
from operator import add, mul
from pathlib import Path
from typing import Any

from whoosh import highlight as wh_highlight
from whoosh.analysis import Token
from whoosh import index as wh_index
from whoosh import query as Q
from whoosh import scoring, sorting, writing
from whoosh.codec.whoosh3 import LENGTHS_COLUMN, W3LeafMatcher, _lenfield
from whoosh.fields import BOOLEAN, DATETIME, ID, STORED, TEXT, Schema
from whoosh.index import LockError
from whoosh.matching.wrappers import FilterMatcher
from whoosh.query.compound import DefaultOr
from whoosh.searching import ResultsPage
from whoosh.util.numeric import byte_to_length, length_to_byte

from . import analysis
from .analysis import analyse, domain_analyzer, get_synonyms, light_norm
from .vectors import TermStats, add_vectors, cosine, doc_vector

log = logging.getLogger("feedback_portal.search")

SCHEMA_VERSION = 2
META_FILE = "portal-search.json"
TEXT_FIELDS = ("title", "body", "replies")  # stored, highlighted
SEARCH_FIELDS = ("content", "replies")  # indexed: content = title + body
FACET_FIELDS = ("doc_kind", "module", "team", "status", "kind")
# query-string field names -> schema field
FIELD_ALIASES = {
    "module": "module",
    "team": "team",
    "status": "status",
    "kind": "kind",
    "type": "doc_kind",
    "doc_kind": "doc_kind",
    "dockind": "doc_kind",
    "issue": "issue_ref",
    "issue_ref": "issue_ref",
    "ref": "ref",
    "id": "ref",
}
FILTER_FIELDS = ("doc_kind", "module", "team", "status", "kind", "issue_ref", "ref")
MAX_QUERY_TERMS = 40
MAX_QUERY_CHARS = 2000
MAX_LIMIT = 200


class QueryError(ValueError):
    """The search can't be run as typed.  ``str(err)`` is a message safe to show the user."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class IndexBusy(RuntimeError):
    """Another process holds the index write lock for longer than the timeout."""


@dataclass(frozen=True)
class RankingConfig:
    """Tunable ranking parameters (defaults are the tuned values; see benchmarks/search_quality.py)."""

    content_boost: float = 1.0  # title + body, one field (a separate title boost didn't help)
    replies_boost: float = 0.4
    bm25_b: float = 0.75
    bm25_k1: float = 1.2
    coord_scale: float | None = 0.9  # whoosh Or "coordination bonus"
    original_weight: float = 0.6  # weight of the words inside a matched synonym phrase
    fuzzy_weight: float = 0.7
    prf_docs: int = 5  # pseudo relevance feedback: top docs used
    prf_terms: int = 5  # expansion terms added
    prf_weight: float = 0.5  # total weight of the expansion relative to the query
    prf_restrict: bool = False  # True: expansion only re-ranks documents that match the query
    prf_min_query_terms: int = 0
    similar_candidates: int = 20  # BM25 candidates re-ranked by cosine in similar()
    similar_terms: int = 12  # the most distinctive terms of the text used to find candidates
    similar_prf_docs: int = 2  # similar(): the top matches folded back into the query vector
    similar_prf_weight: float = 0.4


@dataclass
class Hit:
    ref: str
    doc_kind: str
    score: float
    rank: int
    title: str | None = None
    module: str | None = None
    team: str | None = None
    status: str | None = None
    kind: str | None = None
    issue_ref: str | None = None
    submitted_at: datetime | None = None
    restricted: bool = False
    highlights: dict[str, str] = field(default_factory=dict)


@dataclass
class SearchResults:
    total: int
    hits: list[Hit]
    facets: dict[str, dict[str, int]]
    page: int = 1
    pagecount: int = 0
    query: str = ""
    notices: list[str] = field(default_factory=list)


# ----------------------------------------------------------------------------------------------
# query-string parsing
# ----------------------------------------------------------------------------------------------
_CLAUSE_RE = re.compile(
    r"""
    (?P<sign>[+-]?)
    (?:
        (?P<field>[A-Za-z_]+):(?:"(?P<fquoted>[^"]*)"|(?P<fvalue>[^\s"]+))
      | "(?P<phrase>[^"]*)"
      | (?P<word>[^\s"]+)
    )
    """,
    re.VERBOSE,
)


@dataclass
class ParsedQuery:
    text: list[str] = field(default_factory=list)  # free-text chunks (OR semantics)
    required: list[str] = field(default_factory=list)  # +word / +"phrase"
    phrases: list[str] = field(default_factory=list)  # "quoted" (required)
    excluded: list[str] = field(default_factory=list)
    prefixes: list[str] = field(default_factory=list)
    fields: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    match_all: bool = False
    notices: list[str] = field(default_factory=list)

    @property
    def has_positive(self) -> bool:
        return bool(self.text or self.required or self.phrases or self.prefixes)


def parse_query(qstring: str) -> ParsedQuery:
    """Tolerant parser: anything it can't use becomes plain words or a notice, never an exception."""
    pq = ParsedQuery()
    s = (qstring or "").replace("\u201c", '"').replace("\u201d", '"').replace("\x00", " ")
    if len(s) > MAX_QUERY_CHARS:
        s = s[:MAX_QUERY_CHARS]
        pq.notices.append(f"Your search was very long, so only the first {MAX_QUERY_CHARS} characters were used.")
    if s.count('"') % 2 == 1:  # unbalanced quote: drop the last one
        idx = s.rfind('"')
        s = s[:idx] + " " + s[idx + 1 :]
    if not s.strip() or re.fullmatch(r"[\s*?]+", s):
        pq.match_all = True
        return pq
    for m in _CLAUSE_RE.finditer(s):
        sign = m.group("sign")
        fname = m.group("field")
        if fname is not None:
            value = m.group("fquoted") if m.group("fquoted") is not None else m.group("fvalue")
            target = FIELD_ALIASES.get(fname.lower())
            if target is None:  # not a field we know: treat as words
                _add_text(pq, sign, f"{fname} {value}")
                continue
            value = value.strip().strip(",;").lower()
            if not value or value in ("*", "?"):
                continue
            if sign == "-":
                pq.fields.setdefault("-" + target, []).append(value)
            else:
                pq.fields.setdefault(target, []).append(value)
            continue
        if m.group("phrase") is not None:
            phrase = m.group("phrase").strip()
            if not phrase:
                continue
            if sign == "-":
                pq.excluded.append(phrase)
            elif len([a for a in analyse(phrase)]) <= 1:
                (pq.required if sign == "+" else pq.text).append(phrase)
            else:
                pq.phrases.append(phrase)
            continue
        word = m.group("word")
        if word in ("AND", "OR", "&&", "||"):
            continue
        if word == "NOT":
            continue
        if word.endswith("*") and len(word.rstrip("*?")) >= 3 and re.fullmatch(r"[\w'-]+\*+", word):
            stem = word.rstrip("*").lower()
            if sign == "-":
                pq.excluded.append(stem)
            else:
                pq.prefixes.append(stem)
            continue
        word = word.replace("*", " ").replace("?", " ")
        if word.strip():
            _add_text(pq, sign, word)
    # "NOT x" -> exclude x
    for m in re.finditer(r"\bNOT\s+(\"[^\"]*\"|\S+)", s):
        target = m.group(1).strip('"')
        if target in pq.text:
            pq.text.remove(target)
        pq.excluded.append(target)
    if not pq.has_positive and not pq.fields and not pq.excluded:
        pq.match_all = True
    return pq


def _add_text(pq: ParsedQuery, sign: str, text: str) -> None:
    if sign == "-":
        pq.excluded.append(text)
    elif sign == "+":
        pq.required.append(text)
    else:
        pq.text.append(text)


# ----------------------------------------------------------------------------------------------
# the index
# ----------------------------------------------------------------------------------------------
def make_schema(synonyms_name: str = "default") -> Schema:
    an = domain_analyzer(synonyms_name)
    return Schema(
        ref=ID(stored=True, unique=True),
        doc_kind=ID(stored=True, sortable=True),
        title=STORED(),
        body=STORED(),
        content=TEXT(analyzer=an),
        replies=TEXT(analyzer=an, stored=True),
        module=ID(stored=True, sortable=True),
        team=ID(stored=True, sortable=True),
        status=ID(stored=True, sortable=True),
        kind=ID(stored=True, sortable=True),
        issue_ref=ID(stored=True, sortable=True),
        submitted_at=DATETIME(stored=True, sortable=True),
        restricted=BOOLEAN(stored=True),
    )


def _slug(value: Any) -> str | None:
    if value is None:
        return None
    s = str(value).strip().lower()
    return s or None


def _as_datetime(value: Any) -> datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if isinstance(value, datetime):
        # the index stores naive UTC
        return value.astimezone(timezone.utc).replace(tzinfo=None) if value.tzinfo else value
    if isinstance(value, date):
        return datetime.combine(value, dtime())
    raise TypeError(f"submitted_at must be a datetime, not {type(value).__name__}")


def _doc_fields(doc: Mapping[str, Any] | Any) -> dict[str, Any]:
    """Turn a mapping (or an object with attributes) into whoosh fields."""
    get = doc.get if isinstance(doc, Mapping) else (lambda k, d=None: getattr(doc, k, d))
    ref = get("ref")
    if not ref:
        raise ValueError("every document needs a ref")
    kind = get("doc_kind") or "feedback"
    if kind not in ("feedback", "issue"):
        raise ValueError(f"doc_kind must be 'feedback' or 'issue', not {kind!r}")
    replies = get("replies")
    if isinstance(replies, (list, tuple)):
        replies = "\n\n".join(str(r) for r in replies if r)
    fields: dict[str, Any] = {
        "ref": str(ref),
        "doc_kind": kind,
        "title": str(get("title") or ""),
        "body": str(get("body") or ""),
        "content": f"{get('title') or ''}\n{get('body') or ''}",
        "replies": str(replies or ""),
        "restricted": bool(get("restricted") or False),
    }
    for name in ("module", "team", "status", "kind", "issue_ref"):
        v = _slug(get(name)) if name != "issue_ref" else (str(get(name)) if get(name) else None)
        if v:
            fields[name] = v
    when = _as_datetime(get("submitted_at"))
    if when is not None:
        fields["submitted_at"] = when
    return fields


# ----------------------------------------------------------------------------------------------
# fast evaluation
# ----------------------------------------------------------------------------------------------
# Whoosh scores a query by walking a tree of matcher objects one posting at a time, in Python, and
# filters, masks, facets and ``total`` each take another pass over every matching document.  At
# 100,000 documents an OR of a few common words ("case note lost") touches 20,000-60,000 postings
# and took 0.3-1 s.  The portal's queries have one shape -- a (coordinated) OR of weighted terms,
# AND-ed with filters and a mask -- so :class:`_View` evaluates exactly that shape with flat arrays:
#
# * postings are read once per segment, whole blocks at a time, and kept (bounded LRU); Whoosh
#   segments never change except for deletions, so this survives commits;
# * BM25F scores per (term, document) are computed once per searcher with Whoosh's formula and
#   statistics (idf over all segments, the byte-coded field lengths), so scores are Whoosh's (as its
#   matchers compute them without the two score-changing shortcuts described at _whoosh_search);
# * a query's score is accumulated term by term into a dict (the coordination bonus of the query's
#   top-level OR folded in per posting), and the top N is picked with a threshold pass;
# * filters, masks, deletions, ``total`` and facet counts are big-integer bitsets: a filter is a
#   few AND/OR operations and a facet count is one ``bit_count``, whatever the number of matches.
#
# Anything else (phrases, prefixes) still goes to Whoosh.  tests/search/test_fast_path.py checks
# that both give the same hits, scores, totals and facets.
_LENGTH_OF_BYTE = tuple(byte_to_length(b) for b in range(256))
_NONZERO_RUN = re.compile(rb"[^\x00]+")
_BIT_POSITIONS = tuple(tuple(j for j in range(8) if b >> j & 1) for b in range(256))
# keyword fields with a small vocabulary: their postings are kept for the segment's lifetime
_SMALL_VOCABULARY = frozenset(FACET_FIELDS) | {"restricted"}


def _positions(bits: int) -> list[int]:
    """The numbers of the set bits of ``bits``, ascending."""
    if bits <= 0:
        return []
    raw = bits.to_bytes((bits.bit_length() + 7) // 8, "little")
    out: list[int] = []
    extend = out.extend
    for run in _NONZERO_RUN.finditer(raw):
        base = run.start() * 8
        for byte in run.group():
            extend([base + j for j in _BIT_POSITIONS[byte]])
            base += 8
    return out


def _bitset(ids: Iterable[int]) -> int:
    """A big-integer bitset of document numbers (``ids`` ascending or not)."""
    ids = ids if isinstance(ids, (list, tuple, array)) else list(ids)
    if not ids:
        return 0
    raw = bytearray((max(ids) >> 3) + 1)
    for d in ids:
        raw[d >> 3] |= 1 << (d & 7)
    return int.from_bytes(raw, "little")


class _LRU:
    """A thread-safe least-recently-used cache bounded by a total ``cost`` (e.g. postings)."""

    def __init__(self, budget: int):
        self.budget = budget
        self._items: OrderedDict = OrderedDict()
        self._cost = 0
        self._lock = threading.Lock()

    def get(self, key):
        with self._lock:
            item = self._items.get(key)
            if item is None:
                return None
            self._items.move_to_end(key)
            return item[0]

    def put(self, key, value, cost: int = 1):
        with self._lock:
            if key in self._items:
                return self._items[key][0]
            self._items[key] = (value, cost)
            self._cost += cost
            while self._cost > self.budget and len(self._items) > 1:
                _, (_, old) = self._items.popitem(last=False)
                self._cost -= old
            return value

    def discard_where(self, test) -> None:
        with self._lock:
            for key in [k for k in self._items if test(k)]:
                self._cost -= self._items.pop(key)[1]

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self._cost = 0


def _read_postings(leaf, fieldname: str, text: Any) -> tuple[array, array] | None:
    """All postings of a term in one segment, deleted documents included: (doc ids, weights)."""
    if (fieldname, text) not in leaf:
        return None
    m = leaf.postings(fieldname, text)
    if isinstance(m, FilterMatcher):  # the deletions filter: we apply deletions ourselves
        m = m.child
    ids = array("i")
    weights = array("d")
    if isinstance(m, W3LeafMatcher):
        # whole blocks at a time (the public id()/next() API costs a method call per posting)
        while m.is_active():
            m._read_ids()
            m._read_weights()
            ids.extend(m._ids)
            weights.extend([float(w) for w in m._weights])
            m._next_block()
    else:
        while m.is_active():
            ids.append(m.id())
            weights.append(float(m.weight()))
            m.next()
    return ids, weights


class _Postings:
    """One term's postings in one segment: doc ids, weights (term frequency as Whoosh stores it),
    the byte-coded field length of each document, and the documents as a bitset."""

    __slots__ = ("ids", "weights", "lengths", "bits")

    def __init__(self, ids: array, weights: array, lengths: bytes):
        self.ids = ids
        self.weights = weights
        self.lengths = lengths
        self.bits = _bitset(ids)

    @property
    def cost(self) -> int:
        return 17 * len(self.ids) + (self.bits.bit_length() >> 3) + 200


class _Segment:
    """What we keep about one Whoosh segment (its documents never change; only deletions do).
    ``io_lock``: held while reading the segment's files (see SearchIndex._io_lock)."""

    def __init__(self, leaf, io_lock):
        self.io = io_lock
        self.id = leaf.segment().segment_id()
        self.doccount = leaf.doc_count_all()
        self._lengths: dict[str, bytes] = {}
        self._id_postings: dict[tuple[str, Any], tuple[array, int] | None] = {}
        self._facets: dict[str, dict[str, int]] = {}
        self._dates: list[int] | None = None
        self._date_order: list[int] | None = None

    def lengths(self, leaf, fieldname: str) -> bytes:
        """The byte-coded length of ``fieldname`` in every document (Whoosh's length column)."""
        got = self._lengths.get(fieldname)
        if got is None:
            with self.io:
                got = self._read_lengths(leaf, fieldname)
            self._lengths[fieldname] = got
        return got

    def _read_lengths(self, leaf, fieldname: str) -> bytes:
        try:
            reader = leaf._perdoc._cached_reader(_lenfield(fieldname), LENGTHS_COLUMN)
            # no column: Whoosh's scorer then uses length 1
            got = bytes(reader) if reader is not None else bytes([length_to_byte(1)]) * self.doccount
        except Exception:  # noqa: BLE001 - another codec: ask document by document
            got = bytes(length_to_byte(leaf.doc_field_length(d, fieldname, 0) or 0)
                        for d in range(self.doccount))
        if len(got) != self.doccount:
            got = bytes(got[: self.doccount]).ljust(self.doccount, b"\x00")
        return got

    def id_postings(self, leaf, fieldname: str, value: Any) -> tuple[array, int] | None:
        """(doc ids, bitset) of a keyword-field value (modules, statuses...: a small vocabulary)."""
        key = (fieldname, value)
        if key not in self._id_postings:
            with self.io:
                got = _read_postings(leaf, fieldname, value)
            self._id_postings[key] = None if got is None else (got[0], _bitset(got[0]))
        return self._id_postings[key]

    def facet_values(self, leaf, fieldname: str) -> dict[str, int]:
        """value -> bitset of the segment's documents with that value, from the field's column
        (what Whoosh's facet counting reads too)."""
        got = self._facets.get(fieldname)
        if got is None:
            docs: dict[str, list[int]] = defaultdict(list)
            with self.io:
                values = list(leaf.column_reader(fieldname))
            for d, value in enumerate(values):
                docs[value].append(d)
            got = self._facets[fieldname] = {value: _bitset(ids) for value, ids in docs.items() if value}
        return got

    def dates(self, leaf) -> list[int]:
        """The sortable value of ``submitted_at`` per document (missing = the column default)."""
        if self._dates is None:
            with self.io:
                self._dates = list(leaf.column_reader("submitted_at", translate=False))
        return self._dates

    def date_order(self, leaf) -> list[int]:
        """Local doc numbers newest first (ties: lower doc number first), as Whoosh sorts them."""
        if self._date_order is None:
            dates = self.dates(leaf)
            self._date_order = sorted(range(self.doccount), key=lambda d: -dates[d])
        return self._date_order


class _View:
    """Per-searcher evaluation state: global statistics, and caches valid until the next commit."""

    def __init__(self, owner: SearchIndex, searcher):
        self.owner = owner
        self.searcher = searcher
        reader = searcher.reader()
        self.reader = reader
        self.n = searcher.doc_count_all()
        self.parts: list[tuple[Any, int, _Segment]] = []
        deleted = 0
        for leaf, offset in (reader.leaf_readers() if self.n else []):
            seg = owner._segment_for(leaf)
            self.parts.append((leaf, offset, seg))
            if leaf.has_deletions():
                deleted |= _bitset(sorted(leaf.deleted_docs_set)) << offset
        self.live = ((1 << self.n) - 1) & ~deleted
        cfg = owner.config
        self.k1 = cfg.bm25_k1
        b = cfg.bm25_b
        self.norms = {}
        for f in SEARCH_FIELDS:
            avgfl = searcher.avg_field_length(f) or 1
            # Whoosh's bm25(): idf * ((tf * (K1 + 1)) / (tf + K1 * ((1 - B) + B * fl / avgfl)))
            self.norms[f] = [self.k1 * ((1 - b) + b * fl / avgfl) for fl in _LENGTH_OF_BYTE]
        self._df: dict[tuple[str, Any], int] = {}
        self._terms = _LRU(owner.score_cache_postings)
        self._term_bits = _LRU(owner.bits_cache_bytes)
        self._filters: dict = {}
        self._facets: dict[str, dict[str, int]] = {}
        self._dates: list[int] | None = None
        self.fuzzy: dict = {}  # (word, stem, synonyms) -> typo expansions (SearchIndex._fuzzy)

    # -- statistics ---------------------------------------------------------------------------
    def df(self, fieldname: str, text: Any) -> int:
        key = (fieldname, text)
        got = self._df.get(key)
        if got is None:
            with self.owner._io_lock:
                got = self._df[key] = self.reader.doc_frequency(fieldname, text)
        return got

    def idf(self, fieldname: str, text: str) -> float:
        # Whoosh's WeightingModel.idf (deleted documents still count, as in Whoosh)
        return math.log(self.n / (self.df(fieldname, text) + 1)) + 1

    # -- postings and scores ------------------------------------------------------------------
    def term(self, fieldname: str, text: str) -> list[tuple[int, array, array]]:
        """[(part, global doc ids, BM25F scores)] for each segment holding the term."""
        key = (fieldname, text)
        got = self._terms.get(key)
        if got is not None:
            return got
        chunks = []
        cost = 0
        if self.df(fieldname, text):
            idf = self.idf(fieldname, text)
            k1p1 = self.k1 + 1
            norms = self.norms[fieldname]
            for part, (leaf, offset, seg) in enumerate(self.parts):
                raw = self.owner._postings(leaf, seg, fieldname, text)
                if raw is None:
                    continue
                ids, weights, lbytes = raw.ids, raw.weights, raw.lengths
                scores = array("d", [idf * ((tf * k1p1) / (tf + norms[lb]))
                                     for tf, lb in zip(weights, lbytes)])
                if offset:
                    ids = array("i", map(add, ids, repeat(offset)))
                chunks.append((part, ids, scores))
                cost += len(ids)
        return self._terms.put(key, chunks, cost + 1)

    def term_bits(self, fieldname: str, text: Any) -> int:
        """The documents containing a term, as a bitset."""
        key = (fieldname, text)
        got = self._term_bits.get(key)
        if got is not None:
            return got
        parts = []
        for leaf, offset, seg in self.parts:
            if fieldname in _SMALL_VOCABULARY:
                raw = seg.id_postings(leaf, fieldname, text)
                bits = raw[1] if raw else 0
            else:
                raw = self.owner._postings(leaf, seg, fieldname, text)
                bits = raw.bits if raw else 0
            if bits:
                parts.append(bits << offset if offset else bits)
        if len(parts) == 1:
            return parts[0]  # the segment's own bitset: nothing to cache
        got = 0
        for bits in parts:
            got |= bits
        return self._term_bits.put(key, got, (got.bit_length() >> 3) + 64)

    def accumulate(self, leaves: Sequence[tuple[str, str, float]], coord: float | None = None,
                   acc: dict[int, float] | None = None, only_existing: bool = False,
                   track: tuple[float, set[int]] | None = None) -> dict[int, float]:
        """Add the scores of an OR of weighted terms to ``acc`` (docnum -> score).

        With ``coord`` (the OR's ``scale``) Whoosh's coordination bonus is applied as Whoosh's
        CoordMatcher does, per segment: ``(score + (m - 1) / (T - scale)**2) * (T - 1) / T`` with
        ``m`` the number of matching terms and ``T`` the number of query terms present in the
        segment.  Written as a sum over the matching terms, each term adds ``a * w * s + c`` and
        the first one only ``a * w * s`` (a = (T-1)/T, c = a/(T-scale)**2), so it is folded into
        the accumulation: no second pass over the documents.

        ``track = (threshold, found)``: add to ``found`` every document whose score reaches
        ``threshold`` (scores only grow, so the final top N can be picked from ``found``)."""
        if acc is None:
            acc = {}
        data = [(self.term(f, t), w) for f, t, w in leaves]
        mult_bonus: dict[int, tuple[float, float]] = {}
        if coord:
            present = Counter(part for chunks, _ in data for part, _, _ in chunks)
            for part, t in present.items():
                if t == 0 or t == coord:
                    mult_bonus[part] = (0.0, 0.0)
                else:
                    a = (t - 1) / t
                    mult_bonus[part] = (a, a / (t - coord) ** 2)
        # Terms in the same order in every segment (most documents first), so that documents
        # with the same matches get bit-for-bit the same score wherever they are; each segment's
        # first term fills its (disjoint) documents in at C speed.
        data.sort(key=lambda item: -sum(len(ids) for _, ids, _ in item[0]))
        work = []
        for chunks, w in data:
            for part, ids, scores in chunks:
                if coord:
                    a, c = mult_bonus[part]
                    work.append((part, ids, scores, a * w, c))
                else:
                    work.append((part, ids, scores, w, None))
        work.sort(key=lambda item: item[0])  # stable: term order kept within a segment
        started = set() if not acc else None
        for part, ids, scores, mult, bonus in work:
            if started is not None and part not in started and not only_existing:
                started.add(part)
                acc.update(zip(ids, map(mul, scores, repeat(mult))))
                continue
            get = acc.get
            if only_existing:
                for d, s in zip(ids, scores):
                    v = get(d)
                    if v is not None:
                        acc[d] = v + s * mult
            elif track is not None and bonus is None:
                threshold, found = track
                add = found.add
                for d, s in zip(ids, scores):
                    v = get(d, 0.0) + s * mult
                    acc[d] = v
                    if v >= threshold:
                        add(d)
            elif bonus is None:
                for d, s in zip(ids, scores):
                    acc[d] = get(d, 0.0) + s * mult
            else:
                for d, s in zip(ids, scores):
                    v = get(d)
                    acc[d] = s * mult if v is None else v + s * mult + bonus
        return acc

    def close_terms(self, fieldname: str, word: str, maxdist: int) -> set[str]:
        """Index terms within ``maxdist`` edits of ``word`` (same first letter), all segments."""
        found: set[str] = set()
        for leaf, _, seg in self.parts:
            found.update(self.owner._close_terms(leaf, seg, fieldname, word, maxdist))
        return found

    def union(self, leaves: Iterable[tuple[str, str, float]]) -> int:
        bits = 0
        for f, t, _ in leaves:
            bits |= self.term_bits(f, t)
        return bits

    def ok_bytes(self, ok: int) -> bytes:
        return ok.to_bytes((self.n >> 3) + 1, "little")

    @staticmethod
    def top(acc: dict[int, float], n: int, ok: bytes) -> list[tuple[int, float]]:
        """The ``n`` best (docnum, score) of ``acc`` whose bit is set in ``ok``: score descending,
        then docnum ascending (Whoosh's order).  A threshold pass: the n-th best score first (the
        allowed ones among them checked afterwards, widening the search if too few were)."""
        if n <= 0 or not acc:
            return []
        values = acc.values()
        k = n
        while True:
            if k >= len(acc):
                found = [(s, d) for d, s in acc.items() if ok[d >> 3] >> (d & 7) & 1]
                break
            threshold = heapq.nlargest(k, values)[-1]
            found = [(s, d) for d, s in acc.items() if s >= threshold and ok[d >> 3] >> (d & 7) & 1]
            if len(found) >= n:
                break
            k *= 8
        found.sort(key=lambda sd: (-sd[0], sd[1]))
        return [(d, s) for s, d in found[:n]]

    @staticmethod
    def top_of(acc: dict[int, float], n: int, docs: Iterable[int]) -> list[tuple[int, float]]:
        get = acc.get
        found = heapq.nsmallest(n, ((-get(d, 0.0), d) for d in docs))
        return [(d, -s) for s, d in found]

    def best(self, acc: dict[int, float], n: int, ok: int,
             count: int | None = None) -> list[tuple[int, float]]:
        """Top ``n`` of ``acc`` among the documents in bitset ``ok`` (``count``: how many of the
        scored documents are in ``ok``; when few are, they are looked at directly)."""
        if count is None or count * 4 >= len(acc):
            return self.top(acc, n, self.ok_bytes(ok))
        return self.top_of(acc, n, _positions(ok))

    # -- filters, facets, dates ----------------------------------------------------------------
    def bits(self, q: Q.Query) -> int:
        """The documents matching a filter/mask query, as a bitset (deleted ones included)."""
        got = self._filters.get(q)
        if got is not None:
            return got
        if type(q) is Q.Term:
            got = self.term_bits(q.fieldname, q.text)
        elif isinstance(q, Q.Or):
            got = 0
            for sub in q.subqueries:
                got |= self.bits(sub)
        elif type(q) is Q.And:
            got = self.live
            for sub in q.subqueries:
                got &= self.bits(sub)
        else:  # date ranges, phrases...: ask Whoosh (slow, but rare and then cached)
            with self.owner._io_lock:
                docs = sorted(self.searcher.docs_for_query(q))
            got = _bitset(docs)
        if len(self._filters) > 512:
            self._filters.clear()
        self._filters[q] = got
        return got

    def facet_values(self, fieldname: str) -> dict[str, int]:
        """value -> bitset of the documents with that value, for a keyword field."""
        got = self._facets.get(fieldname)
        if got is None:
            if len(self.parts) == 1 and not self.parts[0][1]:
                leaf, _, seg = self.parts[0]
                got = seg.facet_values(leaf, fieldname)
            else:
                got = {}
                for leaf, offset, seg in self.parts:
                    for value, bits in seg.facet_values(leaf, fieldname).items():
                        got[value] = got.get(value, 0) | (bits << offset)
            self._facets[fieldname] = got
        return got

    def dates(self) -> list[int]:
        if self._dates is None:
            dates: list[int] = []
            for leaf, _, seg in self.parts:
                dates.extend(seg.dates(leaf))
            self._dates = dates
        return self._dates

    def newest(self, match: int, n: int, count: int) -> list[tuple[int, float]]:
        """The ``n`` newest documents of bitset ``match`` (Whoosh's reverse date sort: a missing
        date sorts first; ties by docnum), with Whoosh's sort key as the score."""
        dates = self.dates()
        if n <= 0 or not count:
            return []
        if count * 16 < self.n:
            docs = heapq.nsmallest(n, _positions(match), key=lambda d: (-dates[d], d))
        else:
            ok = self.ok_bytes(match)
            streams = [_date_stream(seg.date_order(leaf), offset, dates) for leaf, offset, seg in self.parts]
            docs = []
            for _, d in heapq.merge(*streams) if len(streams) > 1 else streams[0]:
                if ok[d >> 3] >> (d & 7) & 1:
                    docs.append(d)
                    if len(docs) >= n:
                        break
        return [(d, float(-dates[d])) for d in docs]


def _date_stream(order: list[int], offset: int, dates: list[int]) -> Iterable[tuple[int, int]]:
    """(sort key, global docnum) of one segment's documents, newest first."""
    for d in order:
        d += offset
        yield -dates[d], d


_FRAGMENT_SCORER = wh_highlight.BasicFragmentScorer()


def _replay_tokens(tokens: Iterable[tuple[str, int, int, float]], terms: frozenset[str]):
    """Kept highlighting tokens as the token stream ``highlight()`` would make (one Token object,
    updated per token, with ``matched`` set as ``set_matched_filter`` does)."""
    t = Token(positions=False, chars=True, removestops=False, mode="query")
    for text, start, end, boost in tokens:
        t.text = text
        t.startchar = start
        t.endchar = end
        t.boost = boost
        t.matched = text in terms
        yield t


def _remember_missing_length_columns(writer) -> None:
    """Make a Whoosh writer's commit cheaper.  Writing a segment, Whoosh looks up the field length of
    every posting of every field; for the fields that have no length column (keywords, dates, the
    flag) the per-document reader asks the file system whether the column exists each time -- a
    stat() per posting, about a fifth of a full rebuild.  Remember those answers on the reader the
    writer makes for itself (instance attributes only: nothing global is patched)."""
    make = getattr(writer, "per_document_reader", None)
    if make is None:
        return

    def per_document_reader():
        reader = make()
        known = getattr(reader, "_readers", None)
        if isinstance(known, dict) and hasattr(reader, "has_column"):
            for name in writer.schema.names():
                column = _lenfield(name)
                if column not in known and not reader.has_column(column):
                    known[column] = None  # W3PerDocReader: "no column" -> the default length
        return reader

    writer.per_document_reader = per_document_reader


def _whoosh_search(searcher, q: Q.Query, **kwargs):
    """``searcher.search(q, **kwargs)`` with Whoosh's own matchers, minus two optimisations that
    change scores in whoosh-reloaded 2.7.5: every few matches the collector "replaces" the matcher
    tree, and (1) an OR branch that can't reach the current top-N on its own becomes an
    AndMaybe/Intersection that then drops that branch's score for some later documents, and (2) the
    coordination bonus is recomputed with only the terms that still have postings left, so later
    documents get a different bonus for the same match.  Without them every document gets the
    plain BM25F sum and coordination bonus, which is what the fast path computes (and what
    tests/search/test_fast_path.py compares it with)."""
    kwargs.setdefault("optimize", False)
    collector = searcher.collector(**kwargs)
    inner = collector
    while getattr(inner, "child", None) is not None:
        inner = inner.child
    if hasattr(inner, "replace"):
        inner.replace = 0
    searcher.search_with_collector(q, collector)
    return collector.results()


def _leaves(q: Q.Query) -> list[tuple[str, str, float]] | None:
    """The weighted terms of an OR-of-terms query, or None for any other shape."""
    if type(q) is Q.Term:
        return [(q.fieldname, q.text, q.boost)]
    if isinstance(q, Q.Or) and not q.scale:
        out: list[tuple[str, str, float]] = []
        for sub in q.subqueries:
            got = _leaves(sub)
            if got is None:
                return None
            out.extend(got)
        if len(q.subqueries) > 1 and q.boost != 1.0:
            out = [(f, t, w * q.boost) for f, t, w in out]
        return out
    return None


def _scoring_plan(q: Q.Query) -> tuple[list[tuple[str, str, float]], float | None] | None:
    """(weighted terms, coordination scale or None) for the top-level scoring query."""
    if isinstance(q, Q.Or) and q.scale and len(q.subqueries) > 1:
        out: list[tuple[str, str, float]] = []
        for sub in q.subqueries:
            got = _leaves(sub)
            if got is None:
                return None
            out.extend(got)
        if q.boost != 1.0:
            return None
        return out, q.scale
    got = _leaves(q)
    return None if got is None else (got, None)


class SearchIndex:
    """A Whoosh index of feedback items and issues.  Thread-safe for searching; one writer at a time
    (across processes too: Whoosh's file lock, waited for up to ``write_timeout`` seconds)."""

    def __init__(self, ix, path: Path, synonyms_name: str = "default", config: RankingConfig | None = None,
                 write_timeout: float = 10.0):
        self._ix = ix
        self.path = Path(path)
        self.synonyms_name = synonyms_name
        self.config = config or RankingConfig()
        self.write_timeout = write_timeout
        self._lock = threading.RLock()
        self._searcher = None
        self._retired: list = []
        self._checked_at = 0.0
        self.refresh_interval = 0.5  # seconds between checks for commits made by other processes
        self._weighting = scoring.BM25F(
            B=self.config.bm25_b, K1=self.config.bm25_k1
        )
        self._fragmenter = wh_highlight.ContextFragmenter(maxchars=240, surround=60)
        self._whole = wh_highlight.WholeFragmenter()
        self._hl_analyzer = domain_analyzer(synonyms_name)
        # fast evaluation (see "fast evaluation" above); ``fast = False`` makes every search go
        # through Whoosh's own matchers (the reference the fast path is tested against)
        self.fast = True
        self.strict_fast = False  # tests: raise instead of falling back to Whoosh on an error
        self.postings_cache_postings = 3_000_000  # segment postings kept (about 25 bytes each)
        self.score_cache_postings = 2_000_000  # per searcher: BM25F scores kept (12 bytes each)
        self.bits_cache_bytes = 16_000_000  # per searcher: term bitsets of multi-segment indexes
        self._segments: dict[str, _Segment] = {}
        # Whoosh's readers share file objects whose reads are seek() + read(): two threads reading
        # the same segment at once can read each other's bytes (seen as UnpicklingError under
        # concurrent requests, which the web layer took for a corrupt index).  Every read of the
        # index's files is made holding this lock: the fast path reads files only to fill its
        # caches, so it is rarely held; a search through Whoosh's matchers (phrases, prefixes)
        # holds it throughout.
        self._io_lock = threading.RLock()
        self._postings_cache = _LRU(self.postings_cache_postings * 17)
        self._fuzzy_cache = _LRU(20000)  # close terms per segment, close synonym variants
        self._hl_cache = _LRU(4000)  # text -> highlighting tokens

    # -- lifecycle ---------------------------------------------------------------------------
    @classmethod
    def open_or_create(cls, path: str | os.PathLike, synonyms_name: str = "default",
                       config: RankingConfig | None = None, write_timeout: float = 10.0) -> SearchIndex:
        """Open the index at ``path``, creating it (empty) if needed.  An index written by an
        older schema version is recreated empty: check :attr:`needs_rebuild` after opening."""
        p = Path(path)
        p.mkdir(parents=True, exist_ok=True)
        meta = cls._read_meta(p)
        if wh_index.exists_in(str(p)) and meta.get("schema_version") == SCHEMA_VERSION:
            ix = wh_index.open_dir(str(p))
        else:
            ix = wh_index.create_in(str(p), make_schema(synonyms_name))
            meta = {"schema_version": SCHEMA_VERSION, "synonyms": None, "built": False}
            cls._write_meta(p, meta)
        return cls(ix, p, synonyms_name, config, write_timeout)

    @staticmethod
    def _read_meta(p: Path) -> dict:
        try:
            return json.loads((p / META_FILE).read_text("utf-8"))
        except (OSError, ValueError):
            return {}

    @staticmethod
    def _write_meta(p: Path, meta: dict) -> None:
        tmp = p / (META_FILE + ".tmp")
        tmp.write_text(json.dumps(meta), "utf-8")
        os.replace(tmp, p / META_FILE)

    @property
    def needs_rebuild(self) -> bool:
        """True when the index was never built, or was built with a different synonym list than
        the one now registered (after an admin edit): call :meth:`rebuild`."""
        meta = self._read_meta(self.path)
        return (not meta.get("built")) or meta.get("synonyms") != get_synonyms(self.synonyms_name).fingerprint

    def close(self) -> None:
        with self._lock:
            if self._searcher is not None:
                self._searcher.close()
                self._searcher = None
            for _, old in self._retired:
                old.close()
            self._retired = []
            self._ix.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def doc_count(self) -> int:
        return self._get_searcher().doc_count()

    def size_bytes(self) -> int:
        return sum(f.stat().st_size for f in self.path.iterdir() if f.is_file())

    # -- writing ------------------------------------------------------------------------------
    def writer(self, timeout: float | None = None, **kwargs):
        """A Whoosh writer holding the index lock (waits up to ``timeout`` s, then ``IndexBusy``)."""
        try:
            w = self._ix.writer(timeout=self.write_timeout if timeout is None else timeout, **kwargs)
        except LockError as err:
            raise IndexBusy("The search index is being updated by another process; try again shortly.") from err
        _remember_missing_length_columns(w)
        return w

    def rebuild(self, docs: Iterable[Mapping[str, Any] | Any], timeout: float | None = None) -> int:
        """Replace the whole index with ``docs`` in one commit (readers keep working meanwhile)."""
        w = self.writer(timeout, limitmb=256)
        n = 0
        try:
            for doc in docs:
                w.add_document(**_doc_fields(doc))
                n += 1
        except BaseException:
            w.cancel()
            raise
        w.commit(mergetype=writing.CLEAR)
        self._write_meta(self.path, {"schema_version": SCHEMA_VERSION, "built": True,
                                     "synonyms": get_synonyms(self.synonyms_name).fingerprint})
        self._invalidate()
        return n

    def upsert(self, docs: Iterable[Mapping[str, Any] | Any], timeout: float | None = None) -> int:
        """Add or replace documents by ``ref``."""
        w = self.writer(timeout)
        n = 0
        try:
            for doc in docs:
                w.update_document(**_doc_fields(doc))
                n += 1
        except BaseException:
            w.cancel()
            raise
        w.commit()
        self._invalidate()
        return n

    def delete(self, refs: Iterable[str], timeout: float | None = None) -> int:
        w = self.writer(timeout)
        n = 0
        try:
            for ref in refs:
                n += w.delete_by_term("ref", str(ref)) or 0
        except BaseException:
            w.cancel()
            raise
        w.commit()
        self._invalidate()
        return n

    def optimize(self, timeout: float | None = None) -> None:
        """Merge all segments into one (optional, e.g. nightly)."""
        w = self.writer(timeout)
        w.commit(optimize=True)
        self._invalidate()

    def set_synonyms(self, synonyms: analysis.Synonyms) -> None:
        """Register a new synonym list for this index's analyzer.  Queries use it at once; call
        :meth:`rebuild` so indexed documents match (``needs_rebuild`` tells you)."""
        analysis.set_synonyms(synonyms, self.synonyms_name)

    # -- searching ----------------------------------------------------------------------------
    def _invalidate(self) -> None:
        self._checked_at = 0.0

    def refresh(self) -> None:
        """Pick up commits (ours or other processes').  Cheap when nothing changed (one look at
        the index's table of contents); called before a search at most every
        ``refresh_interval`` seconds, and immediately after our own writes.

        Note: this deliberately does NOT use Whoosh's ``Searcher.refresh()``: in whoosh-reloaded
        2.7.5 it re-uses segment readers by segment id, so it misses deletions and brings back
        the old segments after a ``rebuild`` (verified; see tests/search/test_engine.py).  We open
        a new searcher only when the index generation changed and retire the old one."""
        with self._lock:
            current = self._searcher
            if current is not None and self._ix.latest_generation() == current.reader().generation():
                self._checked_at = time.monotonic()
                return
            self._searcher = self._ix.searcher(weighting=self._weighting)
            now = time.monotonic()
            if current is not None:
                self._retired.append((now, current))
                current._fp_view = None  # searches still running keep their reference
                self._forget_segments(self._searcher)
            # close searchers retired long enough ago that no search can still be using them
            keep = []
            for when, old in self._retired:
                if now - when > 60:
                    old.close()
                else:
                    keep.append((when, old))
            self._retired = keep
            self._checked_at = now

    def _get_searcher(self):
        if self._searcher is None or time.monotonic() - self._checked_at > self.refresh_interval:
            self.refresh()
        return self._searcher

    def _stored_fields(self, searcher, docnum: int) -> dict:
        with self._io_lock:
            return searcher.stored_fields(docnum)

    # fast evaluation: per-segment and per-searcher state ---------------------------------------
    def _view(self, searcher) -> _View:
        view = getattr(searcher, "_fp_view", None)
        if view is None:
            with self._lock:
                view = getattr(searcher, "_fp_view", None)
                if view is None:
                    view = _View(self, searcher)
                    searcher._fp_view = view
        return view

    def _segment_for(self, leaf) -> _Segment:
        segid = leaf.segment().segment_id()
        seg = self._segments.get(segid)
        if seg is None:
            with self._lock:
                seg = self._segments.get(segid)
                if seg is None:
                    seg = self._segments[segid] = _Segment(leaf, self._io_lock)
        return seg

    def _forget_segments(self, searcher) -> None:
        """Drop what we keep about segments the new searcher no longer has (merged away)."""
        reader = searcher.reader()
        live = set()
        if reader.doc_count_all():
            live = {leaf.segment().segment_id() for leaf, _ in reader.leaf_readers()}
        gone = [segid for segid in self._segments if segid not in live]
        for segid in gone:
            self._segments.pop(segid, None)
        if gone:
            dropped = set(gone)
            self._postings_cache.discard_where(lambda key: key[0] in dropped)
            self._fuzzy_cache.discard_where(lambda key: key[0] in dropped)

    def _postings(self, leaf, seg: _Segment, fieldname: str, text: Any) -> _Postings | None:
        key = (seg.id, fieldname, text)
        got = self._postings_cache.get(key)
        if got is None:
            with self._io_lock:
                raw = _read_postings(leaf, fieldname, text)
            if raw is None:
                got = False
                cost = 64
            else:
                if fieldname in SEARCH_FIELDS:
                    lengths = seg.lengths(leaf, fieldname)
                    lbytes = bytes(map(lengths.__getitem__, raw[0]))
                else:
                    lbytes = b""
                got = _Postings(raw[0], raw[1], lbytes)
                cost = got.cost
            got = self._postings_cache.put(key, got, cost)
        return got or None

    # query building ---------------------------------------------------------------------------
    def _field_terms(self, text: str, boost: float, fields: Sequence[str] = SEARCH_FIELDS) -> Q.Query:
        c = self.config
        fb = {"content": c.content_boost, "replies": c.replies_boost}
        subs = [Q.Term(f, text, boost=boost * fb[f]) for f in fields if fb.get(f, 0) > 0]
        return subs[0] if len(subs) == 1 else Q.Or(subs)

    def _lexicon_df(self, searcher, term: str) -> int:
        return self._view(searcher).df("content", term)

    def _fuzzy(self, searcher, surface: str, stem: str) -> list[tuple[str, float]]:
        """Close index terms for a word that isn't in the index: [(term, weight)].

        Cached: per searcher (the answer), per segment (the close terms of its lexicon, which
        never changes: Whoosh's ``terms_within`` costs 5-50 ms on a 100,000-document index), and
        per synonym list (the close synonym variants)."""
        if len(surface) < 4 or not surface.isalpha():
            return []
        view = self._view(searcher)
        syn = get_synonyms(self.synonyms_name)
        key = (surface, stem, syn)
        got = view.fuzzy.get(key)
        if got is not None:
            return got
        maxdist = 2 if len(surface) >= 7 else 1
        found: dict[str, int] = {}
        for cand in (stem, surface):
            try:
                close = view.close_terms("content", cand, maxdist)
            except Exception:  # noqa: BLE001 - a lexicon quirk must not break a search
                continue
            for t in close:
                if t != stem:
                    d = _edit_distance(cand, t)
                    found[t] = min(found.get(t, 99), d)
        # close synonym variants ("spelchek" -> spellcheck, "chronolgy" -> chronology)
        for token, d in self._close_variants(syn, surface, maxdist):
            found[token] = min(found.get(token, 99), d)
        scored = []
        for t, d in found.items():
            df = self._lexicon_df(searcher, t)
            if df == 0:
                continue
            scored.append((d, -df, t))
        scored.sort()
        best = scored[:3]
        got = [(t, self.config.fuzzy_weight / max(1, d)) for d, _, t in best]
        if len(view.fuzzy) > 5000:
            view.fuzzy.clear()
        view.fuzzy[key] = got
        return got

    def _close_variants(self, syn: analysis.Synonyms, surface: str, maxdist: int) -> list[tuple[str, int]]:
        """(concept token, edit distance) of the synonym variants within ``maxdist`` of ``surface``."""
        key = ("variants", syn, surface, maxdist)
        got = self._fuzzy_cache.get(key)
        if got is None:
            got = []
            for token, variants in syn.concepts().items():
                for v in variants:
                    if " " in v or abs(len(v) - len(surface)) > maxdist or v[:1] != surface[:1]:
                        continue
                    d = _edit_distance(surface, v.lower())
                    if d <= maxdist:
                        got.append((token, d))
            got = self._fuzzy_cache.put(key, got)
        return got

    def _close_terms(self, leaf, seg: _Segment, fieldname: str, word: str, maxdist: int) -> list[str]:
        """``terms_within(fieldname, word, maxdist, prefix=1)`` of one segment (cached)."""
        key = (seg.id, fieldname, word, maxdist)
        got = self._fuzzy_cache.get(key)
        if got is None:
            with self._io_lock:
                close = list(leaf.terms_within(fieldname, word, maxdist, prefix=1))
            got = self._fuzzy_cache.put(key, close)
        return got

    def _units(self, searcher, text: str, fuzzy: bool = True) -> list[tuple[list[tuple[str, float]], str]]:
        """Analyse free text into scoring units: [([(term, weight), ...], label)] where each unit's
        alternatives are OR-ed (a concept with its original words, or a word with its typo fixes)."""
        terms = analyse(text, self.synonyms_name, 1.0)
        units: list[tuple[list[tuple[str, float]], str]] = []
        groups: dict[int, list] = {}
        order: list = []
        for t in terms:
            if t.group is None:
                order.append(t)
            else:
                if t.group not in groups:
                    groups[t.group] = []
                    order.append(("g", t.group))
                groups[t.group].append(t)
        seen: set[str] = set()
        c = self.config
        for item in order:
            if isinstance(item, tuple):
                members = groups[item[1]]
                concept = members[0].text
                if concept in seen:
                    continue
                seen.add(concept)
                alts = [(concept, 1.0)]
                originals = [m.text for m in members[1:] if m.text not in seen]
                for o in originals:
                    alts.append((o, c.original_weight))
                units.append((alts, concept))
            else:
                if item.text in seen:
                    continue
                seen.add(item.text)
                alts = [(item.text, 1.0)]
                if fuzzy and self._lexicon_df(searcher, item.text) == 0:
                    surface = text[item.startchar:item.endchar].lower()
                    alts.extend(self._fuzzy(searcher, surface, item.text))
                units.append((alts, item.text))
            if len(units) >= MAX_QUERY_TERMS:
                break
        return units

    def _unit_query(self, alts: list[tuple[str, float]], boost: float = 1.0) -> Q.Query:
        subs = [self._field_terms(t, w * boost) for t, w in alts]
        # DefaultOr, not Or: on a segment of 5,000 documents or fewer Whoosh turns an Or of 3+
        # parts into a pre-scored array whose terms then don't count for the coordination bonus,
        # so the same query ranked differently on small segments (and the eval set) than on big ones.
        return subs[0] if len(subs) == 1 else DefaultOr(subs)

    def _phrase_query(self, text: str) -> Q.Query | None:
        terms = [t for t in analyse(text, self.synonyms_name, 1.0) if t.group is None or t.concept]
        words = [t.text for t in terms]
        if not words:
            return None
        if len(words) == 1:
            return self._field_terms(words[0], 1.0)
        return Q.Phrase("content", words)

    def _core_query(self, searcher, pq: ParsedQuery, notices: list[str]):
        """(scoring query or None, required queries, excluded queries, query terms)"""
        units = self._units(searcher, " ".join(pq.text)) if pq.text else []
        if len(units) >= MAX_QUERY_TERMS and len(" ".join(pq.text)) > 200:
            notices.append(f"Only the first {MAX_QUERY_TERMS} words of your search were used.")
        scoring_subs = [self._unit_query(alts) for alts, _ in units]
        qterms = {t for alts, _ in units for t, _ in alts}
        required = []
        for r in pq.required:
            us = self._units(searcher, r)
            for alts, _ in us:
                uq = self._unit_query(alts)
                required.append(uq)
                scoring_subs.append(uq)
                qterms.update(t for t, _ in alts)
        for ph in pq.phrases:
            pqy = self._phrase_query(ph)
            if pqy is not None:
                required.append(pqy)
                scoring_subs.append(pqy)
                qterms.update(t.text for t in analyse(ph, self.synonyms_name, 1.0))
        for pre in pq.prefixes:
            norm = light_norm(pre)
            pres = {pre, norm}
            pq_sub = Q.Or([Q.Prefix("content", p) for p in pres])
            scoring_subs.append(pq_sub)
        excluded = []
        for ex in pq.excluded:
            exq = self._phrase_query(ex)
            if exq is not None:
                excluded.append(exq)
        if not scoring_subs:
            core = None
        elif len(scoring_subs) == 1:
            core = scoring_subs[0]
        else:
            core = Q.Or(scoring_subs, scale=self.config.coord_scale)
        return core, required, excluded, qterms

    def _filter_query(self, pq: ParsedQuery, filters: Mapping[str, Any] | None):
        musts: list[Q.Query] = []
        nots: list[Q.Query] = []
        for fname, values in pq.fields.items():
            target = fname.lstrip("-")
            vals = [Q.Term(target, v if target not in ("issue_ref", "ref") else v) for v in values]
            # refs keep their case in the index; try as typed and upper-case
            if target in ("issue_ref", "ref"):
                vals = [Q.Term(target, x) for v in values for x in {v, v.upper()}]
            sub = vals[0] if len(vals) == 1 else Q.Or(vals)
            (nots if fname.startswith("-") else musts).append(sub)
        for key, value in (filters or {}).items():
            if value is None or value == [] or value == "":
                continue
            if key in ("submitted_from", "submitted_to"):
                try:
                    when = _as_datetime(value)
                except (TypeError, ValueError) as err:
                    raise QueryError("That date isn't valid. Use a date like 2024-03-31.") from err
                if key == "submitted_from":
                    musts.append(Q.DateRange("submitted_at", when, None))
                else:
                    if isinstance(value, date) and not isinstance(value, datetime):
                        when = datetime.combine(value, dtime.max)
                    musts.append(Q.DateRange("submitted_at", None, when))
                continue
            if key == "restricted":
                musts.append(Q.Term("restricted", bool(value)))
                continue
            if key not in FILTER_FIELDS:
                raise QueryError(f"You can't filter by “{key}”.")
            vals = [value] if isinstance(value, (str, int)) else list(value)
            norm = [str(v) if key in ("issue_ref", "ref") else str(v).lower() for v in vals]
            terms = [Q.Term(key, v) for v in norm]
            musts.append(terms[0] if len(terms) == 1 else Q.Or(terms))
        return musts, nots

    def _prf_terms(self, searcher, docnums: list[int], qterms: set[str]) -> list[tuple[str, float]]:
        """Pseudo relevance feedback: weighted terms from the top documents."""
        if not docnums:
            return []
        r = searcher.reader()
        n = max(1, r.doc_count())
        acc: Counter = Counter()
        for rank, dn in enumerate(docnums):
            stored = self._stored_fields(searcher, dn)
            text = f"{stored.get('title') or ''}\n{stored.get('body') or ''}"
            tf = Counter()
            for t in analyse(text, self.synonyms_name, 1.0):
                if t.concept or t.group is None:
                    tf[t.text] += 1
            if not tf:
                continue
            norm = math.sqrt(sum(v * v for v in tf.values()))
            rank_w = 1.0 / (1 + rank * 0.5)
            for term, f in tf.items():
                if term in qterms:
                    continue
                df = self._lexicon_df(searcher, term)
                if df <= 1:
                    continue
                idf = math.log((n + 1) / df)
                acc[term] += rank_w * (f / norm) * idf
        best = acc.most_common(self.config.prf_terms)
        if not best:
            return []
        top = best[0][1]
        return [(t, w / top) for t, w in best]

    def search(
        self,
        q: str,
        limit: int = 10,
        page: int = 1,
        filters: Mapping[str, Any] | None = None,
        sort: str = "relevance",
        include_restricted: bool = False,
        highlight: bool = True,
    ) -> SearchResults:
        """Search feedback and issues.  See the module docstring for the query language.

        ``filters``: {"module"|"team"|"status"|"kind"|"doc_kind"|"issue_ref"|"ref": value or list,
        "submitted_from"/"submitted_to": date}.  ``sort``: "relevance" or "date" (newest first).
        Restricted documents are left out unless ``include_restricted``.
        Raises :class:`QueryError` (user-readable) for filters that make no sense; never for the
        query text itself.
        """
        if sort not in ("relevance", "date"):
            raise QueryError("Results can be sorted by relevance or by date.")
        try:
            limit = int(limit)
            page = int(page)
        except (TypeError, ValueError) as err:
            raise QueryError("The page number must be a whole number.") from err
        limit = max(1, min(limit, MAX_LIMIT))
        page = max(1, page)
        pq = parse_query(q if isinstance(q, str) else str(q or ""))
        notices = list(pq.notices)
        searcher = self._get_searcher()
        musts, nots = self._filter_query(pq, filters)
        core, required, excluded, qterms = (None, [], [], set())
        if not pq.match_all:
            core, required, excluded, qterms = self._core_query(searcher, pq, notices)
        if core is None and not pq.match_all and not musts and not nots and not excluded:
            # only stop words / punctuation
            return SearchResults(0, [], {}, page, 0, q or "", notices + [
                "Those words are too common to search for. Try more specific words."])
        filt_parts = musts + required
        filter_q = None
        if filt_parts:
            filter_q = filt_parts[0] if len(filt_parts) == 1 else Q.And(filt_parts)
        mask_parts = nots + excluded
        if not include_restricted:
            mask_parts.append(Q.Term("restricted", True))
        mask_q = None
        if mask_parts:
            mask_q = mask_parts[0] if len(mask_parts) == 1 else Q.Or(mask_parts)

        fast = None
        if self.fast:
            try:
                fast = self._fast_search(searcher, core, qterms, filter_q, mask_q, sort, page, limit)
            except Exception:
                if self.strict_fast:
                    raise
                log.exception("Fast search failed; using Whoosh's matchers instead")
        if fast is not None:
            total, ranked, facets = fast
            pagecount = -(-total // limit)
            offset = (page - 1) * limit
            found = [] if page > max(1, pagecount) else ranked[offset:offset + limit]
            hl_terms = qterms if highlight else None
            hits = [self._hit(self._stored_fields(searcher, dn), score, offset + i + 1, hl_terms)
                    for i, (dn, score) in enumerate(found)]
            return SearchResults(total=total, hits=hits, facets=facets, page=page, pagecount=pagecount,
                                 query=q or "", notices=notices)

        with self._io_lock:  # Whoosh's matchers read the index files throughout (see _io_lock)
            return self._whoosh_path(searcher, q, core, qterms, filter_q, mask_q, sort, page, limit,
                                     highlight, notices)

    def _whoosh_path(self, searcher, q, core, qterms: set[str], filter_q, mask_q, sort: str, page: int,
                     limit: int, highlight: bool, notices: list[str]) -> SearchResults:
        """``search`` with Whoosh's own matchers (phrases, prefixes; and ``fast = False``)."""
        final = core if core is not None else Q.Every()
        sortedby = None
        if sort == "date" or core is None:
            sortedby = sorting.FieldFacet("submitted_at", reverse=True)
        elif self.config.prf_docs and self.config.prf_weight > 0 and len(qterms) >= self.config.prf_min_query_terms:
            first = _whoosh_search(searcher, core, limit=self.config.prf_docs, filter=filter_q, mask=mask_q)
            docnums = [h.docnum for h in first]
            exp = self._prf_terms(searcher, docnums, qterms)
            if exp:
                wsum = sum(w for _, w in exp)
                scale = self.config.prf_weight * max(1, len(qterms)) / wsum
                exp_q = Q.Or([self._field_terms(t, w * scale, ("content",)) for t, w in exp])
                final = Q.AndMaybe(core, exp_q) if self.config.prf_restrict else Q.Or([core, exp_q])

        groupedby = {f: sorting.FieldFacet(f, maptype=sorting.Count) for f in FACET_FIELDS}
        found = _whoosh_search(searcher, final, limit=page * limit, filter=filter_q, mask=mask_q,
                               sortedby=sortedby, groupedby=groupedby)
        results = ResultsPage(found, page, limit)
        facets = {}
        for f in FACET_FIELDS:
            try:
                groups = results.results.groups(f)
            except KeyError:
                groups = {}
            facets[f] = {k: v for k, v in sorted(groups.items(), key=lambda kv: (-kv[1], str(kv[0]))) if k}
        beyond = page > max(1, results.pagecount)
        hits = [self._hit(h.fields(), h.score, results.offset + i + 1, qterms if highlight else None)
                for i, h in enumerate([] if beyond else results)]
        return SearchResults(total=results.total, hits=hits, facets=facets, page=page,
                             pagecount=results.pagecount, query=q or "", notices=notices)

    def _fast_search(self, searcher, core, qterms: set[str], filter_q, mask_q, sort: str, page: int,
                     limit: int) -> tuple[int, list[tuple[int, float]], dict[str, dict[str, int]]] | None:
        """``search`` without Whoosh's matchers (see "fast evaluation"): (total, the best
        ``page * limit`` (docnum, score) in order, facets), or None for a query it can't do."""
        view = self._view(searcher)
        plan = None
        if core is not None:
            plan = _scoring_plan(core)
            if plan is None:
                return None  # phrases, prefixes: Whoosh
        ok = view.live
        if filter_q is not None:
            ok &= view.bits(filter_q)
        if mask_q is not None:
            ok &= ~view.bits(mask_q)
        want = page * limit
        if sort == "date" or plan is None:
            match = ok if plan is None else ok & view.union(plan[0])
            total = match.bit_count()
            ranked = view.newest(match, want, total)
        else:
            leaves, coord = plan
            acc = view.accumulate(leaves, coord)
            match = view.union(leaves) & ok
            cfg = self.config
            prf = cfg.prf_docs and cfg.prf_weight > 0 and len(qterms) >= cfg.prf_min_query_terms
            # the best `want` by the query alone (the first `prf_docs` of them feed PRF)
            core_top = view.best(acc, max(want, cfg.prf_docs) if prf else want, match, match.bit_count())
            ranked = core_top[:want]
            exp = self._prf_terms(searcher, [dn for dn, _ in core_top[:cfg.prf_docs]], qterms) if prf else []
            if exp:
                wsum = sum(w for _, w in exp)
                scale = cfg.prf_weight * max(1, len(qterms)) / wsum
                exp_leaves = _leaves(Q.Or([self._field_terms(t, w * scale, ("content",)) for t, w in exp]))
                if cfg.prf_restrict:
                    view.accumulate(exp_leaves, acc=acc, only_existing=True)
                    ranked = view.best(acc, want, match, match.bit_count())
                elif len(ranked) < want:  # fewer matches than places: rank them all
                    view.accumulate(exp_leaves, acc=acc)
                    match |= view.union(exp_leaves) & ok
                    ranked = view.best(acc, want, match, match.bit_count())
                else:
                    # Expansion only adds to scores, so the final top `want` all score at least
                    # the `want`-th score by the query alone: only documents that reach it (or were
                    # already there) can be in it -- no second pass over every match.
                    found: set[int] = set()
                    view.accumulate(exp_leaves, acc=acc, track=(ranked[-1][1], found))
                    match |= view.union(exp_leaves) & ok
                    allowed = view.ok_bytes(match)
                    found.update(dn for dn, _ in ranked)
                    best = sorted((-acc[d], d) for d in found if allowed[d >> 3] >> (d & 7) & 1)
                    ranked = [(d, -s) for s, d in best[:want]]
            total = match.bit_count()
        facets = {}
        for f in FACET_FIELDS:
            counts = {}
            for value, bits in view.facet_values(f).items():
                if value:
                    n = (match & bits).bit_count()
                    if n:
                        counts[value] = n
            facets[f] = dict(sorted(counts.items(), key=lambda kv: (-kv[1], str(kv[0]))))
        return total, ranked, facets

    def _hit(self, stored: Mapping[str, Any], score: float, rank: int, hl_terms: set[str] | None) -> Hit:
        hit = Hit(
            ref=stored["ref"],
            doc_kind=stored.get("doc_kind", "feedback"),
            score=float(score or 0.0),
            rank=rank,
            title=stored.get("title") or None,
            module=stored.get("module"),
            team=stored.get("team"),
            status=stored.get("status"),
            kind=stored.get("kind"),
            issue_ref=stored.get("issue_ref"),
            submitted_at=stored.get("submitted_at"),
            restricted=bool(stored.get("restricted")),
        )
        if hl_terms:
            hit.highlights = self._highlights(stored, frozenset(hl_terms))
        return hit

    def _highlights(self, stored: Mapping[str, Any], terms: frozenset[str]) -> dict[str, str]:
        """Whoosh's ``highlight()`` (same fragments, same HTML), with each text's tokens analysed
        once and kept (an LRU of recent texts), and fields with no matching word skipped."""
        out = {}
        for f in TEXT_FIELDS:
            text = stored.get(f) or ""
            if not text:
                continue
            tokens, words = self._hl_tokens(text)
            if terms.isdisjoint(words):
                continue  # no fragment could score: Whoosh returns ""
            frag = self._whole if (f == "title" or len(text) <= 300) else self._fragmenter
            formatter = wh_highlight.HtmlFormatter(tagname="mark", classname="search-match", termclass="t",
                                                   between=" … ")  # per call: it counts terms as it goes
            fragments = frag.fragment_tokens(text, _replay_tokens(tokens, terms))
            fragments = wh_highlight.top_fragments(fragments, 2, _FRAGMENT_SCORER, wh_highlight.FIRST, 1)
            html = formatter(text, fragments)
            if html:
                out[f] = html
        return out

    def _hl_tokens(self, text: str) -> tuple[tuple[tuple[str, int, int, float], ...], frozenset[str]]:
        """The highlighting analysis of ``text`` (stop words kept): ((text, start, end, boost), ...)."""
        key = (get_synonyms(self.synonyms_name), text)
        got = self._hl_cache.get(key)
        if got is None:
            tokens = tuple((t.text, t.startchar, t.endchar, t.boost)
                           for t in self._hl_analyzer(text, chars=True, mode="query", removestops=False))
            got = self._hl_cache.put(key, (tokens, frozenset(t[0] for t in tokens)), 1)
        return got

    # -- similar --------------------------------------------------------------------------------
    def similar(
        self,
        text: str,
        limit: int = 5,
        doc_kinds: Sequence[str] = ("feedback", "issue"),
        exclude_refs: Iterable[str] = (),
        include_restricted: bool = False,
        candidates: int | None = None,
    ) -> list[Hit]:
        """Documents saying much the same as ``text`` (for "has someone already said this?").

        Candidates come from a BM25 OR-query of the text's most distinctive terms, re-ranked by
        cosine similarity of the document vectors (concepts + stems, character 4-grams), then
        re-ranked once more with the top 2 matches folded into the query vector (pseudo relevance
        feedback).  Returns up to ``limit`` hits, best first; ``score`` is the plain cosine
        similarity to ``text`` in 0..1 (about 0.3 and above is usually the same problem)."""
        text = (text or "")[:MAX_QUERY_CHARS * 2]
        searcher = self._get_searcher()
        stats = self._term_stats(searcher)
        qvec = doc_vector(text, stats, self.synonyms_name)
        if not qvec.words:
            return []
        top_terms = sorted(qvec.words.items(), key=lambda kv: -kv[1])[: self.config.similar_terms]
        subs = [self._field_terms(t, w, ("content",)) for t, w in top_terms]
        query = subs[0] if len(subs) == 1 else Q.Or(subs)
        filt = Q.Or([Q.Term("doc_kind", k) for k in doc_kinds]) if doc_kinds else None
        mask_parts = [Q.Term("ref", r) for r in exclude_refs]
        if not include_restricted:
            mask_parts.append(Q.Term("restricted", True))
        mask = Q.Or(mask_parts) if mask_parts else None
        want = max(candidates or self.config.similar_candidates, limit)
        docnums = None
        if self.fast:
            try:
                view = self._view(searcher)
                leaves = _leaves(query)
                ok = view.live
                if filt is not None:
                    ok &= view.bits(filt)
                if mask is not None:
                    ok &= ~view.bits(mask)
                acc = view.accumulate(leaves)
                match = view.union(leaves) & ok
                docnums = [dn for dn, _ in view.best(acc, want, match, match.bit_count())]
            except Exception:
                if self.strict_fast:
                    raise
                log.exception("Fast similar() failed; using Whoosh's matchers")
        if docnums is None:
            with self._io_lock:
                found = _whoosh_search(searcher, query, limit=want, filter=filt, mask=mask)
                docnums = [h.docnum for h in found]
        cands = []
        for dn in docnums:
            stored = self._stored_fields(searcher, dn)
            dvec = doc_vector(f"{stored.get('title') or ''}\n{stored.get('body') or ''}", stats, self.synonyms_name)
            cands.append((dvec, stored))
        scored = sorted(((cosine(qvec, dv), stored) for dv, stored in cands), key=lambda x: -x[0])
        if self.config.similar_prf_docs and len(scored) > self.config.similar_prf_docs:
            # feedback from the best matches: documents like them are likely about the same thing
            by_ref = {stored["ref"]: dv for dv, stored in cands}
            expanded = qvec
            for _, stored in scored[: self.config.similar_prf_docs]:
                expanded = add_vectors(expanded, by_ref[stored["ref"]], self.config.similar_prf_weight)
            reranked = sorted(((cosine(expanded, dv), cosine(qvec, dv), stored) for dv, stored in cands),
                              key=lambda x: -x[0])
            scored = [(plain, stored) for _, plain, stored in reranked]
        out = []
        for i, (sim, stored) in enumerate(scored[:limit]):
            out.append(Hit(ref=stored["ref"], doc_kind=stored.get("doc_kind", "feedback"), score=round(sim, 4),
                           rank=i + 1, title=stored.get("title") or None, module=stored.get("module"),
                           team=stored.get("team"), status=stored.get("status"), kind=stored.get("kind"),
                           issue_ref=stored.get("issue_ref"), submitted_at=stored.get("submitted_at"),
                           restricted=bool(stored.get("restricted"))))
        return out

    def _term_stats(self, searcher) -> TermStats:
        r = searcher.reader()

        def df(term: str) -> int:
            return self._lexicon_df(searcher, term)

        return TermStats(doc_count=max(1, r.doc_count()), df=df)


def _edit_distance(a: str, b: str) -> int:
    """Damerau-Levenshtein (optimal string alignment) distance."""
    if a == b:
        return 0
    la, lb = len(a), len(b)
    if abs(la - lb) > 3:
        return abs(la - lb)
    prev2 = None
    prev = list(range(lb + 1))
    for i in range(1, la + 1):
        cur = [i] + [0] * lb
        for j in range(1, lb + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
            if prev2 is not None and i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                cur[j] = min(cur[j], prev2[j - 2] + 1)
        prev2, prev = prev, cur
    return prev[lb]
