"""Chart geometry and looks: bars as tall as their numbers, round axis steps, and series told apart without
colour (a pattern each) and with enough contrast (3:1 against white, WCAG 1.4.11)."""

from __future__ import annotations

import pytest

from feedback_portal.insight import charts
from feedback_portal.insight.services import ChartData, Series


def stacked(*series: tuple[str, tuple[int, ...]], name: str = "volume") -> ChartData:
    count = len(series[0][1])
    return ChartData(
        name=name,
        title="T",
        kind="stacked",
        category_header="Week",
        categories=tuple(str(i) for i in range(count)),
        axis_labels=tuple(str(i) for i in range(count)),
        series=tuple(Series(key, key, values) for key, values in series),
        unit="items",
        summary="S",
        description="D",
        totals=True,
    )


def contrast(colour: str) -> float:
    def channel(value: int) -> float:
        c = value / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
    luminance = 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)
    return 1.05 / (luminance + 0.05)


@pytest.mark.parametrize(
    ("maximum", "step"), [(0, 1), (3, 1), (8, 2), (10, 2.5), (49, 20), (120, 50), (4000, 1000), (0.4, 0.1)]
)
def test_axis_steps_are_round_numbers(maximum: float, step: float) -> None:
    assert charts.nice_step(maximum) == step


def test_stacked_bars_are_as_tall_as_their_numbers_and_labelled_with_their_totals() -> None:
    drawn = charts.draw(stacked(("a", (4, 0)), ("b", (2, 1))))
    # The tallest bar is 6: steps of 2 up to 6, over 240 units: 40 units per item.
    heights = [(rect.series, rect.height) for rect in drawn.rects]
    assert heights == [(0, 160.0), (1, 80.0), (1, 40.0)]
    assert [label.text for label in drawn.labels if label.size == 11] == ["6", "1"]


def test_every_series_has_its_own_pattern_and_enough_contrast() -> None:
    six = stacked(*[(str(n), (1,)) for n in range(6)])
    for data in (six, stacked(("1", (1,)), ("2", (1,)), ("3", (1,)), ("0", (1,)), name="severity")):
        styles = charts.draw(data).styles
        assert len({style.pattern for style in styles}) == len(styles)
        assert all(contrast(style.colour) >= 3 for style in styles), [style.colour for style in styles]


def test_lines_have_their_own_dash_and_marker() -> None:
    three = charts.PALETTE[:3]
    assert len({style.dash for style in three}) == 3 and len({style.marker for style in three}) == 3


def test_a_gap_in_a_line_splits_it_rather_than_drawing_through_zero() -> None:
    data = ChartData(
        name="timings",
        title="T",
        kind="lines",
        category_header="Month",
        categories=("a", "b", "c"),
        axis_labels=("a", "b", "c"),
        series=(Series("triage", "Triage", (2.0, None, 4.0)),),
        unit="days",
        summary="S",
        description="D",
    )
    drawn = charts.draw(data)
    assert len(drawn.polylines) == 2 and len(drawn.markers) == 2
