"""Quality metrics for the search and grouping engine, and helpers to load the labelled eval set.

Definitions (all in 0..1, higher is better):

* **B-cubed precision / recall / F1** (clustering).  Every item ``i`` of the evaluated set has a
  predicted cluster ``C(i)`` (items the clusterer left out are singletons) and a gold group
  ``G(i)`` (an eval "S.." singleton is its own group; gold groups are restricted to the evaluated
  items).  ``P(i) = |C(i) ∩ G(i)| / |C(i)|``, ``R(i) = |C(i) ∩ G(i)| / |G(i)|``; precision and recall
  are the means over items and F1 is their harmonic mean.
* **item recall@10** (search).  A query's relevant items are all items of its relevant groups.
  ``recall@10(q) = |relevant ∩ top10| / min(10, |relevant|)`` (so a perfect ranking scores 1 even
  when a group has more than 10 items); reported as the mean over queries.
* **MRR** (search).  Mean over queries of ``1 / rank`` of the first relevant item in the results
  (0 if none is returned in the first 100).
* **precision@5** (similar).  For each item whose gold group has at least 2 *other* members:
  query ``similar(title + body, limit=5, exclude_refs=[item])`` over the other items;
  ``P@5(i) = |same-group ∩ top5| / min(5, |group| - 1)`` (capped so a group with only 2 or 3 other
  members can still score 1).  Reported as the mean over those items; also plain ``hit@1``.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

EVAL_PATH = Path(__file__).with_name("eval_set.json")


def load_eval(path: Path = EVAL_PATH) -> dict:
    return json.loads(path.read_text("utf-8"))


def group_number(group: str) -> int:
    return int(group[1:])


def eval_docs(items: Iterable[Mapping]) -> list[dict]:
    """Index documents for the eval items (synthetic submitted_at: one per day, in id order)."""
    base = datetime(2024, 1, 1, 9, 0)
    docs = []
    for n, it in enumerate(sorted(items, key=lambda x: x["id"])):
        docs.append({
            "ref": it["id"],
            "doc_kind": "feedback",
            "title": it.get("title") or "",
            "body": it.get("body") or "",
            "module": it.get("module"),
            "team": it.get("team"),
            "status": "received",
            "submitted_at": base + timedelta(days=n),
        })
    return docs


def item_text(it: Mapping) -> str:
    return f"{it.get('title') or ''}\n{it.get('body') or ''}".strip()


# ----------------------------------------------------------------------------------------------
@dataclass
class BCubed:
    precision: float
    recall: float
    f1: float


def bcubed(predicted: Sequence[Sequence[str]], gold: Mapping[str, str]) -> BCubed:
    """``predicted``: clusters of refs (refs missing from it are singletons); ``gold``: ref -> group
    for every evaluated item."""
    cluster_of: dict[str, int] = {}
    clusters: list[set[str]] = []
    for c in predicted:
        members = {r for r in c if r in gold}
        if not members:
            continue
        for r in members:
            if r in cluster_of:
                raise ValueError(f"{r} is in two predicted clusters")
            cluster_of[r] = len(clusters)
        clusters.append(members)
    for r in gold:
        if r not in cluster_of:
            cluster_of[r] = len(clusters)
            clusters.append({r})
    by_group: dict[str, set[str]] = defaultdict(set)
    for r, g in gold.items():
        by_group[g].add(r)
    p_sum = r_sum = 0.0
    for r, g in gold.items():
        c = clusters[cluster_of[r]]
        gg = by_group[g]
        inter = len(c & gg)
        p_sum += inter / len(c)
        r_sum += inter / len(gg)
    n = len(gold) or 1
    p, rc = p_sum / n, r_sum / n
    f1 = 2 * p * rc / (p + rc) if p + rc else 0.0
    return BCubed(p, rc, f1)


@dataclass
class SearchQuality:
    recall_at_10: float
    mrr: float
    per_query: list[tuple[str, float, float]]  # (query, recall@10, reciprocal rank)


def search_quality(
    queries: Sequence[Mapping],
    items_by_group: Mapping[str, Sequence[str]],
    run: Callable[[str], Sequence[str]],
) -> SearchQuality:
    """``run(q)`` returns ranked refs (at least the top 10; up to 100 are used for MRR)."""
    per = []
    for qd in queries:
        relevant = {r for g in qd["relevant_groups"] for r in items_by_group.get(g, ())}
        ranked = list(run(qd["q"]))[:100]
        top10 = ranked[:10]
        rec = len(relevant & set(top10)) / min(10, len(relevant)) if relevant else 0.0
        rr = 0.0
        for i, ref in enumerate(ranked):
            if ref in relevant:
                rr = 1.0 / (i + 1)
                break
        per.append((qd["q"], rec, rr))
    n = len(per) or 1
    return SearchQuality(sum(p[1] for p in per) / n, sum(p[2] for p in per) / n, per)


@dataclass
class SimilarQuality:
    precision_at_5: float
    hit_at_1: float
    evaluated: int


def similar_quality(
    items: Sequence[Mapping],
    run: Callable[[Mapping], Sequence[str]],
) -> SimilarQuality:
    """``run(item)`` returns the refs of the top 5 similar items (the item itself excluded)."""
    by_group: dict[str, set[str]] = defaultdict(set)
    for it in items:
        by_group[it["group"]].add(it["id"])
    p_sum = h_sum = 0.0
    n = 0
    for it in items:
        others = by_group[it["group"]] - {it["id"]}
        if len(others) < 2:
            continue
        top = list(run(it))[:5]
        same = sum(1 for r in top if r in others)
        p_sum += same / min(5, len(others))
        h_sum += 1.0 if top and top[0] in others else 0.0
        n += 1
    return SimilarQuality(p_sum / max(1, n), h_sum / max(1, n), n)


# ----------------------------------------------------------------------------------------------
def split_items(items: Sequence[Mapping], parity: str | None) -> list[Mapping]:
    """``parity`` None = all items; "odd"/"even" = items of odd/even-numbered groups (G and S)."""
    if parity is None:
        return list(items)
    want = 1 if parity == "odd" else 0
    return [it for it in items if group_number(it["group"]) % 2 == want]


def split_queries(queries: Sequence[Mapping], parity: str | None) -> list[Mapping]:
    """Queries whose relevant groups are all of the given parity (mixed ones are in neither split)."""
    if parity is None:
        return list(queries)
    want = 1 if parity == "odd" else 0
    return [q for q in queries if all(group_number(g) % 2 == want for g in q["relevant_groups"])]


def evaluate_all(data: Mapping, index_dir: Path, parity: str | None = None, config=None) -> dict:
    """Build an index of ALL eval items, run the four metrics on the chosen split, return a dict."""
    import time

    from feedback_portal.search import SearchIndex, cluster
    from feedback_portal.search.grouping import ItemText

    items = data["items"]
    ix = SearchIndex.open_or_create(index_dir, config=config)
    t0 = time.perf_counter()
    ix.rebuild(eval_docs(items))
    t_index = time.perf_counter() - t0
    items_by_group: dict[str, list[str]] = defaultdict(list)
    for it in items:
        items_by_group[it["group"]].append(it["id"])

    queries = split_queries(data["queries"], parity)
    sq = search_quality(queries, items_by_group, lambda q: [h.ref for h in ix.search(q, limit=100, highlight=False).hits])

    sub = split_items(items, parity)
    simq = similar_quality(
        sub, lambda it: [h.ref for h in ix.similar(item_text(it), limit=5, exclude_refs=[it["id"]])]
    )
    t0 = time.perf_counter()
    clusters = cluster([ItemText(it["id"], it.get("title"), it["body"], it.get("module"), it.get("team")) for it in sub])
    t_cluster = time.perf_counter() - t0
    bc = bcubed(clusters, {it["id"]: it["group"] for it in sub})
    ix.close()
    return {
        "split": parity or "all",
        "items": len(sub),
        "queries": len(queries),
        "bcubed_precision": bc.precision,
        "bcubed_recall": bc.recall,
        "bcubed_f1": bc.f1,
        "recall_at_10": sq.recall_at_10,
        "mrr": sq.mrr,
        "similar_p_at_5": simq.precision_at_5,
        "similar_hit_at_1": simq.hit_at_1,
        "similar_items": simq.evaluated,
        "index_seconds": t_index,
        "cluster_seconds": t_cluster,
        "per_query": sq.per_query,
        "clusters": clusters,
    }
