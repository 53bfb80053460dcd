"""The fast evaluation path gives the same results as Whoosh's own matchers.

``SearchIndex.search``/``similar`` evaluate the portal's query shape (an OR of weighted terms with a
coordination bonus, filters, a mask, PRF) without Whoosh's matcher tree (see "fast evaluation" in
feedback_portal/search/engine.py).  Here every query runs both ways (``ix.fast = True/False``) and
must give the same hits in the same order, the same scores (to rounding), totals, page counts and
facets -- on a single-segment index, and on one with several segments and deletions (upserts).
"""

from __future__ import annotations

import math
import random
from datetime import datetime, timedelta

import pytest

from feedback_portal.search import SearchIndex
from tests.search.metrics import eval_docs, item_text, load_eval

STATUSES = ["received", "under-review", "linked", "closed"]


def _docs() -> list[dict]:
    data = load_eval()
    rng = random.Random(3)
    docs = eval_docs(data["items"])
    for i, doc in enumerate(docs):
        doc["status"] = rng.choice(STATUSES)
        doc["restricted"] = rng.random() < 0.05
        if rng.random() < 0.1:
            doc["replies"] = "Thanks, we have passed this to the supplier. Case notes are being looked at."
    # near-duplicates (ties) and issues
    base = datetime(2024, 6, 1)
    for i, it in enumerate(data["items"][:150]):
        docs.append({
            "ref": f"D{i}" if i % 10 else f"ISS-{i}",
            "doc_kind": "feedback" if i % 10 else "issue",
            "title": it.get("title") or "",
            "body": it["body"] + (" Happened again today." if i % 3 else ""),
            "module": it["module"],
            "team": it.get("team"),
            "status": rng.choice(STATUSES),
            "submitted_at": base + timedelta(hours=i // 2),  # pairs share a timestamp
        })
    return docs


QUERIES = [q["q"] for q in load_eval()["queries"]]


def _variants() -> list[tuple[str, dict]]:
    out: list[tuple[str, dict]] = [(q, {}) for q in QUERIES]
    out += [(q + " module:case-notes", {}) for q in QUERIES[:12]]
    out += [(q, {"filters": {"status": ["received", "under-review"]}}) for q in QUERIES[:12]]
    out += [(q, {"sort": "date"}) for q in QUERIES[:8]]
    out += [(q, {"page": 2, "limit": 7}) for q in QUERIES[:8]]
    out += [(q, {"include_restricted": True}) for q in QUERIES[:6]]
    out += [(q, {"filters": {"submitted_from": datetime(2024, 3, 1)}}) for q in QUERIES[:4]]
    out += [(q, {}) for q in ("*", "", "status:received", "type:issue", "module:chronology -status:closed",
                              "case note -kicked", "+chronology date", "-lost case note", "xyzzy lost", "xyzzy",
                              "casenote casenote lost", "the and of", "case note", "spelchek serch")]
    out += [("case note lost", {"page": 99})]
    return out


def _same(fast, slow, label: str) -> None:
    assert fast.total == slow.total, label
    assert fast.pagecount == slow.pagecount, label
    assert fast.facets == slow.facets, label
    assert fast.notices == slow.notices, label
    assert [h.rank for h in fast.hits] == [h.rank for h in slow.hits], label
    for a, b in zip(fast.hits, slow.hits):
        assert math.isclose(a.score, b.score, rel_tol=1e-9, abs_tol=1e-9), (label, a.ref, a.score, b.score)
    # The same documents in the same order, except that documents whose scores differ only by float
    # rounding (summed in a different order) may swap: compare each run of tied scores as a set,
    # and not the last run on the page (it may continue on the next page, differently cut).
    runs_fast, runs_slow = _tie_runs(fast.hits), _tie_runs(slow.hits)
    assert len(runs_fast) == len(runs_slow), label
    for rf, rs in list(zip(runs_fast, runs_slow))[:-1]:
        assert rf == rs, label
    by_ref = {h.ref: h for h in slow.hits}
    for h in fast.hits:
        if h.ref in by_ref:
            assert h.highlights == by_ref[h.ref].highlights, label


def _tie_runs(hits) -> list[set[str]]:
    runs: list[set[str]] = []
    last = None
    for h in hits:
        if last is None or not math.isclose(h.score, last, rel_tol=1e-9, abs_tol=1e-9):
            runs.append(set())
        runs[-1].add(h.ref)
        last = h.score
    return runs


def _compare(ix: SearchIndex) -> None:
    ix.strict_fast = True
    for q, opts in _variants():
        kwargs = {"limit": 20, **opts}
        ix.fast = True
        fast = ix.search(q, **kwargs)
        ix.fast = False
        slow = ix.search(q, **kwargs)
        _same(fast, slow, f"{q!r} {opts}")
    for it in load_eval()["items"][:40]:
        ix.fast = True
        fast = ix.similar(item_text(it), limit=5, exclude_refs=[it["id"]])
        ix.fast = False
        slow = ix.similar(item_text(it), limit=5, exclude_refs=[it["id"]])
        assert [(h.ref, h.score) for h in fast] == [(h.ref, h.score) for h in slow], it["id"]
    ix.fast = True


@pytest.fixture(scope="module")
def docs():
    return _docs()


def test_fast_path_matches_whoosh_single_segment(tmp_path, docs):
    ix = SearchIndex.open_or_create(tmp_path / "ix")
    try:
        ix.rebuild(docs)
        _compare(ix)
    finally:
        ix.close()


def test_fast_path_matches_whoosh_with_segments_and_deletions(tmp_path, docs):
    ix = SearchIndex.open_or_create(tmp_path / "ix")
    try:
        ix.rebuild(docs[:200])
        ix.upsert(docs[200:330])
        ix.upsert([{**d, "body": d["body"] + " edited"} for d in docs[5:40:3]])  # deletes + re-adds
        ix.upsert(docs[330:])
        ix.delete([d["ref"] for d in docs[100:120]])
        assert len(ix._get_searcher().reader().leaf_readers()) > 1
        _compare(ix)
    finally:
        ix.close()


def test_fast_path_survives_commits(tmp_path, docs):
    """Caches are per segment and per searcher: results follow upserts and deletes at once."""
    ix = SearchIndex.open_or_create(tmp_path / "ix")
    try:
        ix.rebuild(docs[:50])
        before = ix.search("case note lost", sort="date").total  # (sorted by date: no PRF)
        ix.upsert([{"ref": "NEW1", "body": "my case note was lost again"}])
        assert "NEW1" in [h.ref for h in ix.search("case note lost", limit=100).hits]
        assert ix.search("case note lost", sort="date").total == before + 1
        ix.delete(["NEW1"])
        assert "NEW1" not in [h.ref for h in ix.search("case note lost", limit=100).hits]
        assert ix.search("case note lost", sort="date").total == before
        ix.rebuild([{"ref": "ONLY", "body": "a lost case note"}])
        res = ix.search("case note lost")
        assert [h.ref for h in res.hits] == ["ONLY"] and res.total == 1
        assert res.facets["doc_kind"] == {"feedback": 1}
    finally:
        ix.close()


def test_highlights_match_whoosh_highlight(tmp_path):
    """The cached-token highlighter gives exactly what whoosh.highlight.highlight() gives."""
    from whoosh import highlight as wh_highlight

    from feedback_portal.search.analysis import domain_analyzer
    from feedback_portal.search.engine import TEXT_FIELDS

    ix = SearchIndex.open_or_create(tmp_path / "ix")
    an = domain_analyzer()
    items = load_eval()["items"]
    rng = random.Random(5)
    try:
        for n, it in enumerate(items[:120]):
            other = items[(n * 7) % len(items)]
            stored = {"title": it.get("title") or "", "body": it["body"] + " " + other["body"] * (n % 4),
                      "replies": "Case notes: we passed this on <b>today</b>." if n % 5 == 0 else ""}
            words = [t.text for t in an(f"{stored['title']} {stored['body']}", mode="query")]
            terms = frozenset(rng.sample(words, min(len(words), rng.randint(1, 6))) + ["casenote", "xyz"])
            expected = {}
            for f in TEXT_FIELDS:
                text = stored.get(f) or ""
                if not text:
                    continue
                frag = ix._whole if (f == "title" or len(text) <= 300) else ix._fragmenter
                fmt = wh_highlight.HtmlFormatter(tagname="mark", classname="search-match", termclass="t", between=" … ")
                html = wh_highlight.highlight(text, terms, an, frag, fmt, top=2, minscore=1)
                if html:
                    expected[f] = html
            assert ix._highlights(stored, terms) == expected, n
            assert ix._highlights(stored, terms) == expected, n  # from the cache
    finally:
        ix.close()


def test_writer_length_column_shortcut_changes_nothing(tmp_path, docs, monkeypatch):
    """The commit shortcut (remembering which fields have no length column) writes the same index."""
    import feedback_portal.search.engine as engine

    def build(path, shortcut: bool):
        if not shortcut:
            monkeypatch.setattr(engine, "_remember_missing_length_columns", lambda writer: None)
        ix = SearchIndex.open_or_create(path)
        ix.rebuild(docs[:150])
        ix.upsert(docs[150:200])
        monkeypatch.undo()
        return ix

    a, b = build(tmp_path / "a", True), build(tmp_path / "b", False)
    try:
        sa, sb = a._get_searcher(), b._get_searcher()
        assert sa.doc_count_all() == sb.doc_count_all()
        for f in ("content", "replies"):
            assert sa.field_length(f) == sb.field_length(f)
            assert [sa.doc_field_length(d, f) for d in range(sa.doc_count_all())] == \
                   [sb.doc_field_length(d, f) for d in range(sb.doc_count_all())]
        for q in QUERIES[:20]:
            ra, rb = a.search(q, limit=30), b.search(q, limit=30)
            assert [(h.ref, h.score) for h in ra.hits] == [(h.ref, h.score) for h in rb.hits]
            assert ra.total == rb.total and ra.facets == rb.facets
    finally:
        a.close()
        b.close()


def test_concurrent_cold_searches_read_the_index_safely(tmp_path, docs):
    """Many threads searching a freshly opened index at once (every cache cold, so every path reads the
    index files, including phrase queries through Whoosh's matchers) get exactly the single-threaded
    results, and no errors.  Whoosh's readers are not safe for concurrent reads on their own: without
    SearchIndex._io_lock the Whoosh-matcher half of this test fails with UnpicklingError / zlib errors."""
    import threading

    path = tmp_path / "ix"
    builder = SearchIndex.open_or_create(path)
    builder.rebuild(docs)
    builder.close()
    queries = QUERIES[:30] + ['"case note"', "chrono*", "case note -kicked", "module:case-notes lost"]
    reference = SearchIndex.open_or_create(path)
    expected = {q: [(h.ref, round(h.score, 9)) for h in reference.search(q, limit=20).hits] for q in queries}
    texts = [item_text(it) for it in load_eval()["items"][:20]]
    expected_similar = {t: [h.ref for h in reference.similar(t)] for t in texts}
    reference.close()
    for fast in (True, False):  # False: every query through Whoosh's matchers, which read the files throughout
        ix = SearchIndex.open_or_create(path)
        ix.strict_fast = True
        ix.fast = fast
        errors: list[BaseException] = []
        got: dict = {}

        def worker(n: int) -> None:
            try:
                for q in queries[n::3] + queries:
                    got.setdefault(q, set()).add(tuple((h.ref, round(h.score, 9)) for h in ix.search(q, limit=20).hits))
                for t in texts[n::2]:
                    got.setdefault(t, set()).add(tuple(h.ref for h in ix.similar(t)))
            except BaseException as err:  # noqa: BLE001 - reported below
                errors.append(err)

        threads = [threading.Thread(target=worker, args=(n,)) for n in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        ix.close()
        assert not errors, errors[:3]
        for q in queries:
            assert got[q] == {tuple(expected[q])}, q
        for t in texts:
            if t in got:
                assert got[t] == {tuple(expected_similar[t])}
