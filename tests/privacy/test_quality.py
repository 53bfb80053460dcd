"""Precision and recall of the personal-data detector on the labelled snippets (tests/privacy/labelled_snippets.json).

Metric definitions: tests/privacy/quality.py (a detected span is right when its kind matches an expected
span and they overlap).  The floors sit a little below what the detector achieves, so a regression fails.
Print the table with ``pytest -s`` or ``python benchmarks/privacy_quality.py``.

The set has two splits: "dev" (the rules were tuned on it) and "holdout" (written after tuning and scored
as written), so the holdout floors are the more honest ones.
"""

from __future__ import annotations

import json

import pytest

from tests.privacy.quality import EVAL_PATH, evaluate, format_table, load_items

# achieved on the whole set (dev + holdout: 160 positive snippets with 192 spans, 426 negatives):
#   name P 0.979 R 0.969 | date-of-birth P 0.952 R 1.000 | case-id P 1.000 R 0.938 |
#   nhs, ni, postcode, phone, email, address P 1.000 R 1.000 | overall P 0.984 R 0.979 | negatives flagged 0.7%
FLOORS = {
    "name": (0.95, 0.93),
    "date-of-birth": (0.92, 0.97),
    "address": (0.95, 1.0),
    "nhs-number": (1.0, 1.0),
    "ni-number": (1.0, 1.0),
    "postcode": (0.95, 1.0),
    "phone": (0.95, 1.0),
    "email": (1.0, 1.0),
    "case-id": (0.95, 0.90),
    "overall": (0.96, 0.95),
}
MAX_FLAGGED_NEGATIVES = 0.02

# holdout split (50 positives, 79 negatives) as first scored: name P 0.960 R 0.923, overall P 0.964 R 0.947;
# now (after two generic rules found with an outside name list): name P 0.962 R 0.962, overall P 0.965 R 0.965
HOLDOUT_FLOORS = {"name": (0.90, 0.88), "overall": (0.93, 0.92)}


def _split(name: str | None):
    items = load_items()
    if name is None:
        return items
    splits = {raw["id"]: raw["split"] for raw in json.loads(EVAL_PATH.read_text(encoding="utf-8"))["items"]}
    return [item for item in items if splits[item.id] == name]


def _check(report, floors):
    low = {}
    for kind, (p_floor, r_floor) in floors.items():
        score = report.overall if kind == "overall" else report.kinds[kind]
        if score.precision < p_floor or score.recall < r_floor:
            low[kind] = f"P {score.precision:.3f} (floor {p_floor}) R {score.recall:.3f} (floor {r_floor})"
    return low


def test_labelled_set_is_big_enough():
    items = load_items()
    positives = [item for item in items if item.expected]
    negatives = [item for item in items if not item.expected]
    assert len(positives) >= 60 and len(negatives) >= 200
    per_kind = {kind: 0 for kind in FLOORS if kind != "overall"}
    for item in positives:
        for exp in item.expected:
            per_kind[exp.kind] += 1
    assert min(per_kind.values()) >= 5, per_kind


@pytest.mark.parametrize(
    "split,floors", [(None, FLOORS), ("holdout", HOLDOUT_FLOORS)], ids=["all", "holdout"]
)
def test_quality_floors(split, floors):
    report = evaluate(_split(split))
    print(f"\n[{split or 'all'}]\n{format_table(report)}")
    low = _check(report, floors)
    assert not low, f"below floor: {low}"
    if split is None:
        assert report.flagged_negative_rate <= MAX_FLAGGED_NEGATIVES, format_table(report)
