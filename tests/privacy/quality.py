"""Precision and recall of the personal-data detector on tests/privacy/labelled_snippets.json.

A detected span counts as correct when its kind matches an expected span of the same snippet and the
two overlap (by at least one character).  Per kind:

    recall    = expected spans overlapped by a detected span of that kind / expected spans
    precision = detected spans overlapping an expected span of that kind / detected spans

"overall" adds up every kind (micro-average).  ``flagged_negatives`` is the share of negative
snippets (no personal data) on which the detector flags anything at all: what a submitter of
ordinary feedback would see as a false warning.

Used by tests/privacy/test_quality.py and benchmarks/privacy_quality.py.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from feedback_portal.privacy import KINDS, Span, detect

EVAL_PATH = Path(__file__).with_name("labelled_snippets.json")


@dataclass
class Expected:
    kind: str
    start: int
    end: int
    text: str


@dataclass
class Item:
    id: str
    text: str
    expected: list[Expected]


def load_items(path: Path = EVAL_PATH) -> list[Item]:
    data = json.loads(path.read_text(encoding="utf-8"))
    items = []
    for raw in data["items"]:
        text = raw["text"]
        seen: dict[str, int] = {}
        expected = []
        for span in raw["spans"]:
            needle = span["text"]
            nth = seen.get(needle, 0)
            start = -1
            for _ in range(nth + 1):
                start = text.find(needle, start + 1)
            if start < 0:
                raise ValueError(f"{raw['id']}: {needle!r} (copy {nth + 1}) is not in {text!r}")
            seen[needle] = nth + 1
            expected.append(Expected(span["kind"], start, start + len(needle), needle))
        items.append(Item(raw["id"], text, expected))
    return items


@dataclass
class KindScore:
    expected: int = 0
    found: int = 0  # expected spans that were found
    detected: int = 0
    correct: int = 0  # detected spans that match an expected one

    @property
    def recall(self) -> float:
        return self.found / self.expected if self.expected else 1.0

    @property
    def precision(self) -> float:
        return self.correct / self.detected if self.detected else 1.0


@dataclass
class Report:
    kinds: dict[str, KindScore]
    overall: KindScore
    negatives: int
    flagged_negatives: int
    misses: list[tuple[str, Expected]] = field(default_factory=list)
    false_flags: list[tuple[str, Span]] = field(default_factory=list)

    @property
    def flagged_negative_rate(self) -> float:
        return self.flagged_negatives / self.negatives if self.negatives else 0.0


def _overlaps(a_start: int, a_end: int, b_start: int, b_end: int) -> bool:
    return a_start < b_end and b_start < a_end


def evaluate(items: list[Item], detector: Callable[[str], list[Span]] = detect) -> Report:
    kinds = {kind: KindScore() for kind in KINDS}
    overall = KindScore()
    negatives = flagged = 0
    misses: list[tuple[str, Expected]] = []
    false_flags: list[tuple[str, Span]] = []
    for item in items:
        spans = detector(item.text)
        if not item.expected:
            negatives += 1
            flagged += bool(spans)
        for exp in item.expected:
            score = kinds[exp.kind]
            score.expected += 1
            overall.expected += 1
            if any(s.kind == exp.kind and _overlaps(s.start, s.end, exp.start, exp.end) for s in spans):
                score.found += 1
                overall.found += 1
            else:
                misses.append((item.id, exp))
        for span in spans:
            score = kinds[span.kind]
            score.detected += 1
            overall.detected += 1
            if any(
                e.kind == span.kind and _overlaps(span.start, span.end, e.start, e.end) for e in item.expected
            ):
                score.correct += 1
                overall.correct += 1
            else:
                false_flags.append((item.id, span))
    return Report(kinds, overall, negatives, flagged, misses, false_flags)


def format_table(report: Report) -> str:
    lines = [
        f"{'kind':<14} {'expected':>8} {'found':>6} {'detected':>8} {'correct':>7} {'precision':>9} {'recall':>7}"
    ]
    rows = [(kind, report.kinds[kind]) for kind in KINDS] + [("overall", report.overall)]
    for name, s in rows:
        lines.append(
            f"{name:<14} {s.expected:>8} {s.found:>6} {s.detected:>8} {s.correct:>7} {s.precision:>9.3f} {s.recall:>7.3f}"
        )
    lines.append(
        f"negative snippets flagged: {report.flagged_negatives}/{report.negatives} ({report.flagged_negative_rate:.1%})"
    )
    return "\n".join(lines)
