"""Print the search/grouping quality table for the labelled eval set.

    python benchmarks/search_quality.py            # full set + odd (tuning) / even (held-out) halves
    python benchmarks/search_quality.py --queries  # also per-query recall@10 / reciprocal rank
    python benchmarks/search_quality.py --no-synonyms   # ablation: empty synonym list

Metric definitions: tests/search/metrics.py.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from feedback_portal.search.analysis import Synonyms, set_synonyms  # noqa: E402
from tests.search.metrics import evaluate_all, load_eval  # noqa: E402

COLUMNS = [
    ("items", "items", "{:d}"),
    ("queries", "queries", "{:d}"),
    ("bcubed_precision", "B3 P", "{:.3f}"),
    ("bcubed_recall", "B3 R", "{:.3f}"),
    ("bcubed_f1", "B3 F1", "{:.3f}"),
    ("recall_at_10", "R@10", "{:.3f}"),
    ("mrr", "MRR", "{:.3f}"),
    ("similar_p_at_5", "sim P@5", "{:.3f}"),
    ("similar_hit_at_1", "sim hit@1", "{:.3f}"),
    ("cluster_seconds", "cluster s", "{:.2f}"),
]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--queries", action="store_true", help="per-query results for the full set")
    ap.add_argument("--no-synonyms", action="store_true", help="ablation: run with an empty synonym list")
    args = ap.parse_args()
    if args.no_synonyms:
        set_synonyms(Synonyms([]))
    data = load_eval()
    rows = []
    for split in (None, "odd", "even"):
        with tempfile.TemporaryDirectory() as d:
            rows.append(evaluate_all(data, Path(d) / "ix", split))
    head = f"{'split':<14}" + "".join(f"{title:>11}" for _, title, _ in COLUMNS)
    print(head)
    print("-" * len(head))
    names = {"all": "all", "odd": "odd (tuning)", "even": "even (held)"}
    for r in rows:
        print(f"{names[r['split']]:<14}" + "".join(f"{fmt.format(r[k]):>11}" for k, _, fmt in COLUMNS))
    if args.queries:
        print()
        for q, rec, rr in rows[0]["per_query"]:
            print(f"  R@10={rec:.2f} RR={rr:.2f}  {q}")


if __name__ == "__main__":
    main()
