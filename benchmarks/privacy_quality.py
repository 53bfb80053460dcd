"""Print the personal-data detector's precision/recall table on the labelled snippets, and its speed.

    python benchmarks/privacy_quality.py              # tables for the whole set, dev and holdout, then timings
    python benchmarks/privacy_quality.py --errors     # also list every miss and every false flag

Metric definitions: tests/privacy/quality.py.  The labelled set: tests/privacy/labelled_snippets.json.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from feedback_portal.privacy import detect  # noqa: E402
from tests.privacy.quality import EVAL_PATH, evaluate, format_table, load_items  # noqa: E402

TYPICAL_PLAIN = (
    "Since the July release the chronology has stopped pulling significant events through from case notes. "
    "I tick the box every time and nothing appears, so before every conference I have to build the chronology by "
    "hand from the notes, which takes most of a morning. The TM says other teams have the same problem. Can someone "
    "look at whether the flag is being saved at all? It was fine in the old system and the training said it would be "
    "automatic. Also the print preview cuts off the right-hand side of the table, so I can't print it for the IRO."
)
TYPICAL_BUSY = (
    "Tried to record a visit for Kayden Smith (CID 4452981) on 12/03/2026 at 14:30 but the case note vanished after "
    "the timeout. His mum Kelly rang on 07700 900123 to ask why the minutes weren't sent; DOB 12/03/2015, NHS 943 476 "
    "5919, address 14 Acacia Avenue, SE1 7PB. Ticket INC0012345 raised, ext 4421, version 2.3.1, file was 5MB. The S47 "
    "and CP1 forms still don't save a draft and the ICPC template is missing the danger statement. Please fix before "
    "the next release, we have 25 cases waiting for sign off and the performance report says 14 are out of timescale."
)


def _time_ms(text: str, runs: int = 300, repeats: int = 7) -> float:
    detect(text)
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(runs):
            detect(text)
        samples.append((time.perf_counter() - start) / runs * 1000)
    return statistics.median(samples)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--errors", action="store_true", help="list every miss and false flag")
    args = ap.parse_args()

    items = load_items()
    splits = {raw["id"]: raw["split"] for raw in json.loads(EVAL_PATH.read_text(encoding="utf-8"))["items"]}
    for name in (None, "dev", "holdout"):
        chosen = [item for item in items if name is None or splits[item.id] == name]
        positives = sum(1 for item in chosen if item.expected)
        report = evaluate(chosen)
        print(f"== {name or 'all'}: {positives} positive snippets, {len(chosen) - positives} negative")
        print(format_table(report))
        if args.errors and name is None:
            by_id = {item.id: item for item in chosen}
            for item_id, exp in report.misses:
                print(f"  miss        {item_id:6} {exp.kind:<14} {exp.text!r}")
            for item_id, span in report.false_flags:
                print(
                    f"  false flag  {item_id:6} {span.kind:<14} {span.text!r}  in {by_id[item_id].text[:70]!r}"
                )
        print()

    print("== speed (median of 7 x 300 calls)")
    for label, text in (
        ("typical, no personal data", TYPICAL_PLAIN),
        ("busy: every kind, numbers", TYPICAL_BUSY),
    ):
        print(f"{label:<28} {len(text.split()):>4} words  {_time_ms(text):.3f} ms per call")
    start = time.perf_counter()
    for item in items:
        detect(item.text)
    elapsed = (time.perf_counter() - start) * 1000
    print(f"{'whole labelled set':<28} {len(items):>4} snippets {elapsed / len(items):.3f} ms per snippet")


if __name__ == "__main__":
    main()
