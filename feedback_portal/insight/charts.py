"""Chart geometry: where each bar, line, label and tick of an insight chart goes, for templates/insight/_chart.html
to write out as SVG. The arithmetic lives here (so it is tested in Python); the markup lives in the template.

Greyscale: every series has a pattern as well as a colour (solid, stripes, dots, hatching...) and a dark outline
in its colour (3:1 or more against white, WCAG 1.4.11), lines have their own dash and marker shape, and the
legend repeats each pattern beside its name, so no series is told apart by colour alone.

Reuse (the meeting pack): `drawn(service, name, filters)` gives a DrawnChart, and the template macro
`chart_figure(chart)` in templates/insight/_chart.html draws it with its summary, table and CSV link.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from collections.abc import Mapping, Sequence

from sqlalchemy import orm

from feedback_portal import web
from feedback_portal.insight.services import CHARTS, ChartData, Filters, InsightService, format_number

WIDTH = 760
FONT = 13


@dataclasses.dataclass(frozen=True)
class Style:
    colour: str
    pattern: str  # solid, diagonal, dots, cross, horizontal, vertical
    dash: str = ""  # for lines
    marker: str = "circle"  # for lines: circle, square, triangle


PALETTE = (
    Style("#1d70b8", "solid", "", "circle"),
    Style("#00703c", "diagonal", "8 4", "square"),
    Style("#4c2c92", "dots", "2 4", "triangle"),
    Style("#d4351c", "cross"),
    Style("#0b0c0c", "horizontal"),
    Style("#505a5f", "vertical"),
)
# Severity keeps the same look on every chart: 1 (blocks work) solid red, the others lighter patterns.
SEVERITY_STYLES = {
    "1": Style("#d4351c", "solid"),
    "2": Style("#1d70b8", "diagonal"),
    "3": Style("#00703c", "dots"),
    "0": Style("#505a5f", "horizontal"),
}
RISING_STYLES = {"previous": Style("#505a5f", "diagonal"), "this": Style("#1d70b8", "solid")}


@dataclasses.dataclass(frozen=True)
class Rect:
    x: float
    y: float
    width: float
    height: float
    series: int


@dataclasses.dataclass(frozen=True)
class Label:
    x: float
    y: float
    text: str
    anchor: str = "middle"
    size: int = FONT
    bold: bool = False
    muted: bool = False


@dataclasses.dataclass(frozen=True)
class Rule:
    x1: float
    y1: float
    x2: float
    y2: float
    strong: bool = False


@dataclasses.dataclass(frozen=True)
class Polyline:
    series: int
    points: str  # "x,y x,y ..."


@dataclasses.dataclass(frozen=True)
class Marker:
    series: int
    x: float
    y: float


@dataclasses.dataclass(frozen=True)
class DrawnChart:
    """A chart's data and its geometry. `id` prefixes every element id (patterns, title, desc), so two charts
    on a page, or the same chart twice in a pack, never share an id: pass a different `id_prefix`."""

    data: ChartData
    id: str
    height: float
    styles: tuple[Style, ...]
    rects: tuple[Rect, ...] = ()
    labels: tuple[Label, ...] = ()
    rules: tuple[Rule, ...] = ()
    polylines: tuple[Polyline, ...] = ()
    markers: tuple[Marker, ...] = ()
    csv_query: str = ""

    width: int = WIDTH

    @property
    def legend(self) -> list[tuple[str, int]]:
        return [(series.label, position) for position, series in enumerate(self.data.series)]

    def pattern_id(self, series: int) -> str:
        return f"{self.id}-pattern-{series}"

    def fill(self, series: int) -> str:
        style = self.styles[series]
        return style.colour if style.pattern == "solid" else f"url(#{self.pattern_id(series)})"


def nice_step(maximum: float, steps: int = 4) -> float:
    """A round tick step (1, 2, 2.5 or 5 times a power of ten) so that `steps` ticks reach past the maximum."""
    if maximum <= 0:
        return 1
    rough = maximum / steps
    power = 10 ** math.floor(math.log10(rough))
    for multiple in (1, 2, 2.5, 5, 10):
        if multiple * power >= rough:
            step = multiple * power
            return step if step >= 1 or rough < 1 else 1
    return 10 * power


def _styles(data: ChartData) -> tuple[Style, ...]:
    if data.name in {"severity", "ageing"}:
        return tuple(SEVERITY_STYLES.get(series.key, PALETTE[0]) for series in data.series)
    if data.name == "rising":
        return tuple(RISING_STYLES.get(series.key, PALETTE[0]) for series in data.series)
    return tuple(PALETTE[position % len(PALETTE)] for position in range(len(data.series)))


def draw(data: ChartData, *, id_prefix: str = "chart", csv_query: str = "") -> DrawnChart:
    """The geometry for a chart (nothing to draw when it is empty: the template shows the empty state)."""
    chart_id = f"{id_prefix}-{data.name}"
    styles = _styles(data)
    if data.is_empty:
        return DrawnChart(data=data, id=chart_id, height=0, styles=styles, csv_query=csv_query)
    if data.kind in {"stacked", "lines"}:
        parts = _columns(data)
    elif data.kind == "hbars":
        parts = _hbars(data)
    else:
        parts = _paired(data)
    return DrawnChart(data=data, id=chart_id, styles=styles, csv_query=csv_query, **parts)


def _y_axis(maximum: float, left: float, top: float, plot_width: float, plot_height: float, unit: str):  # noqa: ANN202
    step = nice_step(maximum)
    top_value = step * max(1, math.ceil(maximum / step))
    rules, labels = [], []
    ticks = round(top_value / step)
    for tick in range(ticks + 1):
        value = tick * step
        y = top + plot_height - value / top_value * plot_height
        rules.append(Rule(left, round(y, 1), left + plot_width, round(y, 1), strong=tick == 0))
        labels.append(Label(left - 6, round(y + 4, 1), format_number(value), anchor="end", muted=True))
    labels.append(Label(left - 44, top - 10, unit.capitalize(), anchor="start", size=12, muted=True))
    return top_value, rules, labels


def _columns(data: ChartData) -> dict:
    left, right, top, bottom = 52, 12, 30, 44
    plot_width, plot_height = WIDTH - left - right, 240
    count = len(data.categories)
    slot = plot_width / count
    top_value, rules, labels = _y_axis(data.maximum(), left, top, plot_width, plot_height, data.unit)
    base = top + plot_height
    rects, polylines, markers = [], [], []
    every = max(1, math.ceil(count * 52 / plot_width))  # x labels far enough apart not to overlap
    for index, axis_label in enumerate(data.axis_labels):
        centre = left + slot * index + slot / 2
        if index % every == 0:
            labels.append(Label(round(centre, 1), base + 18, axis_label, size=12))
    if data.kind == "stacked":
        bar = max(1.5, slot * 0.72)
        for index in range(count):
            x = left + slot * index + (slot - bar) / 2
            y = base
            total = 0.0
            for position, series in enumerate(data.series):
                value = series.values[index] or 0
                if value <= 0:
                    continue
                total += value
                height = value / top_value * plot_height
                y -= height
                rects.append(Rect(round(x, 1), round(y, 1), round(bar, 1), round(height, 1), position))
            if total and (count <= 26 or index % every == 0):
                labels.append(Label(round(x + bar / 2, 1), round(y - 4, 1), format_number(total), size=11))
    else:
        for position, series in enumerate(data.series):
            run: list[str] = []
            for index, value in enumerate(series.values):
                if value is None:
                    if run:
                        polylines.append(Polyline(position, " ".join(run)))
                    run = []
                    continue
                x = round(left + slot * index + slot / 2, 1)
                y = round(base - value / top_value * plot_height, 1)
                run.append(f"{x},{y}")
                markers.append(Marker(position, x, y))
                if count <= 12:  # few points: label each; lines that run close get labels on different sides
                    dx, dy, anchor = ((7, -8, "start"), (7, 17, "start"), (-7, -8, "end"))[position % 3]
                    label_y = min(y + dy, base - 4)  # never down among the month names
                    labels.append(Label(x + dx, label_y, format_number(value), anchor=anchor, size=11))
            if run:
                polylines.append(Polyline(position, " ".join(run)))
    return {
        "height": top + plot_height + bottom,
        "rects": tuple(rects),
        "labels": tuple(labels),
        "rules": tuple(rules),
        "polylines": tuple(polylines),
        "markers": tuple(markers),
    }


def _hbars(data: ChartData) -> dict:
    left, right, top, row = 236, 70, 10, 30
    plot_width = WIDTH - left - right
    maximum = data.maximum() or 1
    rects, labels = [], []
    values = data.series[0].values
    for index, (axis_label, value) in enumerate(zip(data.axis_labels, values, strict=True)):
        y = top + index * row
        width = (value or 0) / maximum * plot_width
        labels.append(Label(left - 8, y + 19, axis_label, anchor="end"))
        if value:
            rects.append(Rect(left, y + 4, round(max(width, 1.5), 1), 20, 0))
        labels.append(
            Label(round(left + width + 6, 1), y + 19, format_number(value), anchor="start", bold=True)
        )
    height = top + len(values) * row + 10
    rules = (Rule(left, top, left, height - 10, strong=True),)
    return {"height": height, "rects": tuple(rects), "labels": tuple(labels), "rules": rules}


def _paired(data: ChartData) -> dict:
    left, right, top, row = 8, 70, 8, 62
    plot_width = WIDTH - left - right
    maximum = data.maximum() or 1
    rects, labels = [], []
    for index, axis_label in enumerate(data.axis_labels):
        y = top + index * row
        labels.append(Label(left, y + 14, axis_label, anchor="start", bold=True))
        for position, series in enumerate(data.series):
            value = series.values[index] or 0
            width = value / maximum * plot_width
            bar_y = y + 22 + position * 18
            if value:
                rects.append(Rect(left, bar_y, round(max(width, 1.5), 1), 14, position))
            labels.append(
                Label(round(left + width + 6, 1), bar_y + 12, format_number(value), anchor="start", size=12)
            )
    height = top + len(data.categories) * row + 4
    return {"height": height, "rects": tuple(rects), "labels": tuple(labels)}


def drawn(
    service: InsightService,
    name: str,
    filters: Filters | Mapping[str, str] | None = None,
    *,
    id_prefix: str = "chart",
) -> DrawnChart:
    """One chart by name, ready for the `chart_figure` macro: for the insight page and the meeting pack.

    `filters` may be Filters, the URL-style dict ({"from": "2026-03-02", "module": "case-notes", ...}, checked
    as the page checks them; a bad value falls back to its default), or None for everything since go-live.
    """
    if filters is None:
        checked = service.default_filters()
    elif isinstance(filters, Filters):
        checked = filters
    else:
        checked = service.read_filters(filters).filters
    return draw(
        service.chart(name, checked), id_prefix=id_prefix, csv_query=web.query_string(checked.query())
    )


def pack_charts(
    session: orm.Session,
    *,
    go_live: dt.date,
    names: Sequence[str] = CHARTS,
    filters: Filters | Mapping[str, str] | None = None,
    id_prefix: str = "pack",
) -> list[DrawnChart]:
    """Charts for a meeting pack (or any page), by name, drawn for the `chart_figure` macro.

    In a controller:  charts=insight_charts.pack_charts(db_session, go_live=settings.go_live,
                          names=("volume", "severity", "rising"), filters={"from": "2026-10-01"},
                          id_prefix=f"meeting-{meeting.id}")
    In the template:  {% from "insight/_chart.html" import chart_figure %}
                      {% for chart in charts %}{{ chart_figure(chart, heading_level=3, open_data=True) }}{% endfor %}
    An unknown name raises NotFound; a bad filter value falls back to its default, as on the insight page.
    """
    service = InsightService(session, go_live=go_live)
    return [drawn(service, name, filters, id_prefix=id_prefix) for name in names]
