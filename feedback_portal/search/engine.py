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

import json
import math
import os
import re
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time as dtime, timezone
from pathlib import Path
from typing import Any

from whoosh import highlight as wh_highlight
from whoosh import index as wh_index
from whoosh import query as Q
from whoosh import scoring, sorting, writing
from whoosh.fields import BOOLEAN, DATETIME, ID, STORED, TEXT, Schema
from whoosh.index import LockError

from . import analysis
from .analysis import analyse, domain_analyzer, get_synonyms, light_norm
from .vectors import TermStats, add_vectors, cosine, doc_vector

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
        self._formatter = wh_highlight.HtmlFormatter(tagname="mark", classname="search-match", termclass="t",
                                                     between=" … ")
        self._fragmenter = wh_highlight.ContextFragmenter(maxchars=240, surround=60)
        self._whole = wh_highlight.WholeFragmenter()
        self._hl_analyzer = domain_analyzer(synonyms_name)

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
            return self._ix.writer(timeout=self.write_timeout if timeout is None else timeout, **kwargs)
        except LockError as err:
            raise IndexBusy("The search index is being updated by another process; try again shortly.") from err

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

    # query building ---------------------------------------------------------------------------
    def _field_terms(self, text: str, boost: float, fields: Sequence[str] = SEARCH_FIELDS) -> Q.Query:
        c = self.config
        fb = {"content": c.content_boost, "replies": c.replies_boost}
        subs = [Q.Term(f, text, boost=boost * fb[f]) for f in fields if fb.get(f, 0) > 0]
        return subs[0] if len(subs) == 1 else Q.Or(subs)

    def _lexicon_df(self, searcher, term: str) -> int:
        r = searcher.reader()
        return r.doc_frequency("content", term)

    def _fuzzy(self, searcher, surface: str, stem: str) -> list[tuple[str, float]]:
        """Close index terms for a word that isn't in the index: [(term, weight)]."""
        if len(surface) < 4 or not surface.isalpha():
            return []
        maxdist = 2 if len(surface) >= 7 else 1
        r = searcher.reader()
        found: dict[str, int] = {}
        for fname in ("content",):
            for cand in (stem, surface):
                try:
                    for t in r.terms_within(fname, cand, maxdist, prefix=1):
                        if t != stem:
                            d = _edit_distance(cand, t)
                            found[t] = min(found.get(t, 99), d)
                except Exception:  # noqa: BLE001 - a lexicon quirk must not break a search
                    continue
        # close synonym variants ("spelchek" -> spellcheck, "chronolgy" -> chronology)
        syn = get_synonyms(self.synonyms_name)
        for token, variants in syn.concepts().items():
            for v in variants:
                if " " in v or abs(len(v) - len(surface)) > maxdist or v[:1] != surface[:1]:
                    continue
                d = _edit_distance(surface, v.lower())
                if d <= maxdist:
                    found[token] = min(found.get(token, 99), d)
        if not found:
            return []
        scored = []
        for t, d in found.items():
            df = self._lexicon_df(searcher, t)
            if df == 0:
                continue
            scored.append((d, -df, t))
        scored.sort()
        best = scored[:3]
        return [(t, self.config.fuzzy_weight / max(1, d)) for d, _, t in best]

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
        return subs[0] if len(subs) == 1 else Q.Or(subs)

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
            stored = searcher.stored_fields(dn)
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

        final = core if core is not None else Q.Every()
        sortedby = None
        if sort == "date" or core is None:
            sortedby = sorting.FieldFacet("submitted_at", reverse=True)
        elif self.config.prf_docs and self.config.prf_weight > 0 and len(qterms) >= self.config.prf_min_query_terms:
            first = searcher.search(core, limit=self.config.prf_docs, filter=filter_q, mask=mask_q)
            docnums = [h.docnum for h in first]
            exp = self._prf_terms(searcher, docnums, qterms)
            if exp:
                wsum = sum(w for _, w in exp)
                scale = self.config.prf_weight * max(1, len(qterms)) / wsum
                exp_q = Q.Or([self._field_terms(t, w * scale, ("content",)) for t, w in exp])
                final = Q.AndMaybe(core, exp_q) if self.config.prf_restrict else Q.Or([core, exp_q])

        groupedby = {f: sorting.FieldFacet(f, maptype=sorting.Count) for f in FACET_FIELDS}
        results = searcher.search_page(final, page, pagelen=limit, filter=filter_q, mask=mask_q,
                                       sortedby=sortedby, groupedby=groupedby)
        facets = {}
        for f in FACET_FIELDS:
            try:
                groups = results.results.groups(f)
            except KeyError:
                groups = {}
            facets[f] = {k: v for k, v in sorted(groups.items(), key=lambda kv: (-kv[1], str(kv[0]))) if k}
        hits = []
        hl_terms = frozenset(qterms)
        beyond = page > max(1, results.pagecount)
        for i, h in enumerate([] if beyond else results):
            stored = h.fields()
            hit = Hit(
                ref=stored["ref"],
                doc_kind=stored.get("doc_kind", "feedback"),
                score=float(h.score or 0.0),
                rank=results.offset + i + 1,
                title=stored.get("title") or None,
                module=stored.get("module"),
                team=stored.get("team"),
                status=stored.get("status"),
                kind=stored.get("kind"),
                issue_ref=stored.get("issue_ref"),
                submitted_at=stored.get("submitted_at"),
                restricted=bool(stored.get("restricted")),
            )
            if highlight and hl_terms:
                hit.highlights = self._highlights(stored, hl_terms)
            hits.append(hit)
        return SearchResults(
            total=results.total,
            hits=hits,
            facets=facets,
            page=page,
            pagecount=results.pagecount,
            query=q or "",
            notices=notices,
        )

    def _highlights(self, stored: Mapping[str, Any], terms: frozenset[str]) -> dict[str, str]:
        out = {}
        an = self._hl_analyzer
        for f in TEXT_FIELDS:
            text = stored.get(f) or ""
            if not text:
                continue
            frag = self._whole if (f == "title" or len(text) <= 300) else self._fragmenter
            self._formatter.clean()
            html = wh_highlight.highlight(text, terms, an, frag, self._formatter, top=2, minscore=1)
            if html:
                out[f] = html
        return out

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
        res = searcher.search(query, limit=max(candidates or self.config.similar_candidates, limit),
                              filter=filt, mask=mask)
        cands = []
        for h in res:
            stored = h.fields()
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
