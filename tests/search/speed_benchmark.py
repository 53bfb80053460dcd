"""Rough speed figures on synthetic data (not a pytest module; run by hand).

    python -m tests.search.speed_benchmark --docs 10000 --docs 100000

The eval items are duplicated with variations (word dropout, typos, a clause borrowed from another
item, random module/team/status/date, 5% restricted, 3% issues) up to N documents; then: rebuild
time and index size, search p50/p95 (the 82 eval queries plus fielded/filter/date-sorted
variants, warm, in-process), similar p95, a single upsert, and cluster() time for 2,000 items.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from feedback_portal.search import SearchIndex, cluster  # noqa: E402
from feedback_portal.search.grouping import ItemText  # noqa: E402
from tests.search.metrics import load_eval  # noqa: E402

STATUSES = ["received", "under-review", "linked", "not-cms", "closed"]
KINDS = ["bug", "usability", "missing-feature", "training", "performance", "access", "process"]


def _typo(word: str, rng: random.Random) -> str:
    if len(word) < 5:
        return word
    i = rng.randrange(1, len(word) - 1)
    op = rng.random()
    if op < 0.4:
        return word[:i] + word[i + 1:]
    if op < 0.7:
        return word[:i] + word[i + 1] + word[i] + word[i + 2:]
    return word[:i] + word[i] + word[i:]


def vary(text: str, rng: random.Random, other: str) -> str:
    words = [w for w in text.split() if rng.random() > 0.1]
    words = [_typo(w, rng) if rng.random() < 0.04 else w for w in words]
    if rng.random() < 0.5:
        ow = other.split()
        k = rng.randint(3, min(10, max(3, len(ow))))
        start = rng.randrange(0, max(1, len(ow) - k))
        words += ow[start:start + k]
    return " ".join(words)


def synthetic(n: int, seed: int = 1) -> list[dict]:
    rng = random.Random(seed)
    items = load_eval()["items"]
    modules = sorted({it["module"] for it in items})
    teams = sorted({it["team"] for it in items})
    base = datetime(2023, 1, 1)
    docs = []
    for i in range(n):
        it = items[i % len(items)] if i < len(items) else rng.choice(items)
        other = rng.choice(items)["body"]
        is_issue = rng.random() < 0.03
        docs.append({
            "ref": (f"ISS-{i}" if is_issue else f"F{i}"),
            "doc_kind": "issue" if is_issue else "feedback",
            "title": vary(it["title"], rng, "") if it.get("title") else "",
            "body": vary(it["body"], rng, other) if i >= len(items) else it["body"],
            "module": it["module"] if rng.random() < 0.8 else rng.choice(modules),
            "team": rng.choice(teams),
            "status": rng.choice(STATUSES),
            "kind": rng.choice(KINDS),
            "submitted_at": base + timedelta(minutes=rng.randrange(0, 60 * 24 * 700)),
            "restricted": rng.random() < 0.05,
            "replies": "Thanks, we have passed this to the supplier." if rng.random() < 0.1 else "",
        })
    return docs


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    k = min(len(values) - 1, max(0, int(round(p / 100 * (len(values) - 1)))))
    return values[k]


def run(n: int) -> dict:
    data = load_eval()
    docs = synthetic(n)
    out: dict = {"docs": n}
    with tempfile.TemporaryDirectory() as d:
        ix = SearchIndex.open_or_create(Path(d) / "ix")
        t0 = time.perf_counter()
        ix.rebuild(docs)
        out["rebuild_s"] = time.perf_counter() - t0
        out["index_mb"] = ix.size_bytes() / 1e6
        queries = [q["q"] for q in data["queries"]]
        variants = queries + [f"{q} module:case-notes" for q in queries[:20]] + ["*", "status:received"]
        for q in variants:  # warm-up
            ix.search(q)
        times = []
        for q in variants:
            t0 = time.perf_counter()
            ix.search(q, limit=20)
            times.append(time.perf_counter() - t0)
        for q in queries[:30]:
            t0 = time.perf_counter()
            ix.search(q, limit=20, sort="date", filters={"status": ["received", "under-review"]})
            times.append(time.perf_counter() - t0)
        out["search_p50_ms"] = 1000 * statistics.median(times)
        out["search_p95_ms"] = 1000 * pct(times, 95)
        stimes = []
        for it in data["items"][:100]:
            t0 = time.perf_counter()
            ix.similar(f"{it.get('title') or ''} {it['body']}", limit=5)
            stimes.append(time.perf_counter() - t0)
        out["similar_p50_ms"] = 1000 * statistics.median(stimes)
        out["similar_p95_ms"] = 1000 * pct(stimes, 95)
        t0 = time.perf_counter()
        ix.upsert([{**docs[5], "body": docs[5]["body"] + " edited"}])
        out["upsert_one_ms"] = 1000 * (time.perf_counter() - t0)
        ix.close()
    sample = docs[:2000]
    items = [ItemText(x["ref"], x["title"], x["body"], x["module"]) for x in sample]
    t0 = time.perf_counter()
    groups = cluster(items)
    out["cluster_2000_s"] = time.perf_counter() - t0
    out["cluster_2000_groups"] = len(groups)
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--docs", type=int, action="append", help="index size(s); default 10000")
    args = ap.parse_args()
    for n in args.docs or [10_000]:
        r = run(n)
        print(" ".join(f"{k}={v:.1f}" if isinstance(v, float) else f"{k}={v}" for k, v in r.items()), flush=True)


if __name__ == "__main__":
    main()
