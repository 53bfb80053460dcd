"""The numbers behind every insight chart, each from a few SQL aggregates, and the filters that narrow them.

Every chart is a ChartData: its categories (weeks, months, age bands, teams, issues), one or more series of
numbers, a one-sentence summary worked out from those numbers, and the table (and CSV) of exactly what is
drawn. Counting rules, in the users' words:

- Weeks run Monday to Sunday and months are calendar months, both in UTC (a feedback sent between midnight
  and 1am on a summer Monday, London time, counts in the week before).
- An issue is open from when it was created until it was fixed, closed or decided without a fix (won't fix,
  guidance issued, training arranged): issues.resolved_at. Reopening clears resolved_at, so a reopened issue
  counts as open for its whole life. Merged issues are left out (their feedback counts on the issue they were
  merged into). Severity is the issue's severity now (its history is not kept).
- Time to triage: from sending to first leaving the untriaged queue (feedback.triaged_at), by the month it
  was triaged. Time to decision and to fix: from the issue's first feedback to issues.decided_at /
  issues.fixed_at, by the month of the decision or fix. Medians, in days.
- Rising issues: new voices (feedback linked to the issue, and "me too"s) in the fortnight to the end of the
  range against the fortnight before.
- Teams with fewer than MIN_TEAM_SIZE active people are folded into "Other teams", so a chart never singles
  out a small team; the team filter offers only the larger teams for the same reason.
- The filters narrow feedback by its module, team and kind; issues by their module, and by team and kind
  when at least one of their feedback is from that team or of that kind.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import statistics
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy import orm

from feedback_portal.accounts.models import Team, User
from feedback_portal.db import utcnow
from feedback_portal.errors import NotFound
from feedback_portal.feedback.models import Feedback
from feedback_portal.feedback.services import Vocabularies
from feedback_portal.issues.models import Issue, MeToo, Severity

MIN_TEAM_SIZE = 5
MAX_TEAMS = 12  # more named teams than this and the rest join "Other teams"
TOP_MODULES = 5  # the feedback per week chart stacks the busiest modules and "Other parts of the CMS"
TOP_RISING = 5
FORTNIGHT = dt.timedelta(days=14)
# How far outside go-live to today a date filter may reach before it is more likely a typo than a wish.
SLACK = dt.timedelta(days=366)
AGE_BANDS: tuple[tuple[str, int | None], ...] = (
    ("Under 2 weeks", 14),
    ("2 to 4 weeks", 28),
    ("1 to 3 months", 91),
    ("3 to 6 months", 182),
    ("Over 6 months", None),
)
SEVERITY_SERIES: tuple[tuple[int, str], ...] = (
    (Severity.BLOCKS_WORK.value, "Severity 1 – blocks work"),
    (Severity.WORKAROUND.value, "Severity 2 – workaround exists"),
    (Severity.MINOR.value, "Severity 3 – minor"),
    (0, "Severity not set"),
)
CHARTS = ("volume", "severity", "ageing", "timings", "rising", "teams")


def long_date(value: dt.date) -> str:
    return value.strftime("%-d %B %Y")


def short_date(value: dt.date) -> str:
    return value.strftime("%-d %b")


# Filters


@dataclasses.dataclass(frozen=True)
class Filters:
    """What the charts are narrowed to. date_to is inclusive; module and kind are slugs, team a team slug."""

    date_from: dt.date
    date_to: dt.date
    module: str | None = None
    team: str | None = None
    kind: str | None = None

    @property
    def start(self) -> dt.datetime:
        return dt.datetime.combine(self.date_from, dt.time.min, tzinfo=dt.UTC)

    @property
    def end(self) -> dt.datetime:
        """The first instant after the range."""
        return dt.datetime.combine(self.date_to + dt.timedelta(days=1), dt.time.min, tzinfo=dt.UTC)

    def query(self) -> dict[str, str]:
        """The filters as URL parameters (for links, the CSV downloads and the form)."""
        return {
            "from": self.date_from.isoformat(),
            "to": self.date_to.isoformat(),
            "module": self.module or "",
            "team": self.team or "",
            "kind": self.kind or "",
        }


@dataclasses.dataclass(frozen=True)
class FilterForm:
    """The filters as asked for: the values to show in the form, the problems beside each field, and the
    filters the charts use (the defaults in place of any field with a problem)."""

    values: dict[str, str]
    errors: dict[str, str]
    filters: Filters


def _parse_date(text: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        return None


# Series and charts


@dataclasses.dataclass(frozen=True)
class Series:
    key: str
    label: str
    values: tuple[float | None, ...]


@dataclasses.dataclass(frozen=True)
class ChartData:
    """One chart's numbers. `kind` says how it is drawn: "stacked" (vertical bars, series stacked),
    "lines" (one line per series, gaps where a value is None), "hbars" (one horizontal bar per category)
    or "paired" (two horizontal bars per category, one per series)."""

    name: str
    title: str
    kind: str
    category_header: str  # the table's first column
    categories: tuple[str, ...]  # as the table and the CSV show them
    axis_labels: tuple[str, ...]  # as the chart's axis shows them (shorter)
    series: tuple[Series, ...]
    unit: str  # what the numbers count: "feedback items", "open issues", "days", "voices"
    summary: str
    description: str  # how the numbers were counted, in a sentence or two
    empty_reason: str | None = None  # why there is nothing to draw (then summary says so too)
    totals: bool = False  # the table and CSV add a Total column (stacked charts)
    extra_columns: tuple[tuple[str, tuple[str, ...]], ...] = ()  # columns shown in the table, not drawn

    @property
    def is_empty(self) -> bool:
        return self.empty_reason is not None

    def header(self) -> list[str]:
        columns = [self.category_header, *(series.label for series in self.series)]
        if self.totals:
            columns.append("Total")
        return columns + [name for name, _ in self.extra_columns]

    def rows(self) -> list[list[str]]:
        """The table's rows and the CSV's: exactly the numbers drawn, as text."""
        rows = []
        for index, category in enumerate(self.categories):
            values = [series.values[index] for series in self.series]
            row = [category, *(format_number(value) for value in values)]
            if self.totals:
                row.append(format_number(sum(value or 0 for value in values)))
            row += [cells[index] for _, cells in self.extra_columns]
            rows.append(row)
        return rows

    def maximum(self) -> float:
        if self.kind == "stacked":
            return max(
                (sum(s.values[i] or 0 for s in self.series) for i in range(len(self.categories))), default=0
            )
        return max((value or 0 for series in self.series for value in series.values), default=0)


def format_number(value: float | None) -> str:
    """Counts as whole numbers, days to one decimal place, no value as an empty cell."""
    if value is None:
        return ""
    if float(value).is_integer():
        return str(int(value))
    return f"{value:.1f}"


# Plain-English summaries


def percent_change(before: float, after: float) -> int | None:
    return None if before == 0 else round(abs(after - before) / before * 100)


def change_phrase(before: float, after: float, unit: str = "") -> str:
    """ "rose 40% from 120 to 168", "fell 40% from 120 to 72", "stayed at 120", "rose from 0 to 5"."""
    suffix = f" {unit}" if unit else ""
    a, b = format_number(before), format_number(after)
    if after == before:
        return f"stayed at {a}{suffix}"
    verb = "rose" if after > before else "fell"
    percent = percent_change(before, after)
    if percent is None:
        return f"{verb} from {a} to {b}{suffix}"
    return f"{verb} {percent}% from {a} to {b}{suffix}"


def plural(count: int, singular: str, plural_form: str | None = None) -> str:
    """ "1 issue", "1,204 issues"."""
    return f"{count:,} {singular if count == 1 else (plural_form or singular + 's')}"


# The service


class InsightService:
    def __init__(self, session: orm.Session, *, go_live: dt.date, today: dt.date | None = None) -> None:
        self.session = session
        self.go_live = go_live
        self.today = today or utcnow().date()
        self._vocabularies: Vocabularies | None = None
        self._team_sizes: dict[int, int] | None = None
        self._teams: dict[int, Team] | None = None

    # Vocabularies and teams

    @property
    def vocabularies(self) -> Vocabularies:
        if self._vocabularies is None:
            self._vocabularies = Vocabularies(self.session)
        return self._vocabularies

    def teams(self) -> dict[int, Team]:
        if self._teams is None:
            self._teams = {team.id: team for team in self.session.scalars(sa.select(Team))}
        return self._teams

    def team_sizes(self) -> dict[int, int]:
        """Active people per team."""
        if self._team_sizes is None:
            self._team_sizes = dict(
                self.session.execute(
                    sa.select(User.team_id, sa.func.count(User.id))
                    .where(User.active.is_(True), User.team_id.is_not(None))
                    .group_by(User.team_id)
                ).all()
            )
        return self._team_sizes

    def team_choices(self) -> list[tuple[str, str]]:
        """The teams the filter offers: those with at least MIN_TEAM_SIZE people, by name."""
        sizes = self.team_sizes()
        teams = [team for team in self.teams().values() if sizes.get(team.id, 0) >= MIN_TEAM_SIZE]
        return [(team.slug, team.name) for team in sorted(teams, key=lambda team: team.name)]

    def default_filters(self) -> Filters:
        return Filters(self.go_live, max(self.today, self.go_live))

    # Filters

    def read_filters(self, raw: Mapping[str, str]) -> FilterForm:
        """Check the filters from the URL. Each problem is a message for its field; the charts then use the
        default for that field, so the page still shows something true."""
        values = {
            key: " ".join(str(raw.get(key) or "").split())[:100]
            for key in ("from", "to", "module", "team", "kind")
        }
        errors: dict[str, str] = {}
        default = self.default_filters()
        earliest, latest = self.go_live - SLACK, self.today + SLACK
        dates: dict[str, dt.date] = {}
        for field, name, fallback in (("from", "start", default.date_from), ("to", "end", default.date_to)):
            text = values[field]
            if not text:
                dates[field] = fallback
                continue
            day = _parse_date(text)
            if day is None:
                errors[field] = f"Enter the {name} date as a real date, like {long_date(default.date_from)}"
            elif day < earliest:
                errors[field] = (
                    f"The {name} date must be on or after {long_date(earliest)}: the CMS went live on "
                    f"{long_date(self.go_live)}"
                )
            elif day > latest:
                errors[field] = f"The {name} date must be on or before {long_date(latest)}"
            else:
                dates[field] = day
                continue
            dates[field] = fallback
        if "from" not in errors and "to" not in errors and dates["from"] > dates["to"]:
            errors["to"] = "The end date must be the same as or after the start date"
            dates = {"from": default.date_from, "to": default.date_to}
        module = kind = team = None
        if values["module"]:
            module = self.vocabularies.resolve("module", values["module"])
            if module is None:
                errors["module"] = "Choose a part of the CMS from the list"
        if values["kind"]:
            kind = self.vocabularies.resolve("kind", values["kind"])
            if kind is None:
                errors["kind"] = "Choose a kind of feedback from the list"
        if values["team"]:
            wanted = values["team"].lower()
            team = next((slug for slug, name in self.team_choices() if wanted in {slug, name.lower()}), None)
            if team is None:
                errors["team"] = (
                    f"Choose a team from the list (teams of fewer than {MIN_TEAM_SIZE} people are not listed, "
                    "so that nobody can be singled out)"
                )
        filters = Filters(dates["from"], dates["to"], module, team, kind)
        return FilterForm(values=values, errors=errors, filters=filters)

    def _team_id(self, filters: Filters) -> int | None:
        if not filters.team:
            return None
        return next((team.id for team in self.teams().values() if team.slug == filters.team), -1)

    def _feedback_conditions(self, filters: Filters, *, dated: bool = True) -> list[Any]:
        conditions: list[Any] = []
        if dated:
            conditions += [Feedback.submitted_at >= filters.start, Feedback.submitted_at < filters.end]
        if filters.module:
            conditions.append(Feedback.module == filters.module)
        if filters.kind:
            conditions.append(Feedback.kind == filters.kind)
        if filters.team:
            conditions.append(Feedback.team_id == self._team_id(filters))
        return conditions

    def _issue_conditions(self, filters: Filters) -> list[Any]:
        conditions: list[Any] = [Issue.merged_into_id.is_(None)]
        if filters.module:
            conditions.append(Issue.module == filters.module)
        if filters.team or filters.kind:
            evidence = [Feedback.issue_id == Issue.id]
            if filters.kind:
                evidence.append(Feedback.kind == filters.kind)
            if filters.team:
                evidence.append(Feedback.team_id == self._team_id(filters))
            conditions.append(sa.exists().where(*evidence))
        return conditions

    def narrowed(self, filters: Filters) -> str:
        """ " for Case notes, from MASH, about bugs" — what the filters narrow to, for empty states."""
        parts = []
        if filters.module:
            parts.append(f"for {self.vocabularies.label('module', filters.module)}")
        if filters.team:
            parts.append(
                f"from {next((n for s, n in self.team_choices() if s == filters.team), filters.team)}"
            )
        if filters.kind:
            parts.append(f"of the kind “{self.vocabularies.label('kind', filters.kind)}”")
        return (" " + ", ".join(parts)) if parts else ""

    def _range_words(self, filters: Filters) -> str:
        return f"between {long_date(filters.date_from)} and {long_date(filters.date_to)}"

    # SQL expressions that differ by database

    @property
    def _sqlite(self) -> bool:
        return self.session.get_bind().dialect.name == "sqlite"

    def _day(self, column: Any) -> Any:
        """The column's UTC day as YYYY-MM-DD text. Rows are grouped by day in SQL and the days folded into weeks
        in Python: SQLite stores UTC times as "YYYY-MM-DD HH:MM:SS", so its day is a substring, far cheaper per
        row than date arithmetic."""
        if self._sqlite:
            return sa.func.substr(column, 1, 10)
        return sa.func.to_char(sa.func.timezone("UTC", column), "YYYY-MM-DD")

    def _month(self, column: Any) -> Any:
        """The column's UTC month as YYYY-MM text."""
        if self._sqlite:
            return sa.func.substr(column, 1, 7)
        return sa.func.to_char(sa.func.timezone("UTC", column), "YYYY-MM")

    def _hours(self, start: Any, end: Any) -> Any:
        """Whole hours from start to end, rounded (an integer groups faster than a float): medians are worked out
        from a histogram to the hour."""
        if self._sqlite:
            return sa.cast((sa.func.julianday(end) - sa.func.julianday(start)) * 24 + 0.5, sa.Integer)
        return sa.cast(sa.func.round(sa.extract("epoch", end - start) / 3600.0), sa.Integer)

    @staticmethod
    def _week_of(day: str) -> str:
        date = dt.date.fromisoformat(day)
        return (date - dt.timedelta(days=date.weekday())).isoformat()

    # Calendar

    @staticmethod
    def weeks(filters: Filters) -> list[dt.date]:
        first = filters.date_from - dt.timedelta(days=filters.date_from.weekday())
        last = filters.date_to - dt.timedelta(days=filters.date_to.weekday())
        return [first + dt.timedelta(weeks=n) for n in range((last - first).days // 7 + 1)]

    @staticmethod
    def months(filters: Filters) -> list[str]:
        months, year, month = [], filters.date_from.year, filters.date_from.month
        while (year, month) <= (filters.date_to.year, filters.date_to.month):
            months.append(f"{year:04d}-{month:02d}")
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)
        return months

    def as_of(self, filters: Filters) -> dt.datetime:
        """The end of the range, or now if the range runs on past today."""
        return min(filters.end, utcnow()) if filters.date_to >= self.today else filters.end

    # The charts

    def chart(self, name: str, filters: Filters) -> ChartData:
        builders: dict[str, Callable[[Filters], ChartData]] = {
            "volume": self.volume,
            "severity": self.severity,
            "ageing": self.ageing,
            "timings": self.timings,
            "rising": self.rising,
            "teams": self.by_team,
        }
        if name not in builders:
            raise NotFound(f"There is no chart called {name[:30]}")
        return builders[name](filters)

    def all_charts(self, filters: Filters) -> list[ChartData]:
        return [self.chart(name, filters) for name in CHARTS]

    def volume(self, filters: Filters) -> ChartData:
        """Feedback per week, stacked by the busiest modules."""
        weeks = self.weeks(filters)
        # One small GROUP BY module per week: at 100,000 items, a single GROUP BY (day or week, module) spent most
        # of its time sorting every row by an expression; these read the covering index and sort nothing much.
        statement = (
            sa.select(Feedback.module, sa.func.count())
            .where(
                *self._feedback_conditions(filters, dated=False),
                Feedback.submitted_at >= sa.bindparam("low"),
                Feedback.submitted_at < sa.bindparam("high"),
            )
            .group_by(Feedback.module)
        )
        rows = []
        for week in weeks:
            low = max(filters.start, dt.datetime.combine(week, dt.time.min, tzinfo=dt.UTC))
            high = min(
                filters.end, dt.datetime.combine(week + dt.timedelta(days=7), dt.time.min, tzinfo=dt.UTC)
            )
            for module, count in self.session.execute(statement, {"low": low, "high": high}):
                rows.append((week.isoformat(), module, count))
        index = {day.isoformat(): position for position, day in enumerate(weeks)}
        per_module: dict[str, int] = {}
        for _, module, count in rows:
            per_module[module] = per_module.get(module, 0) + count
        ranked = sorted(per_module, key=lambda module: (-per_module[module], module))
        shown = ranked[:TOP_MODULES] if len(ranked) > TOP_MODULES + 1 else ranked
        rest = "__rest__"  # not a module slug ("other" is one)
        keys = [*shown, *([rest] if len(ranked) > len(shown) else [])]
        counts = {key: [0] * len(weeks) for key in keys}
        for week_start, module, count in rows:
            key = module if module in shown else rest
            if week_start in index:
                counts[key][index[week_start]] += count
        series = tuple(
            Series(
                key,
                "Other parts of the CMS" if key == rest else self.vocabularies.label("module", key),
                tuple(counts[key]),
            )
            for key in keys
        )
        totals = [sum(series_.values[i] or 0 for series_ in series) for i in range(len(weeks))]
        title = "Feedback per week since go-live, by part of the CMS"
        description = (
            "Feedback items sent each week (Monday to Sunday), stacked by part of the CMS: the "
            f"{TOP_MODULES} with most feedback, the rest as “Other parts of the CMS”."
        )
        empty = None
        if not sum(totals):
            empty = f"No feedback was sent{self.narrowed(filters)} {self._range_words(filters)}."
        return ChartData(
            name="volume",
            title=title,
            kind="stacked",
            category_header="Week starting",
            categories=tuple(long_date(day) for day in weeks),
            axis_labels=tuple(short_date(day) for day in weeks),
            series=series,
            unit="feedback items",
            summary=empty or self._volume_summary(weeks, totals, series),
            description=description,
            empty_reason=empty,
            totals=True,
        )

    def _volume_summary(self, weeks: list[dt.date], totals: list[int], series: Sequence[Series]) -> str:
        complete = [i for i, week in enumerate(weeks) if week + dt.timedelta(days=7) <= self.today]
        total = sum(totals)
        modules = [s for s in series if s.key != "__rest__"]
        biggest = max(modules, key=lambda s: sum(v or 0 for v in s.values)) if modules else None
        top = (
            f"; {biggest.label} had the most ({int(sum(v or 0 for v in biggest.values)):,})"
            if biggest and len(series) > 1
            else ""
        )
        span = min(4, len(complete) // 2)
        if span == 0:
            return f"{plural(total, 'feedback item')} in {plural(len(weeks), 'week')}{top}."
        recent = sum(totals[i] for i in complete[-span:])
        before = sum(totals[i] for i in complete[-2 * span : -span])
        weeks_words = "week" if span == 1 else f"{span} weeks"
        last = weeks_words
        if len(complete) < len(weeks):  # this week is still going: it is left out, and the sentence says so
            last = "complete week" if span == 1 else f"{span} complete weeks"
        return (
            f"Feedback in the last {last} {change_phrase(before, recent)} "
            f"compared with the {weeks_words} before{top}."
        )

    def _open_per_week(self, filters: Filters) -> tuple[list[dt.date], dict[int, list[int]]]:
        """Open issues at the end of each week (or now, for this week), by severity: issues created by then,
        less those resolved by then, from two GROUP BY queries and a running total."""
        weeks = self.weeks(filters)
        conditions = self._issue_conditions(filters)
        week_end = weeks[-1] + dt.timedelta(days=7)
        end = dt.datetime.combine(week_end, dt.time.min, tzinfo=dt.UTC)
        changes: dict[int, list[int]] = {key: [0] * len(weeks) for key, _ in SEVERITY_SERIES}
        first = weeks[0].isoformat()
        index = {day.isoformat(): position for position, day in enumerate(weeks)}
        for column, sign in ((Issue.created_at, 1), (Issue.resolved_at, -1)):
            day = self._day(column).label("day")
            severity = sa.func.coalesce(Issue.severity, 0).label("severity")
            rows = self.session.execute(
                sa.select(day, severity, sa.func.count())
                .where(*conditions, column.is_not(None), column < end)
                .group_by(day, severity)
            )
            for day_, level, count in rows:
                week_start = self._week_of(day_)
                key = level if level in changes else 0
                position = 0 if week_start < first else index.get(week_start)
                if position is not None:
                    changes[key][position] += sign * count
        running = {}
        for key, deltas in changes.items():
            total, values = 0, []
            for delta in deltas:
                total += delta
                values.append(total)
            running[key] = values
        return weeks, running

    def severity(self, filters: Filters) -> ChartData:
        weeks, running = self._open_per_week(filters)
        series = tuple(
            Series(str(key), label, tuple(running[key]))
            for key, label in SEVERITY_SERIES
            if key != 0 or any(running[0])
        )
        totals = [sum(s.values[i] or 0 for s in series) for i in range(len(weeks))]
        empty = None
        if not any(totals):
            empty = f"No issues{self.narrowed(filters)} were open {self._range_words(filters)}."
        return ChartData(
            name="severity",
            title="Open issues at the end of each week, by severity",
            kind="stacked",
            category_header="Week starting",
            categories=tuple(long_date(day) for day in weeks),
            axis_labels=tuple(short_date(day) for day in weeks),
            series=series,
            unit="open issues",
            summary=empty or self._severity_summary(weeks, totals, series),
            description=(
                "Issues not yet fixed, closed or decided at the end of each week (this week: now), stacked by "
                "severity. Severity is each issue's severity now."
            ),
            empty_reason=empty,
            totals=True,
        )

    @staticmethod
    def _severity_summary(weeks: list[dt.date], totals: list[int], series: Sequence[Series]) -> str:
        span = min(8, len(weeks) - 1)
        now = totals[-1]
        blocking = next((s.values[-1] for s in series if s.key == "1"), 0) or 0
        tail = f", {int(blocking):,} of them blocking work" if blocking and now else ""
        if span <= 0:
            return f"{plural(now, 'issue')} open at the end of the week of {long_date(weeks[-1])}{tail}."
        words = "week" if span == 1 else f"{span} weeks"
        return f"Open issues {change_phrase(totals[-1 - span], now)} in the last {words}{tail}."

    def ageing(self, filters: Filters) -> ChartData:
        as_of = self.as_of(filters)
        band = sa.case(
            *[
                (Issue.created_at > as_of - dt.timedelta(days=days), position)
                for position, (_, days) in enumerate(AGE_BANDS)
                if days is not None
            ],
            else_=len(AGE_BANDS) - 1,
        ).label("band")
        severity = sa.func.coalesce(Issue.severity, 0).label("severity")
        rows = self.session.execute(
            sa.select(band, severity, sa.func.count())
            .where(
                *self._issue_conditions(filters),
                Issue.created_at <= as_of,
                sa.or_(Issue.resolved_at.is_(None), Issue.resolved_at > as_of),
            )
            .group_by(band, severity)
        )
        counts = {key: [0] * len(AGE_BANDS) for key, _ in SEVERITY_SERIES}
        for position, level, count in rows:
            counts[level if level in counts else 0][position] += count
        series = tuple(
            Series(str(key), label, tuple(counts[key]))
            for key, label in SEVERITY_SERIES
            if key != 0 or any(counts[0])
        )
        totals = [sum(s.values[i] or 0 for s in series) for i in range(len(AGE_BANDS))]
        when = long_date((as_of - dt.timedelta(microseconds=1)).date())
        empty = None
        if not sum(totals):
            empty = f"No issues{self.narrowed(filters)} were open on {when}."
        summary = empty
        if summary is None:
            old = sum(totals[2:])
            summary = (
                f"{plural(sum(totals), 'issue')} open on {when}; {old:,} {'has' if old == 1 else 'have'} been "
                "open for more than 4 weeks."
            )
        return ChartData(
            name="ageing",
            title="Open issues by how long they have been open",
            kind="stacked",
            category_header="Open for",
            categories=tuple(label for label, _ in AGE_BANDS),
            axis_labels=tuple(label for label, _ in AGE_BANDS),
            series=series,
            unit="open issues",
            summary=summary,
            description=f"Issues open on {when}, by the time since each was created, stacked by severity.",
            empty_reason=empty,
            totals=True,
        )

    def _monthly_medians(
        self,
        hours: Any,
        column: Any,
        conditions: Sequence[Any],
        source: Any,
        filters: Filters,
        *,
        chunked: bool,
    ) -> dict[str, tuple[float, int]]:
        """month -> (median days, how many) of `hours`, by the month of `column`, to the hour.

        A GROUP BY on whole hours gives a histogram and the median is read off it (SQLite has no median()).
        For feedback (`chunked`) it runs one month at a time: at 100,000 items, sorting every row (window
        functions) or one GROUP BY (month, hours) cost several times more than these small per-month groupings.
        Issues are few, so one GROUP BY (month, hours) serves them.
        """
        hours = hours.label("hours")
        histograms: dict[str, list[tuple[float, int]]] = {}
        if chunked:
            statement = (
                sa.select(hours, sa.func.count())
                .select_from(source)
                .where(*conditions, column >= sa.bindparam("low"), column < sa.bindparam("high"))
                .group_by(hours)
            )
            for month, low, high in self._month_bounds(filters):
                for value, count in self.session.execute(statement, {"low": low, "high": high}):
                    histograms.setdefault(month, []).append((value, count))
        else:
            month_of = self._month(column).label("month")
            for month, value, count in self.session.execute(
                sa.select(month_of, hours, sa.func.count())
                .select_from(source)
                .where(*conditions, column >= filters.start, column < filters.end)
                .group_by(month_of, hours)
            ):
                histograms.setdefault(month, []).append((value, count))
        found: dict[str, tuple[float, int]] = {}
        for month, rows in histograms.items():
            histogram = [
                (float(value), int(count)) for value, count in rows if value is not None and value >= 0
            ]
            if histogram:
                found[month] = (histogram_median(histogram) / 24, sum(count for _, count in histogram))
        return found

    def _month_bounds(self, filters: Filters) -> list[tuple[str, dt.datetime, dt.datetime]]:
        """Each month of the range with its first and last instants, clipped to the range."""
        bounds = []
        for month in self.months(filters):
            first = dt.datetime.fromisoformat(month + "-01").replace(tzinfo=dt.UTC)
            following = (first + dt.timedelta(days=32)).replace(day=1)
            bounds.append((month, max(first, filters.start), min(following, filters.end)))
        return bounds

    def timings(self, filters: Filters) -> ChartData:
        months = self.months(filters)
        triaged_at = Feedback.triaged_at
        triage = self._monthly_medians(
            self._hours(Feedback.submitted_at, triaged_at),
            triaged_at,
            self._feedback_conditions(filters, dated=False),
            Feedback,
            filters,
            chunked=True,
        )
        first_feedback = (
            sa.select(sa.func.min(Feedback.submitted_at))
            .where(Feedback.issue_id == Issue.id)
            .correlate(Issue)
            .scalar_subquery()
        )
        measured = {}
        for key, column in (("decision", Issue.decided_at), ("fix", Issue.fixed_at)):
            measured[key] = self._monthly_medians(
                self._hours(first_feedback, column),
                column,
                self._issue_conditions(filters),
                Issue,
                filters,
                chunked=False,
            )
        parts = (
            ("triage", "Sent to triaged", triage),
            ("decision", "First feedback to decision", measured["decision"]),
            ("fix", "First feedback to fix", measured["fix"]),
        )
        series = tuple(
            Series(key, label, tuple(round(found[m][0], 1) if m in found else None for m in months))
            for key, label, found in parts
        )
        counts = tuple(
            (f"{label}: how many", tuple(str(found[m][1]) if m in found else "0" for m in months))
            for _, label, found in parts
        )
        empty = None
        if not any(value is not None for s in series for value in s.values):
            empty = (
                f"Nothing{self.narrowed(filters)} was triaged, decided or fixed {self._range_words(filters)}, "
                "so there are no times to show."
            )
        labels = [dt.date.fromisoformat(m + "-01") for m in months]
        return ChartData(
            name="timings",
            title="Median days to triage, to decision and to fix, per month",
            kind="lines",
            category_header="Month",
            categories=tuple(day.strftime("%B %Y") for day in labels),
            axis_labels=tuple(
                day.strftime("%b %Y") if day.month == 1 or i == 0 else day.strftime("%b")
                for i, day in enumerate(labels)
            ),
            series=series,
            unit="days",
            summary=empty or self._timings_summary(months, series),
            description=(
                "Median days from sending feedback to triage (by the month it was triaged), and from an issue's "
                "first feedback to its first decision and to its fix (by the month of the decision or fix). "
                "A gap means nothing was triaged, decided or fixed that month."
            ),
            empty_reason=empty,
            extra_columns=counts,
        )

    @staticmethod
    def _timings_summary(months: list[str], series: Sequence[Series]) -> str:
        sentences = []
        for s in series:
            known = [(months[i], v) for i, v in enumerate(s.values) if v is not None]
            name = {"triage": "triage", "decision": "a decision", "fix": "a fix"}[s.key]
            if not known:
                continue
            last_month = dt.date.fromisoformat(known[-1][0] + "-01").strftime("%B")
            if len(known) == 1:
                sentences.append(f"{format_number(known[-1][1])} days to {name} in {last_month}")
            else:
                first_month = dt.date.fromisoformat(known[0][0] + "-01").strftime("%B")
                sentences.append(
                    f"the median time to {name} {change_phrase(known[0][1], known[-1][1], 'days')} "
                    f"between {first_month} and {last_month}"
                )
        text = "; ".join(sentences)
        return text[0].upper() + text[1:] + "."

    def rising(self, filters: Filters) -> ChartData:
        as_of = self.as_of(filters)
        middle, start = as_of - FORTNIGHT, as_of - 2 * FORTNIGHT

        def split(column: Any) -> tuple[Any, Any]:
            recent = sa.func.sum(sa.case((column >= middle, 1), else_=0))
            earlier = sa.func.sum(sa.case((column < middle, 1), else_=0))
            return recent, earlier

        voices: dict[int, list[int]] = {}
        recent, earlier = split(Feedback.submitted_at)
        for issue_id, now_, before in self.session.execute(
            sa.select(Feedback.issue_id, recent, earlier)
            .where(
                Feedback.issue_id.is_not(None),
                Feedback.submitted_at >= start,
                Feedback.submitted_at < as_of,
                *self._feedback_conditions(filters, dated=False),
            )
            .group_by(Feedback.issue_id)
        ):
            voices.setdefault(issue_id, [0, 0])
            voices[issue_id][0] += before
            voices[issue_id][1] += now_
        target = sa.func.coalesce(MeToo.issue_id, Feedback.issue_id).label("issue_id")
        recent, earlier = split(MeToo.created_at)
        conditions = [MeToo.created_at >= start, MeToo.created_at < as_of]
        if filters.team:
            conditions.append(MeToo.team_id == self._team_id(filters))
        if filters.kind:
            conditions.append(Feedback.kind == filters.kind)
        for issue_id, now_, before in self.session.execute(
            sa.select(target, recent, earlier)
            .select_from(MeToo)
            .outerjoin(Feedback, MeToo.feedback_id == Feedback.id)
            .where(*conditions)
            .group_by(target)
        ):
            if issue_id is None:
                continue
            voices.setdefault(issue_id, [0, 0])
            voices[issue_id][0] += before
            voices[issue_id][1] += now_
        rising_ids = [issue_id for issue_id, (before, now_) in voices.items() if now_ > before]
        issues = {}
        if rising_ids:
            issue_conditions = [Issue.id.in_(rising_ids), Issue.merged_into_id.is_(None)]
            if filters.module:
                issue_conditions.append(Issue.module == filters.module)
            issues = {
                row.id: row
                for row in self.session.execute(
                    sa.select(Issue.id, Issue.ref, Issue.title).where(*issue_conditions)
                )
            }
        ranked = sorted(
            issues,
            key=lambda i: (-(voices[i][1] - voices[i][0]), -voices[i][1], issues[i].ref or ""),
        )[:TOP_RISING]
        end_day = (as_of - dt.timedelta(microseconds=1)).date()
        middle_day = (middle - dt.timedelta(microseconds=1)).date()
        previous_label = f"Fortnight to {long_date(middle_day)}"
        this_label = f"Fortnight to {long_date(end_day)}"
        categories = tuple(f"{issues[i].ref} {issues[i].title}" for i in ranked)
        series = (
            Series("previous", previous_label, tuple(voices[i][0] for i in ranked)),
            Series("this", this_label, tuple(voices[i][1] for i in ranked)),
        )
        empty = None
        if not ranked:
            empty = (
                f"No issue{self.narrowed(filters)} had more new feedback and “me too”s in the fortnight to "
                f"{long_date(end_day)} than in the fortnight before."
            )
        summary = empty
        if summary is None:
            top = ranked[0]
            summary = (
                f"“{issues[top].title}” ({issues[top].ref}) rose most: its new feedback and “me too”s "
                f"{change_phrase(voices[top][0], voices[top][1])} compared with the fortnight before."
            )
        return ChartData(
            name="rising",
            title="Rising issues: this fortnight against the one before",
            kind="paired",
            category_header="Issue",
            categories=categories,
            axis_labels=tuple(_shorten(f"{issues[i].ref} {issues[i].title}", 48) for i in ranked),
            series=series,
            unit="new voices",
            summary=summary,
            description=(
                f"The {TOP_RISING} issues whose new voices (feedback linked to the issue and “me too”s) rose most "
                f"in the fortnight to {long_date(end_day)}, against the fortnight before."
            ),
            empty_reason=empty,
        )

    def by_team(self, filters: Filters) -> ChartData:
        rows = self.session.execute(
            sa.select(Feedback.team_id, sa.func.count())
            .where(*self._feedback_conditions(filters))
            .group_by(Feedback.team_id)
        ).all()
        sizes, teams = self.team_sizes(), self.teams()
        named = sorted(
            (
                (teams[team_id].name, count)
                for team_id, count in rows
                if team_id is not None and team_id in teams and sizes.get(team_id, 0) >= MIN_TEAM_SIZE
            ),
            key=lambda item: (-item[1], item[0]),
        )
        other = sum(
            count
            for team_id, count in rows
            if team_id is not None and (team_id not in teams or sizes.get(team_id, 0) < MIN_TEAM_SIZE)
        )
        beyond = len(named) > MAX_TEAMS
        other += sum(count for _, count in named[MAX_TEAMS:])
        named = named[:MAX_TEAMS]
        not_given = sum(count for team_id, count in rows if team_id is None)
        bars = [
            *named,
            *([("Other teams", other)] if other else []),
            *([("Team not given", not_given)] if not_given else []),
        ]
        total = sum(count for _, count in bars)
        empty = None
        if not total:
            empty = f"No feedback was sent{self.narrowed(filters)} {self._range_words(filters)}."
        summary = empty
        if summary is None:
            leader, count = max(bars, key=lambda item: item[1])
            summary = (
                f"{leader} sent the most feedback: {count:,} of {total:,} "
                f"({round(count / total * 100)}%) {self._range_words(filters)}."
            )
        return ChartData(
            name="teams",
            title="Feedback by team",
            kind="hbars",
            category_header="Team",
            categories=tuple(name for name, _ in bars),
            axis_labels=tuple(_shorten(name, 30) for name, _ in bars),
            series=(Series("feedback", "Feedback items", tuple(count for _, count in bars)),),
            unit="feedback items",
            summary=summary,
            description=(
                f"Feedback items sent {self._range_words(filters)}, by the sender's team. Teams of fewer than "
                f"{MIN_TEAM_SIZE} people"
                + (f", and teams beyond the {MAX_TEAMS} with most feedback," if beyond else "")
                + " are counted together as “Other teams”."
            ),
            empty_reason=empty,
        )


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def histogram_median(histogram: Iterable[tuple[float, int]]) -> float:
    """The median of values given as (value, how many times): the middle one, or the mean of the middle two."""
    ordered = sorted(histogram)
    size = sum(count for _, count in ordered)
    wanted = [(size + 1) // 2, (size + 2) // 2]  # 1-based positions of the middle value(s)
    found: list[float] = []
    seen = 0
    for value, count in ordered:
        seen += count
        while wanted and wanted[0] <= seen:
            found.append(value)
            wanted.pop(0)
    return sum(found) / len(found)


def median(values: Sequence[float]) -> float | None:
    """The median the SQL works out, for checking it by hand in tests."""
    return statistics.median(values) if values else None
