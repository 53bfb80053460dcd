"""The agenda builder: a proposed agenda for a meeting, from the evidence.

Order of a built agenda:
  1. the series' standing items (apologies, minutes of the last meeting, action log);
  2. "Actions due or overdue", when any open action is due by the day of the meeting;
  3. items carried over from the last meeting (issue items left without an outcome);
  4. new severity 1–2 issues raised since the last meeting;
  5. the other open issues (status New or Investigating, not merged), highest priority score first,
     until the meeting's time is full;
  6. any other business (when the series has it as a standing item).

PRIORITY SCORE (higher is discussed first), from the evidence gathered with SQL GROUP BYs:
  severity        1 (blocks work) → 40, 2 (workaround) → 20, 3 (minor) → 5, not set → 10
  people          10 × log2(1 + people), people = distinct named submitters + anonymous feedback +
                  distinct "me too" users (more voices count, with diminishing returns)
  teams affected  5 per distinct team, up to 8 teams (40)
  trend           voices since the last meeting minus voices in the same length of time before it:
                  +3 per extra voice (up to +30), −1 per voice fewer (down to −10)
  age             1 per full week since the issue was created, up to 12 (old issues are not forgotten)

MINUTES by weight of evidence: round(3 + score / 10), between 3 and 15. Standing items take 2 (apologies),
5 (last minutes), 5 (action log), 2 + 1 per due action up to 10 (actions due), 5 (AOB); they are scaled
down to leave at least half the meeting for issues. Issues are added in the order above while they fit;
one that does not fit at its weight gets what is left if that is at least 3 minutes, and then the agenda
is full. The total never exceeds the meeting's length.

EVIDENCE per issue item (a JSON snapshot kept on the item, so the pack shows what the board saw): counts,
trend since the last meeting, teams (teams with fewer than 5 active members are folded into "Other" so
nobody can be picked out), eight weeks of weekly counts for the chart, and up to three representative
quotes: the redacted text of feedback that is neither held (personal data not yet dealt with) nor
restricted (safeguarding), those that stop people working first, newest first.
"""

from __future__ import annotations

import collections
import dataclasses
import datetime as dt
import math
from collections.abc import Iterable, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy import orm

from feedback_portal.accounts.models import Team, User
from feedback_portal.feedback.models import Feedback
from feedback_portal.issues.models import Issue, IssueStatus, MeToo
from feedback_portal.meetings.models import ItemKind

OPEN_FOR_DECISION = (IssueStatus.NEW.value, IssueStatus.INVESTIGATING.value)
MIN_ISSUE_MINUTES = 3
MAX_ISSUE_MINUTES = 15
SMALL_TEAM = 5  # teams with fewer active members than this are folded into "Other"
OTHER_TEAMS = "Other"
QUOTES = 3
QUOTE_MAX = 280
TREND_WEEKS = 8
STANDING_MINUTES = {
    ItemKind.APOLOGIES: 2,
    ItemKind.LAST_MINUTES: 5,
    ItemKind.ACTION_LOG: 5,
    ItemKind.AOB: 5,
}
SEVERITY_POINTS = {1: 40, 2: 20, 3: 5}
SEVERITY_UNSET_POINTS = 10


@dataclasses.dataclass
class IssueStats:
    """What the evidence says about one issue, gathered by GROUP BY queries."""

    issue_id: int
    ref: str
    title: str
    severity: int | None
    created_at: dt.datetime
    feedback: int = 0
    identified: int = 0
    anonymous: int = 0
    me_toos: int = 0
    recent: int = 0
    previous: int = 0
    team_voices: dict[int | None, int] = dataclasses.field(default_factory=dict)

    @property
    def people(self) -> int:
        return self.identified + self.anonymous + self.me_toos

    @property
    def teams_affected(self) -> int:
        return sum(1 for team in self.team_voices if team is not None)


def score_parts(stats: IssueStats, today: dt.date) -> dict[str, float]:
    """The priority score, part by part (see the module docstring), so the page can show why."""
    delta = stats.recent - stats.previous
    trend = min(30, 3 * delta) if delta > 0 else max(-10, delta)
    age_weeks = max(0, (today - stats.created_at.date()).days // 7)
    return {
        "severity": float(SEVERITY_POINTS.get(stats.severity or 0, SEVERITY_UNSET_POINTS)),
        "people": round(10 * math.log2(1 + stats.people), 1),
        "teams": float(5 * min(8, stats.teams_affected)),
        "trend": float(trend),
        "age": float(min(12, age_weeks)),
    }


def priority_score(stats: IssueStats, today: dt.date) -> float:
    return round(sum(score_parts(stats, today).values()), 1)


def minutes_for(score: float) -> int:
    """Minutes by weight of evidence: 3 to 15."""
    return max(MIN_ISSUE_MINUTES, min(MAX_ISSUE_MINUTES, round(3 + score / 10)))


def trend_word(recent: int, previous: int) -> str:
    if recent > previous:
        return "rising"
    if recent < previous:
        return "falling"
    return "steady"


@dataclasses.dataclass
class ProposedItem:
    kind: str
    minutes: int
    title: str = ""
    issue_id: int | None = None
    score: float | None = None
    evidence: dict[str, Any] = dataclasses.field(default_factory=dict)
    carried_from_id: int | None = None
    carry_over_count: int = 0
    reason: str = ""  # why it is on the agenda: standing, carried, new-severe, score


@dataclasses.dataclass
class Window:
    """The time the trend compares: since the last meeting, against the same length before it."""

    since: dt.datetime
    until: dt.datetime

    @property
    def previous_start(self) -> dt.datetime:
        return self.since - (self.until - self.since)


# Gathering the evidence -------------------------------------------------------------------------------


def gather(
    session: orm.Session, window: Window, *, issue_ids: Sequence[int] | None = None
) -> dict[int, IssueStats]:
    """Counts per issue for every issue open for decision (or just `issue_ids`): a handful of GROUP BYs."""
    issue_filter = (
        [Issue.id.in_(issue_ids)]
        if issue_ids is not None
        else [Issue.merged_into_id.is_(None), Issue.status.in_(OPEN_FOR_DECISION)]
    )
    stats = {
        row.id: IssueStats(row.id, row.ref or "", row.title, row.severity, row.created_at)
        for row in session.execute(
            sa.select(Issue.id, Issue.ref, Issue.title, Issue.severity, Issue.created_at).where(*issue_filter)
        )
    }
    if not stats:
        return stats
    wanted = sa.select(Issue.id).where(*issue_filter).scalar_subquery()
    recent = sa.and_(Feedback.submitted_at >= window.since, Feedback.submitted_at < window.until)
    previous = sa.and_(Feedback.submitted_at >= window.previous_start, Feedback.submitted_at < window.since)
    for row in session.execute(
        sa.select(
            Feedback.issue_id,
            sa.func.count(Feedback.id),
            sa.func.count(sa.distinct(Feedback.submitter_id)),
            sa.func.sum(sa.case((Feedback.submitter_id.is_(None), 1), else_=0)),
            sa.func.sum(sa.case((recent, 1), else_=0)),
            sa.func.sum(sa.case((previous, 1), else_=0)),
        )
        .where(Feedback.issue_id.in_(wanted))
        .group_by(Feedback.issue_id)
    ):
        item = stats[row[0]]
        item.feedback, item.identified, item.anonymous = row[1], row[2], int(row[3] or 0)
        item.recent, item.previous = int(row[4] or 0), int(row[5] or 0)

    me_too_issue = sa.func.coalesce(MeToo.issue_id, Feedback.issue_id)
    m_recent = sa.and_(MeToo.created_at >= window.since, MeToo.created_at < window.until)
    m_previous = sa.and_(MeToo.created_at >= window.previous_start, MeToo.created_at < window.since)
    me_too_rows = (
        sa.select(MeToo.user_id, me_too_issue.label("issue_id"))
        .select_from(MeToo)
        .outerjoin(Feedback, MeToo.feedback_id == Feedback.id)
        .where(me_too_issue.in_(wanted))
        .subquery()
    )
    for row in session.execute(
        sa.select(me_too_rows.c.issue_id, sa.func.count(sa.distinct(me_too_rows.c.user_id))).group_by(
            me_too_rows.c.issue_id
        )
    ):
        stats[row[0]].me_toos = row[1]
    # Recent "me too"s count towards the trend like feedback does.
    for row in session.execute(
        sa.select(
            me_too_issue,
            sa.func.sum(sa.case((m_recent, 1), else_=0)),
            sa.func.sum(sa.case((m_previous, 1), else_=0)),
        )
        .select_from(MeToo)
        .outerjoin(Feedback, MeToo.feedback_id == Feedback.id)
        .where(me_too_issue.in_(wanted))
        .group_by(me_too_issue)
    ):
        stats[row[0]].recent += int(row[1] or 0)
        stats[row[0]].previous += int(row[2] or 0)

    for issue_id, team_id, voices in session.execute(
        sa.select(Feedback.issue_id, Feedback.team_id, sa.func.count(Feedback.id))
        .where(Feedback.issue_id.in_(wanted))
        .group_by(Feedback.issue_id, Feedback.team_id)
    ):
        stats[issue_id].team_voices[team_id] = stats[issue_id].team_voices.get(team_id, 0) + voices
    for issue_id, team_id, voices in session.execute(
        sa.select(me_too_issue, MeToo.team_id, sa.func.count(MeToo.id))
        .select_from(MeToo)
        .outerjoin(Feedback, MeToo.feedback_id == Feedback.id)
        .where(me_too_issue.in_(wanted))
        .group_by(me_too_issue, MeToo.team_id)
    ):
        stats[issue_id].team_voices[team_id] = stats[issue_id].team_voices.get(team_id, 0) + voices
    return stats


@dataclasses.dataclass(frozen=True)
class TeamDirectory:
    """Team names and how many active people each has: read once per agenda build."""

    names: dict[int, str]
    sizes: dict[int, int]

    @classmethod
    def load(cls, session: orm.Session) -> TeamDirectory:
        names = dict(session.execute(sa.select(Team.id, Team.name)).all())
        sizes = dict(
            session.execute(
                sa.select(User.team_id, sa.func.count(User.id))
                .where(User.active.is_(True), User.team_id.is_not(None))
                .group_by(User.team_id)
            ).all()
        )
        return cls(names, sizes)


def folded_teams(
    session: orm.Session, team_voices: dict[int | None, int], directory: TeamDirectory | None = None
) -> list[dict[str, Any]]:
    """Voices by team, most first; teams under SMALL_TEAM active people (and none given) become "Other"."""
    directory = directory or TeamDirectory.load(session)
    counts: collections.Counter[str] = collections.Counter()
    for team_id, voices in team_voices.items():
        if team_id is None or directory.sizes.get(team_id, 0) < SMALL_TEAM:
            counts[OTHER_TEAMS] += voices
        else:
            counts[directory.names.get(team_id, OTHER_TEAMS)] += voices
    ordered = sorted(counts.items(), key=lambda item: (item[0] == OTHER_TEAMS, -item[1], item[0]))
    return [{"team": name, "count": count} for name, count in ordered]


def quotes(session: orm.Session, issue_ids: Iterable[int]) -> dict[int, list[dict[str, str]]]:
    """Up to QUOTES representative quotes per issue: redacted text only, never held or restricted feedback."""
    ids = list(issue_ids)
    if not ids:
        return {}
    rank = (
        sa.func.row_number()
        .over(
            partition_by=Feedback.issue_id,
            order_by=(
                sa.case((Feedback.impact == "blocks-work", 0), (Feedback.impact == "workaround", 1), else_=2),
                Feedback.submitted_at.desc(),
                Feedback.id.desc(),
            ),
        )
        .label("rank")
    )
    ranked = (
        sa.select(Feedback.issue_id, Feedback.ref, Feedback.title, Feedback.body, rank)
        .where(
            Feedback.issue_id.in_(ids),
            Feedback.held.is_(False),
            Feedback.restricted.is_(False),
        )
        .subquery()
    )
    found: dict[int, list[dict[str, str]]] = collections.defaultdict(list)
    for row in session.execute(
        sa.select(ranked.c.issue_id, ranked.c.ref, ranked.c.body)
        .where(ranked.c.rank <= QUOTES)
        .order_by(ranked.c.issue_id, ranked.c.rank)
    ):
        text = " ".join(row.body.split())
        if len(text) > QUOTE_MAX:
            text = text[: QUOTE_MAX - 1].rstrip() + "…"
        found[row.issue_id].append({"ref": row.ref or "", "text": text})
    return found


def weekly(
    session: orm.Session, issue_ids: Sequence[int], until: dt.datetime
) -> dict[int, list[dict[str, Any]]]:
    """Feedback and "me too"s per week for the last TREND_WEEKS weeks, for the chosen issues only."""
    this_week = until.date() - dt.timedelta(days=until.date().weekday())
    weeks = [this_week - dt.timedelta(weeks=n) for n in range(TREND_WEEKS - 1, -1, -1)]
    start = dt.datetime.combine(weeks[0], dt.time(), tzinfo=dt.UTC)
    counts: dict[int, collections.Counter[dt.date]] = {
        issue_id: collections.Counter() for issue_id in issue_ids
    }
    if issue_ids:
        me_too_issue = sa.func.coalesce(MeToo.issue_id, Feedback.issue_id)
        rows = list(
            session.execute(
                sa.select(Feedback.issue_id, Feedback.submitted_at).where(
                    Feedback.issue_id.in_(issue_ids), Feedback.submitted_at >= start
                )
            )
        ) + list(
            session.execute(
                sa.select(me_too_issue, MeToo.created_at)
                .select_from(MeToo)
                .outerjoin(Feedback, MeToo.feedback_id == Feedback.id)
                .where(me_too_issue.in_(issue_ids), MeToo.created_at >= start)
            )
        )
        for issue_id, when in rows:
            day = when.astimezone(dt.UTC).date()
            counts[issue_id][day - dt.timedelta(days=day.weekday())] += 1
    return {
        issue_id: [{"starts": week.isoformat(), "count": counter.get(week, 0)} for week in weeks]
        for issue_id, counter in counts.items()
    }


def evidence_for(
    session: orm.Session, stats: dict[int, IssueStats], chosen: Sequence[int], window: Window, today: dt.date
) -> dict[int, dict[str, Any]]:
    """The evidence snapshot of each chosen issue."""
    said = quotes(session, chosen)
    directory = TeamDirectory.load(session)
    weeks = weekly(session, chosen, window.until)
    snapshots = {}
    for issue_id in chosen:
        item = stats[issue_id]
        snapshots[issue_id] = {
            "feedback": item.feedback,
            "people": item.people,
            "me_toos": item.me_toos,
            "anonymous": item.anonymous,
            "recent": item.recent,
            "previous": item.previous,
            "trend": trend_word(item.recent, item.previous),
            "since": window.since.isoformat(),
            "teams": folded_teams(session, item.team_voices, directory),
            "weeks": weeks.get(issue_id, []),
            "quotes": said.get(issue_id, []),
            "severity": item.severity,
            "score_parts": score_parts(item, today),
        }
    return snapshots


# Allocating the time ----------------------------------------------------------------------------------


def standing_minutes(kinds: Sequence[str], due_actions: int, length: int) -> list[int]:
    """Minutes for each standing item, scaled down so that they take at most half the meeting."""
    wanted = [
        min(10, 2 + due_actions) if kind == ItemKind.ACTIONS_DUE else STANDING_MINUTES.get(ItemKind(kind), 5)
        for kind in kinds
    ]
    budget = max(len(kinds), length // 2)
    total = sum(wanted)
    if total <= budget:
        return wanted
    scaled = [max(1, math.floor(minutes * budget / total)) for minutes in wanted]
    while sum(scaled) > budget and max(scaled) > 1:
        scaled[scaled.index(max(scaled))] -= 1
    return scaled


def fill(candidates: Sequence[ProposedItem], available: int) -> tuple[list[ProposedItem], list[ProposedItem]]:
    """Take candidates in order while they fit (see the module docstring); returns (taken, left out)."""
    taken: list[ProposedItem] = []
    left: list[ProposedItem] = []
    full = False
    for candidate in candidates:
        if full or available < MIN_ISSUE_MINUTES:
            full = True
            left.append(candidate)
            continue
        if candidate.minutes > available:
            candidate.minutes = available
            full = True
        available -= candidate.minutes
        taken.append(candidate)
    return taken, left
