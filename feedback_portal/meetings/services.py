"""Meeting rules: series and meetings, the agenda (built, edited, published), live mode, minutes, actions.

Every write runs in one transaction of its own (db.begin_write: SQLite's write lock is taken up front) and
either happens completely or not at all; problems are domain errors (ValidationFailed per field, NotFound,
Conflict) that app.py turns into pages or JSON.

Optimistic locking: a meeting has a version (SQLAlchemy's version counter). Every agenda edit (build, add,
remove, reorder, minutes, publish) sends the version the chair's page showed; if someone else changed the
agenda since, the edit is refused with Conflict and nothing is changed. Each edit moves the version on.

Rebuilding the agenda replaces the items the builder proposed last time (source "proposed") and keeps
those the chair added by hand (source "manual") and those carried over from the last meeting (source
"carried"): the chair's own choices survive a rebuild, and the builder never adds an issue twice.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import zoneinfo
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa
from sqlalchemy import orm
from sqlalchemy.orm.exc import StaleDataError

from feedback_portal.accounts.models import Role, User
from feedback_portal.audit import models as audit
from feedback_portal.db import begin_write, utcnow
from feedback_portal.errors import Conflict, NotFound, ValidationFailed
from feedback_portal.feedback.models import Feedback
from feedback_portal.feedback.services import clean_text
from feedback_portal.issues.models import Issue, IssueStatus
from feedback_portal.issues.services import normalise_issue_ref, transition_problem
from feedback_portal.meetings import agenda
from feedback_portal.meetings.models import (
    STANDING_KINDS,
    Action,
    ActionStatus,
    AgendaItem,
    Cadence,
    ItemKind,
    Meeting,
    MeetingSeries,
    MeetingState,
    MinutesAmendment,
    Outcome,
)

LONDON = zoneinfo.ZoneInfo("Europe/London")
TITLE_MAX = 150
TEXT_MAX = 5000
MIN_LENGTH = 15
MAX_LENGTH = 480
# Who may run meetings: the board chairs them, business support prepare agendas and take minutes, admins.
MEETING_ROLES = frozenset({Role.BOARD, Role.BUSINESS_SUPPORT, Role.ADMIN})
STANDING_CHOICES = (ItemKind.APOLOGIES, ItemKind.LAST_MINUTES, ItemKind.ACTION_LOG, ItemKind.AOB)
# Outcomes and what happens next, in plain words for the people who gave feedback.
NEXT_STEPS = {
    Outcome.CHANGE_REQUEST: (
        "We have asked the supplier to change the system. We will tell you when the change is scheduled."
    ),
    Outcome.CONFIGURATION_CHANGE: (
        "We will change how the system is set up. We will tell you when it is done."
    ),
    Outcome.TRAINING_GUIDANCE: "We are arranging training or guidance so that it is clear how to do this.",
    Outcome.WORKAROUND_PUBLISHED: "We have published a way to work around it until it is fixed.",
    Outcome.WONT_FIX: "We will not change the system for this. The reason is above.",
    Outcome.DEFERRED: "The board will come back to this at a later meeting.",
    Outcome.ESCALATED: "The board has passed this to senior managers to decide.",
}


def meeting_ref(meeting_id: int) -> str:
    return f"MTG-{meeting_id:04d}"


def london(value: dt.datetime | None) -> dt.datetime | None:
    return value.astimezone(LONDON) if value else None


def today_in_london() -> dt.date:
    return utcnow().astimezone(LONDON).date()


def _whole_number(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value.strip())
    return None


def _one_line(value: object) -> str:
    return " ".join(clean_text(value).split())


def parse_when(value: object = None, *, date: object = None, time: object = None) -> dt.datetime | None:
    """A timezone-aware datetime from ISO text (an offset, or London time when none) or a date and a time."""
    try:
        if value not in (None, ""):
            parsed = dt.datetime.fromisoformat(str(value).strip())
        else:
            day = dt.date.fromisoformat(str(date or "").strip())
            clock = dt.time.fromisoformat(str(time or "").strip())
            parsed = dt.datetime.combine(day, clock)
    except ValueError:
        return None
    return parsed.replace(tzinfo=LONDON) if parsed.tzinfo is None else parsed


def parse_day(value: object) -> dt.date | None:
    try:
        return dt.date.fromisoformat(str(value or "").strip())
    except ValueError:
        return None


@dataclasses.dataclass(frozen=True)
class BuildResult:
    added: int
    kept: int
    left_out: list[str]  # issue refs that did not fit


@dataclasses.dataclass(frozen=True)
class PublishResult:
    issues_changed: list[str]
    issues_unchanged: list[str]  # an outcome whose status move the workflow refused (e.g. already fixed)
    people_told: int


@dataclasses.dataclass(frozen=True)
class Discussion:
    item: AgendaItem
    meeting: Meeting


class MeetingService:
    def __init__(self, session: orm.Session) -> None:
        self.session = session

    # Transactions -------------------------------------------------------------------------------------

    @contextmanager
    def _write(self) -> Iterator[None]:
        begin_write(self.session)
        self.session.expire_all()
        try:
            yield
            self.session.commit()
        except StaleDataError:
            self.session.rollback()
            raise Conflict(
                "Someone else changed this meeting at the same moment, so your change was not saved. "
                "Look at the latest version and make it again."
            ) from None
        except BaseException:
            self.session.rollback()
            raise

    def _audit(self, actor: User | None, action: str, meeting: Meeting, **after: Any) -> None:
        audit.record(
            self.session,
            actor_id=actor.id if actor else None,
            action=action,
            record_type="meeting",
            record_ref=meeting_ref(meeting.id),
            after=after or None,
        )

    # Reading ------------------------------------------------------------------------------------------

    def get(self, meeting_id: object) -> Meeting:
        number = _whole_number(meeting_id)
        meeting = self.session.get(Meeting, number) if number is not None else None
        if meeting is None:
            raise NotFound("There is no such meeting")
        return meeting

    def item(self, meeting: Meeting, item_id: object) -> AgendaItem:
        number = _whole_number(item_id)
        for item in meeting.items:
            if item.id == number:
                return item
        raise NotFound("That item is not on this meeting's agenda. Someone may have removed it.")

    def series_list(self) -> list[MeetingSeries]:
        return list(self.session.scalars(sa.select(MeetingSeries).order_by(MeetingSeries.title)))

    def get_series(self, series_id: object) -> MeetingSeries:
        number = _whole_number(series_id)
        series = self.session.get(MeetingSeries, number) if number is not None else None
        if series is None:
            raise NotFound("There is no such meeting series")
        return series

    def meetings(self, *, upcoming: bool) -> list[Meeting]:
        """Upcoming: not yet minuted, soonest first. Past: minutes published, newest first."""
        done = Meeting.state == MeetingState.MINUTES_PUBLISHED
        query = sa.select(Meeting).where(sa.not_(done) if upcoming else done)
        order = Meeting.scheduled_for.asc() if upcoming else Meeting.scheduled_for.desc()
        return list(self.session.scalars(query.order_by(order, Meeting.id)).unique())

    def people(self) -> list[User]:
        """Who can attend, own actions and present: active business support, board and admins."""
        return list(
            self.session.scalars(
                sa.select(User)
                .where(User.active.is_(True), User.role.in_([role.value for role in MEETING_ROLES]))
                .order_by(User.name, User.email)
            )
        )

    def previous_meeting(self, meeting: Meeting) -> Meeting | None:
        """The meeting of the same series before this one (None for a one-off meeting or the first)."""
        if meeting.series_id is None:
            return None
        return self.session.scalars(
            sa.select(Meeting)
            .where(
                Meeting.series_id == meeting.series_id,
                Meeting.id != meeting.id,
                Meeting.scheduled_for < meeting.scheduled_for,
            )
            .order_by(Meeting.scheduled_for.desc())
            .limit(1)
        ).first()

    def actions_for_agenda(self, meeting: Meeting) -> list[Action]:
        """Open actions due by the day of the meeting (the action log's "due or overdue")."""
        day = london(meeting.scheduled_for).date()
        return list(
            self.session.scalars(
                sa.select(Action)
                .where(Action.status == ActionStatus.OPEN, Action.due_on <= day)
                .order_by(Action.due_on, Action.id)
            ).unique()
        )

    def open_actions(self) -> list[Action]:
        return list(
            self.session.scalars(
                sa.select(Action).where(Action.status == ActionStatus.OPEN).order_by(Action.due_on, Action.id)
            ).unique()
        )

    # Series and meetings ------------------------------------------------------------------------------

    def _clean_title(
        self, value: object, errors: dict[str, str], field: str = "title", what: str = "meeting"
    ) -> str:
        title = _one_line(value)
        if not title:
            errors[field] = f"Enter a title for the {what}"
        elif len(title) > TITLE_MAX:
            errors[field] = f"The title must be {TITLE_MAX} characters or fewer (you wrote {len(title)})"
        return title

    @staticmethod
    def _clean_length(value: object, errors: dict[str, str], field: str) -> int:
        minutes = _whole_number(value)
        if minutes is None or not MIN_LENGTH <= minutes <= MAX_LENGTH:
            errors[field] = (
                f"Enter the length in minutes, as a whole number from {MIN_LENGTH} to {MAX_LENGTH}"
            )
            return 0
        return minutes

    def _clean_series(
        self,
        title: object,
        cadence: object,
        usual_minutes: object,
        attendee_ids: Sequence[object],
        standing_items: Sequence[object] | None,
    ) -> dict[str, Any]:
        errors: dict[str, str] = {}
        clean_title = self._clean_title(title, errors, what="series")
        cadence_value = clean_text(cadence)
        if cadence_value not in {c.value for c in Cadence}:
            errors["cadence"] = "Choose how often the series meets: weekly or fortnightly"
        minutes = self._clean_length(usual_minutes, errors, "usual_minutes")
        standing = [
            clean_text(kind) for kind in (standing_items if standing_items is not None else STANDING_CHOICES)
        ]
        if any(kind not in {k.value for k in STANDING_CHOICES} for kind in standing):
            errors["standing_items"] = "Choose standing items from the list"
        ids = [_whole_number(value) for value in attendee_ids if clean_text(value)]
        people = {user.id: user for user in self.people()}
        if any(number not in people for number in ids):
            errors["attendees"] = "Choose attendees from the list"
        if errors:
            raise ValidationFailed(errors)
        return {
            "title": clean_title,
            "cadence": cadence_value,
            "usual_minutes": minutes,
            "standing_items": [k.value for k in STANDING_CHOICES if k.value in standing],
            "attendee_ids": list(dict.fromkeys(ids)),
        }

    def create_series(
        self,
        *,
        title: object,
        cadence: object,
        usual_minutes: object,
        attendee_ids: Sequence[object] = (),
        standing_items: Sequence[object] | None = None,
        actor: User,
    ) -> MeetingSeries:
        clean = self._clean_series(title, cadence, usual_minutes, attendee_ids, standing_items)
        with self._write():
            series = MeetingSeries(
                title=clean["title"],
                cadence=clean["cadence"],
                usual_minutes=clean["usual_minutes"],
                standing_items=clean["standing_items"],
            )
            series.attendees = [self.session.get(User, number) for number in clean["attendee_ids"]]
            self.session.add(series)
            self.session.flush()
            audit.record(
                self.session,
                actor_id=actor.id,
                action="meeting_series.created",
                record_type="meeting_series",
                record_ref=str(series.id),
                after=_series_audit(series),
            )
        return series

    def change_series(
        self,
        series_id: object,
        *,
        title: object,
        cadence: object,
        usual_minutes: object,
        attendee_ids: Sequence[object] = (),
        standing_items: Sequence[object] | None = None,
        actor: User,
    ) -> MeetingSeries:
        """Change a series; its meetings keep their own date and length (future agendas use the new
        standing items, and the next meeting made from the cadence uses the new usual length)."""
        clean = self._clean_series(title, cadence, usual_minutes, attendee_ids, standing_items)
        with self._write():
            series = self.get_series(series_id)
            before = _series_audit(series)
            series.title = clean["title"]
            series.cadence = clean["cadence"]
            series.usual_minutes = clean["usual_minutes"]
            series.standing_items = clean["standing_items"]
            series.attendees = [self.session.get(User, number) for number in clean["attendee_ids"]]
            self.session.flush()
            audit.record(
                self.session,
                actor_id=actor.id,
                action="meeting_series.changed",
                record_type="meeting_series",
                record_ref=str(series.id),
                before=before,
                after=_series_audit(series),
            )
        return series

    def create_meeting(
        self,
        *,
        title: object,
        scheduled_for: object = None,
        date: object = None,
        time: object = None,
        duration_minutes: object = None,
        series_id: object = None,
        actor: User,
    ) -> Meeting:
        errors: dict[str, str] = {}
        series = None
        if clean_text(series_id):
            number = _whole_number(series_id)
            series = self.session.get(MeetingSeries, number) if number is not None else None
            if series is None:
                errors["series_id"] = "Choose a series from the list"
        if not clean_text(title) and series is not None:
            title = series.title
        clean_title = self._clean_title(title, errors)
        if scheduled_for is None and not clean_text(date) and not clean_text(time):
            when = None
            errors["scheduled_for" if date is None else "date"] = "Enter the date and time of the meeting"
        else:
            when = parse_when(scheduled_for, date=date, time=time)
            if when is None:
                field = "scheduled_for" if scheduled_for is not None else "date"
                errors[field] = (
                    "Enter the date and time as 2026-12-03T10:00 (London time) or with an offset"
                    if field == "scheduled_for"
                    else "Enter a real date, like 3 December 2026, and a time, like 10:00"
                )
        if duration_minutes in (None, "") and series is not None:
            duration_minutes = series.usual_minutes
        minutes = self._clean_length(duration_minutes, errors, "duration_minutes")
        if errors:
            raise ValidationFailed(errors)
        with self._write():
            meeting = Meeting(
                title=clean_title,
                scheduled_for=when.astimezone(dt.UTC),
                duration_minutes=minutes,
                series_id=series.id if series else None,
                chair_id=actor.id if actor.role_enum == Role.BOARD else None,
                state=MeetingState.PLANNING,
            )
            self.session.add(meeting)
            self.session.flush()
            self._audit(
                actor,
                "meeting.created",
                meeting,
                title=meeting.title,
                scheduled_for=meeting.scheduled_for.isoformat(),
                duration_minutes=minutes,
            )
        return meeting

    def change_meeting(
        self,
        meeting_id: object,
        version: object,
        *,
        title: object,
        date: object,
        time: object,
        duration_minutes: object,
        actor: User,
    ) -> Meeting:
        """Change a meeting's title, date, time or length (before its minutes are published). The length
        cannot drop below the minutes already allotted on the agenda."""
        errors: dict[str, str] = {}
        clean_title = self._clean_title(title, errors)
        when = parse_when(None, date=date, time=time)
        if when is None:
            errors["date"] = "Enter a real date, like 3 December 2026, and a time, like 10:00"
        minutes = self._clean_length(duration_minutes, errors, "duration_minutes")
        with self._write():
            meeting = self.get(meeting_id)
            expected = _whole_number(version)
            if expected != meeting.version:
                raise Conflict(
                    "Someone else changed this meeting while you had it open, so your change was not made. "
                    "Check the details below and make your change again."
                )
            if meeting.state == MeetingState.MINUTES_PUBLISHED:
                raise Conflict("The minutes of this meeting are published, so its details cannot change.")
            if minutes and minutes < meeting.allotted_minutes:
                errors["duration_minutes"] = (
                    f"The agenda already takes {meeting.allotted_minutes} minutes: make the meeting at least "
                    "that long, or take time off agenda items first"
                )
            if errors:
                raise ValidationFailed(errors)
            before = {
                "title": meeting.title,
                "scheduled_for": meeting.scheduled_for.isoformat(),
                "duration_minutes": meeting.duration_minutes,
            }
            meeting.title = clean_title
            meeting.scheduled_for = when.astimezone(dt.UTC)
            meeting.duration_minutes = minutes
            self._touch(meeting)
            self.session.flush()
            audit.record(
                self.session,
                actor_id=actor.id,
                action="meeting.changed",
                record_type="meeting",
                record_ref=meeting_ref(meeting.id),
                before=before,
                after={
                    "title": meeting.title,
                    "scheduled_for": meeting.scheduled_for.isoformat(),
                    "duration_minutes": minutes,
                    "version": meeting.version,
                },
            )
        return meeting

    # The agenda ---------------------------------------------------------------------------------------

    def _editable(self, meeting_id: object, version: object) -> Meeting:
        """The meeting, if its agenda may still be edited and nobody changed it since `version`."""
        meeting = self.get(meeting_id)
        expected = _whole_number(version)
        if expected is None:
            raise ValidationFailed({"version": "Send the version of the agenda you are changing"})
        if meeting.version != expected:
            raise Conflict(
                "Someone else changed this agenda while you had it open, so your change was not made. "
                f"This is the latest agenda (version {meeting.version}): check it and make your change again."
            )
        if not meeting.agenda_editable:
            raise Conflict(f"The agenda cannot be changed now: the meeting is {meeting.state_label.lower()}.")
        return meeting

    @staticmethod
    def _touch(meeting: Meeting) -> None:
        meeting.agenda_changed_at = utcnow()

    @staticmethod
    def _renumber(items: Sequence[AgendaItem]) -> None:
        for position, item in enumerate(items, start=1):
            item.position = position

    def window(self, meeting: Meeting) -> agenda.Window:
        """Since the last meeting (or one cadence, or a fortnight), up to the meeting or now if sooner."""
        until = min(utcnow(), meeting.scheduled_for)
        previous = self.previous_meeting(meeting)
        if previous is not None:
            since = previous.scheduled_for
        else:
            interval = Cadence(meeting.series.cadence).interval if meeting.series else dt.timedelta(weeks=2)
            since = meeting.scheduled_for - interval
        since = min(since, until - dt.timedelta(days=1))
        return agenda.Window(since=since, until=until)

    def build_agenda(self, meeting_id: object, version: object, actor: User) -> BuildResult:
        """Propose the agenda from the evidence (see agenda.py); keeps the chair's own and carried items."""
        with self._write():
            meeting = self._editable(meeting_id, version)
            today = today_in_london()
            window = self.window(meeting)
            kept = [item for item in meeting.items if item.source != "proposed"]
            on_agenda = {item.issue_id for item in kept if item.issue_id is not None}
            stats = agenda.gather(self.session, window)
            carried = self._carry_candidates(meeting, on_agenda)
            due = self.actions_for_agenda(meeting)
            if not stats and not carried and not due:
                raise ValidationFailed(
                    {
                        "build": "There is no evidence to build an agenda from yet: no issue is open for a decision "
                        "(New or Investigating) and no action is due. Add items yourself, or build it after "
                        "business support have grouped feedback into issues."
                    }
                )
            for old in [item for item in meeting.items if item.source == "proposed"]:
                meeting.items.remove(old)
            self.session.flush()

            standing_kinds = [
                kind
                for kind in (
                    meeting.series.standing_items if meeting.series else [k.value for k in STANDING_KINDS]
                )
                if kind != ItemKind.AOB
            ]
            kept_kinds = {item.kind for item in kept}
            standing_kinds = [kind for kind in standing_kinds if kind not in kept_kinds]
            if due and ItemKind.ACTIONS_DUE not in kept_kinds:
                standing_kinds.append(ItemKind.ACTIONS_DUE.value)
            aob = (
                meeting.series is None or ItemKind.AOB in meeting.series.standing_items
            ) and ItemKind.AOB not in kept_kinds
            all_standing = standing_kinds + ([ItemKind.AOB.value] if aob else [])
            standing_times = agenda.standing_minutes(all_standing, len(due), meeting.duration_minutes)
            times = dict(zip(all_standing, standing_times, strict=True))
            available = meeting.duration_minutes - sum(standing_times) - sum(item.minutes for item in kept)

            candidates = self._issue_candidates(meeting, stats, carried, on_agenda, window, today)
            taken, left = agenda.fill(candidates, available)
            # The evidence of the proposed issues, and fresh evidence for the kept ones (carried or the chair's).
            kept_issue_ids = [item.issue_id for item in kept if item.issue_id is not None]
            wanted_ids = list(dict.fromkeys([c.issue_id for c in taken] + kept_issue_ids))
            missing = [issue_id for issue_id in wanted_ids if issue_id not in stats]
            evidence = agenda.evidence_for(
                self.session,
                {**stats, **(agenda.gather(self.session, window, issue_ids=missing) if missing else {})},
                wanted_ids,
                window,
                today,
            )
            for item in kept:
                if item.issue_id in evidence:
                    item.evidence = {**evidence[item.issue_id], "why": item.evidence.get("why", item.source)}
            # Standing items, actions due, carried-over items, the builder's issues, the chair's own, AOB.
            before = [item for item in kept if item.kind in {k.value for k in STANDING_KINDS}]
            carried_kept = [item for item in kept if item.source == "carried" and item not in before]
            after = [item for item in kept if item not in before and item not in carried_kept]
            new_items = [
                AgendaItem(
                    kind=kind,
                    minutes=times[kind],
                    source="proposed",
                    title="",
                    evidence={"due_actions": [a.id for a in due]} if kind == ItemKind.ACTIONS_DUE else {},
                )
                for kind in standing_kinds
            ]
            issue_items = [
                AgendaItem(
                    kind=ItemKind.ISSUE,
                    issue_id=c.issue_id,
                    minutes=c.minutes,
                    source="proposed",
                    score=c.score,
                    evidence={**evidence.get(c.issue_id, {}), "why": c.reason},
                    carried_over_from_id=c.carried_from_id,
                    carry_over_count=c.carry_over_count,
                )
                for c in taken
            ]
            tail = (
                [AgendaItem(kind=ItemKind.AOB.value, minutes=times[ItemKind.AOB.value], source="proposed")]
                if aob
                else []
            )
            ordered = before + new_items + carried_kept + issue_items + after + tail
            for item in new_items + issue_items + tail:
                meeting.items.append(item)
            self._renumber(ordered)
            meeting.items.sort(key=lambda item: item.position)
            self._touch(meeting)
            self.session.flush()
            left_refs = [stats[c.issue_id].ref for c in left if c.issue_id in stats]
            self._audit(actor, "meeting.agenda_built", meeting, items=len(ordered), left_out=left_refs[:20])
        return BuildResult(
            added=len(new_items) + len(issue_items) + len(tail), kept=len(kept), left_out=left_refs
        )

    def _carry_candidates(self, meeting: Meeting, on_agenda: set[int | None]) -> list[AgendaItem]:
        """Issue items of the last meeting left without an outcome, not already on this agenda."""
        previous = self.previous_meeting(meeting)
        if previous is None:
            return []
        return [
            item
            for item in previous.items
            if item.kind == ItemKind.ISSUE and item.outcome is None and item.issue_id not in on_agenda
        ]

    def _issue_candidates(
        self,
        meeting: Meeting,
        stats: dict[int, agenda.IssueStats],
        carried: list[AgendaItem],
        on_agenda: set[int | None],
        window: agenda.Window,
        today: dt.date,
    ) -> list[agenda.ProposedItem]:
        scored = {
            issue_id: agenda.priority_score(item, today)
            for issue_id, item in stats.items()
            if issue_id not in on_agenda
        }
        candidates = []
        seen: set[int] = set()
        for item in carried:
            score = scored.get(item.issue_id or 0, item.score or 0.0)
            candidates.append(
                agenda.ProposedItem(
                    kind=ItemKind.ISSUE,
                    issue_id=item.issue_id,
                    minutes=agenda.minutes_for(score),
                    score=score,
                    carried_from_id=item.id,
                    carry_over_count=item.carry_over_count + 1,
                    reason="carried",
                )
            )
            seen.add(item.issue_id or 0)
        severe = [
            issue_id
            for issue_id, item in stats.items()
            if issue_id in scored
            and issue_id not in seen
            and item.severity in (1, 2)
            and item.created_at >= window.since
        ]
        for issue_id in sorted(severe, key=lambda i: (-scored[i], i)):
            candidates.append(
                agenda.ProposedItem(
                    kind=ItemKind.ISSUE,
                    issue_id=issue_id,
                    minutes=agenda.minutes_for(scored[issue_id]),
                    score=scored[issue_id],
                    reason="new-severe",
                )
            )
            seen.add(issue_id)
        rest = [
            issue_id
            for issue_id in scored
            if issue_id not in seen and stats[issue_id].feedback + stats[issue_id].me_toos > 0
        ]
        for issue_id in sorted(rest, key=lambda i: (-scored[i], i)):
            candidates.append(
                agenda.ProposedItem(
                    kind=ItemKind.ISSUE,
                    issue_id=issue_id,
                    minutes=agenda.minutes_for(scored[issue_id]),
                    score=scored[issue_id],
                    reason="score",
                )
            )
        return candidates

    def add_item(
        self,
        meeting_id: object,
        version: object,
        *,
        kind: object,
        issue_ref: object = None,
        title: object = None,
        minutes: object = None,
        actor: User,
    ) -> AgendaItem:
        """The chair adds an issue (by its ref) or an item of any other business. Kept by rebuilds."""
        errors: dict[str, str] = {}
        kind_value = clean_text(kind) or ItemKind.ISSUE.value
        if kind_value not in {ItemKind.ISSUE.value, ItemKind.AOB.value}:
            errors["kind"] = "Choose an issue or any other business"
        number = _whole_number(minutes) if clean_text(minutes) else 5
        if number is None or number < 1:
            errors["minutes"] = "Enter the minutes as a whole number, 1 or more"
        with self._write():
            meeting = self._editable(meeting_id, version)
            issue = None
            clean_title = ""
            if kind_value == ItemKind.ISSUE:
                ref = normalise_issue_ref(issue_ref)
                issue = self.session.scalar(sa.select(Issue).where(Issue.ref == ref)) if ref else None
                if not clean_text(issue_ref):
                    errors["issue_ref"] = "Enter the reference of the issue to add, like ISS-0042"
                elif issue is None:
                    errors["issue_ref"] = f"There is no issue {clean_text(issue_ref)[:20]}"
                elif any(item.issue_id == issue.id for item in meeting.items):
                    errors["issue_ref"] = f"{issue.ref} is already on the agenda"
            elif kind_value == ItemKind.AOB:
                clean_title = _one_line(title)
                if not clean_title:
                    errors["title"] = "Enter what the item is about"
                elif len(clean_title) > TITLE_MAX:
                    errors["title"] = f"The title must be {TITLE_MAX} characters or fewer"
            if number and number >= 1 and meeting.allotted_minutes + number > meeting.duration_minutes:
                errors["minutes"] = self._over_message(meeting, meeting.allotted_minutes + number)
            if errors:
                raise ValidationFailed(errors)
            evidence: dict[str, Any] = {}
            if issue is not None:
                window = self.window(meeting)
                stats = agenda.gather(self.session, window, issue_ids=[issue.id])
                evidence = agenda.evidence_for(self.session, stats, [issue.id], window, today_in_london())[
                    issue.id
                ]
                evidence["why"] = "chair"
            item = AgendaItem(
                kind=kind_value,
                issue_id=issue.id if issue else None,
                title=clean_title,
                minutes=number,
                source="manual",
                evidence=evidence,
                position=len(meeting.items) + 1,
            )
            meeting.items.append(item)
            self._touch(meeting)
            self.session.flush()
            self._audit(
                actor,
                "meeting.item_added",
                meeting,
                item=item.id,
                kind=kind_value,
                issue=issue.ref if issue else None,
                minutes=number,
            )
        return item

    @staticmethod
    def _over_message(meeting: Meeting, total: int) -> str:
        return (
            f"That would make the agenda {total} minutes, longer than the meeting ({meeting.duration_minutes} "
            f"minutes). Give it fewer minutes, or take time from another item."
        )

    def remove_item(self, meeting_id: object, version: object, item_id: object, actor: User) -> None:
        with self._write():
            meeting = self._editable(meeting_id, version)
            item = self.item(meeting, item_id)
            meeting.items.remove(item)
            self._renumber(meeting.items)
            self._touch(meeting)
            self.session.flush()
            self._audit(
                actor,
                "meeting.item_removed",
                meeting,
                item=item.id,
                kind=item.kind,
                issue=item.issue.ref if item.issue else None,
            )

    def move_item(
        self, meeting_id: object, version: object, item_id: object, direction: object, actor: User
    ) -> None:
        """Move one item up or down one place (the keyboard and no-JavaScript way to reorder)."""
        if direction not in {"up", "down"}:
            raise ValidationFailed({"direction": "Move an item up or down"})
        with self._write():
            meeting = self._editable(meeting_id, version)
            items = list(meeting.items)
            item = self.item(meeting, item_id)
            index = items.index(item)
            other = index - 1 if direction == "up" else index + 1
            if 0 <= other < len(items):
                items[index], items[other] = items[other], items[index]
            self._apply_order(meeting, items, actor)

    def reorder(self, meeting_id: object, version: object, item_ids: Sequence[object], actor: User) -> None:
        """Put the items in the order given (drag and drop sends the whole order): all of them, once each."""
        with self._write():
            meeting = self._editable(meeting_id, version)
            wanted = [_whole_number(value) for value in item_ids]
            current = {item.id: item for item in meeting.items}
            if sorted(i for i in wanted if i is not None) != sorted(current) or None in wanted:
                raise Conflict(
                    "The agenda changed while you were reordering it (an item was added or removed), so the new "
                    "order was not saved. Check the latest agenda and reorder it again."
                )
            self._apply_order(meeting, [current[i] for i in wanted], actor)

    def _apply_order(self, meeting: Meeting, items: list[AgendaItem], actor: User) -> None:
        self._renumber(items)
        meeting.items.sort(key=lambda item: item.position)
        self._touch(meeting)
        self.session.flush()
        self._audit(actor, "meeting.reordered", meeting, order=[item.id for item in items])

    def set_minutes(
        self, meeting_id: object, version: object, item_id: object, minutes: object, actor: User
    ) -> None:
        with self._write():
            meeting = self._editable(meeting_id, version)
            item = self.item(meeting, item_id)
            number = _whole_number(minutes)
            if number is None or number < 1:
                raise ValidationFailed(
                    {f"minutes-{item.id}": "Enter the minutes as a whole number, 1 or more"}
                )
            total = meeting.allotted_minutes - item.minutes + number
            if total > meeting.duration_minutes:
                raise ValidationFailed({f"minutes-{item.id}": self._over_message(meeting, total)})
            before = item.minutes
            item.minutes = number
            self._touch(meeting)
            self.session.flush()
            self._audit(
                actor, "meeting.minutes_changed", meeting, item=item.id, before=before, minutes=number
            )

    def set_item_details(
        self,
        meeting_id: object,
        version: object,
        item_id: object,
        *,
        presenter: object,
        notes: object,
        actor: User,
    ) -> AgendaItem:
        """Who presents an item, and the chair's notes for it (shown on the agenda and in the pack)."""
        with self._write():
            meeting = self._editable(meeting_id, version)
            item = self.item(meeting, item_id)
            errors: dict[str, str] = {}
            person = None
            if clean_text(presenter):
                number = _whole_number(presenter)
                person = next((p for p in self.people() if p.id == number), None)
                if person is None:
                    errors[f"presenter-{item.id}"] = "Choose the presenter from the list"
            text = clean_text(notes)
            if len(text) > TEXT_MAX:
                errors[f"notes-{item.id}"] = (
                    f"Write {TEXT_MAX:,} characters or fewer (you wrote {len(text):,})"
                )
            if errors:
                raise ValidationFailed(errors)
            before = {"presenter": item.presenter.email if item.presenter else None, "notes": item.notes}
            item.presenter_id = person.id if person else None
            item.notes = text
            self._touch(meeting)
            self.session.flush()
            audit.record(
                self.session,
                actor_id=actor.id,
                action="meeting.item_changed",
                record_type="meeting",
                record_ref=meeting_ref(meeting.id),
                before={"item": item.id, **before},
                after={"item": item.id, "presenter": person.email if person else None, "notes": text},
            )
        return item

    def publish_agenda(self, meeting_id: object, version: object, actor: User) -> Meeting:
        with self._write():
            meeting = self._editable(meeting_id, version)
            if not meeting.items:
                raise ValidationFailed(
                    {
                        "publish": "The agenda has no items, so it cannot be published. Build it or add items first."
                    }
                )
            meeting.state = MeetingState.AGENDA_PUBLISHED
            meeting.agenda_published_at = utcnow()
            self._touch(meeting)
            self.session.flush()
            self._audit(actor, "meeting.agenda_published", meeting, items=len(meeting.items))
        return meeting

    # Live mode ----------------------------------------------------------------------------------------

    def _live(self, meeting_id: object) -> Meeting:
        meeting = self.get(meeting_id)
        if meeting.state == MeetingState.MINUTES_PUBLISHED:
            raise Conflict(
                "The minutes of this meeting are published: amend them from the meeting page instead."
            )
        if meeting.ended_at is not None:
            raise Conflict("This meeting has ended. Publish its minutes from the meeting page.")
        if not meeting.items:
            raise Conflict("The agenda has no items yet: build it or add items before the meeting starts.")
        return meeting

    def open_item(self, meeting_id: object, item_id: object, actor: User) -> AgendaItem:
        """Start the meeting (if it has not started) and the item's clock (if it has not started)."""
        with self._write():
            meeting = self._live(meeting_id)
            item = self.item(meeting, item_id)
            now = utcnow()
            if meeting.state != MeetingState.IN_SESSION:
                meeting.state = MeetingState.IN_SESSION
                meeting.started_at = now
                self._audit(actor, "meeting.started", meeting)
            if item.started_at is None:
                item.started_at = now
        return item

    def record_outcome(
        self,
        meeting_id: object,
        item_id: object,
        *,
        outcome: object,
        reason: object = None,
        notes: object = None,
        actor: User,
    ) -> AgendaItem:
        """Exactly one outcome per item (recording another replaces it); won't fix needs a reason."""
        errors: dict[str, str] = {}
        value = clean_text(outcome)
        if value not in {o.value for o in Outcome}:
            errors["outcome"] = "Choose the outcome: one of the options"
        clean_reason = clean_text(reason)
        clean_notes = clean_text(notes)
        if value == Outcome.WONT_FIX and not clean_reason:
            errors["outcome_reason"] = "Give the reason for “Won't fix”: the staff who raised it will see it"
        for field, text in (("outcome_reason", clean_reason), ("decision_notes", clean_notes)):
            if len(text) > TEXT_MAX:
                errors[field] = f"Write {TEXT_MAX:,} characters or fewer (you wrote {len(text):,})"
        if errors:
            raise ValidationFailed(errors)
        with self._write():
            meeting = self._live(meeting_id)
            item = self.item(meeting, item_id)
            before = {
                "outcome": item.outcome,
                "outcome_reason": item.outcome_reason,
                "decision_notes": item.decision_notes,
            }
            item.outcome = value
            item.outcome_reason = clean_reason if Outcome(value).needs_reason or clean_reason else None
            item.decision_notes = clean_notes
            item.decided_at = utcnow()
            item.decided_by_id = actor.id
            if meeting.state != MeetingState.IN_SESSION:
                meeting.state = MeetingState.IN_SESSION
                meeting.started_at = meeting.started_at or utcnow()
            self.session.flush()
            audit.record(
                self.session,
                actor_id=actor.id,
                action="meeting.outcome_recorded",
                record_type="meeting",
                record_ref=meeting_ref(meeting.id),
                before={"item": item.id, **before},
                after={
                    "item": item.id,
                    "outcome": value,
                    "outcome_reason": item.outcome_reason,
                    "decision_notes": clean_notes,
                },
            )
        return item

    def add_action(
        self,
        meeting_id: object,
        item_id: object,
        *,
        description: object,
        owner: object,
        due_on: object,
        actor: User,
        today: dt.date | None = None,
    ) -> Action:
        """An action with an owner (someone who can attend) and a due date that is not in the past."""
        errors: dict[str, str] = {}
        text = clean_text(description)
        if not text:
            errors["description"] = "Enter what needs to be done"
        elif len(text) > TEXT_MAX:
            errors["description"] = f"Write {TEXT_MAX:,} characters or fewer"
        owner_user = None
        owner_id = _whole_number(owner)
        if not clean_text(owner):
            errors["owner"] = "Choose who owns the action"
        else:
            owner_user = next((person for person in self.people() if person.id == owner_id), None)
            if owner_user is None and isinstance(owner, str) and "@" in owner:
                owner_user = next(
                    (p for p in self.people() if p.email.lower() == owner.strip().lower()), None
                )
            if owner_user is None:
                errors["owner"] = (
                    "Choose the owner from the list of board members, business support and admins"
                )
        day = parse_day(due_on)
        today = today or today_in_london()
        if not clean_text(due_on):
            errors["due_on"] = "Enter the date the action is due"
        elif day is None:
            errors["due_on"] = "Enter a real date, like 11 December 2026"
        elif day < today:
            errors["due_on"] = f"The due date must be today ({today:%-d %B %Y}) or later"
        if errors:
            raise ValidationFailed(errors)
        with self._write():
            meeting = self.get(meeting_id)
            if meeting.state == MeetingState.MINUTES_PUBLISHED:
                raise Conflict("The minutes of this meeting are published, so actions cannot be added to it.")
            item = self.item(meeting, item_id)
            action = Action(
                meeting_id=meeting.id,
                agenda_item_id=item.id,
                issue_id=item.issue_id,
                description=text,
                owner_id=owner_user.id,
                due_on=day,
                status=ActionStatus.OPEN,
                created_by_id=actor.id,
            )
            self.session.add(action)
            self.session.flush()
            audit.record(
                self.session,
                actor_id=actor.id,
                action="action.created",
                record_type="action",
                record_ref=str(action.id),
                after={
                    "meeting": meeting.id,
                    "item": item.id,
                    "owner": owner_user.email,
                    "due_on": day.isoformat(),
                    "description": text,
                },
            )
        return action

    def end_meeting(self, meeting_id: object, actor: User) -> Meeting | None:
        """End the meeting: items without an outcome are carried over to the series' next meeting (made
        from the cadence if there is none). Returns that next meeting (None when nothing was carried)."""
        with self._write():
            meeting = self._live(meeting_id)
            next_meeting = self._end(meeting, actor)
        return next_meeting

    def _end(self, meeting: Meeting, actor: User) -> Meeting | None:
        now = utcnow()
        meeting.ended_at = now
        meeting.state = MeetingState.IN_SESSION
        meeting.started_at = meeting.started_at or now
        undecided = [item for item in meeting.items if item.kind == ItemKind.ISSUE and item.outcome is None]
        next_meeting = None
        if undecided:
            next_meeting = self._next_meeting(meeting, actor)
            existing = {item.issue_id: item for item in next_meeting.items if item.issue_id is not None}
            for item in undecided:
                found = existing.get(item.issue_id)
                if found is not None:  # already on the next agenda: it now counts as carried over
                    if found.carried_over_from_id is None:
                        found.source = "carried"
                        found.carried_over_from_id = item.id
                        found.carry_over_count = item.carry_over_count + 1
                    continue
                next_meeting.items.append(
                    AgendaItem(
                        kind=ItemKind.ISSUE,
                        issue_id=item.issue_id,
                        minutes=item.minutes,
                        source="carried",
                        carried_over_from_id=item.id,
                        carry_over_count=item.carry_over_count + 1,
                        evidence=item.evidence,
                        score=item.score,
                        position=len(next_meeting.items) + 1,
                    )
                )
            self._fit_carried(next_meeting)
            self._touch(next_meeting)
        self.session.flush()
        self._audit(
            actor,
            "meeting.ended",
            meeting,
            carried=[item.id for item in undecided],
            next_meeting=next_meeting.id if next_meeting else None,
        )
        return next_meeting

    def _fit_carried(self, meeting: Meeting) -> None:
        """Carried-over items go after the standing items; if they make the agenda longer than the meeting,
        the builder's lowest-priority proposals make way first, then the longest items give up a minute at a
        time: the total never exceeds the meeting's length."""
        standing = {k.value for k in STANDING_KINDS} | {ItemKind.ACTIONS_DUE.value}
        items = list(meeting.items)
        head = [item for item in items if item.kind in standing]
        carried = [item for item in items if item.source == "carried" and item not in head]
        rest = [item for item in items if item not in head and item not in carried]
        over = sum(item.minutes for item in items) - meeting.duration_minutes
        for item in reversed([i for i in rest if i.source == "proposed" and i.kind == ItemKind.ISSUE]):
            if over <= 0:
                break
            rest.remove(item)
            meeting.items.remove(item)
            over -= item.minutes
        ordered = head + carried + rest
        while over > 0:
            longest = max(ordered, key=lambda item: item.minutes)
            if longest.minutes <= 1:
                break
            longest.minutes -= 1
            over -= 1
        self._renumber(ordered)
        meeting.items.sort(key=lambda item: item.position)

    def _next_meeting(self, meeting: Meeting, actor: User) -> Meeting:
        series = meeting.series
        if series is not None:
            found = self.session.scalars(
                sa.select(Meeting)
                .where(
                    Meeting.series_id == series.id,
                    Meeting.scheduled_for > meeting.scheduled_for,
                    Meeting.state.in_([MeetingState.PLANNING, MeetingState.AGENDA_PUBLISHED]),
                )
                .order_by(Meeting.scheduled_for)
                .limit(1)
            ).first()
            if found is not None:
                return found
        interval = Cadence(series.cadence).interval if series else dt.timedelta(weeks=2)
        # The same London wall-clock time, one cadence later (across a clock change too).
        when = (london(meeting.scheduled_for) + interval).replace(tzinfo=None).replace(tzinfo=LONDON)
        created = Meeting(
            title=series.title if series else meeting.title,
            series_id=series.id if series else None,
            scheduled_for=when.astimezone(dt.UTC),
            duration_minutes=series.usual_minutes if series else meeting.duration_minutes,
            chair_id=meeting.chair_id,
            state=MeetingState.PLANNING,
        )
        self.session.add(created)
        self.session.flush()
        self._audit(
            actor,
            "meeting.created",
            created,
            title=created.title,
            from_cadence_of=meeting.id,
            scheduled_for=created.scheduled_for.isoformat(),
        )
        return created

    # Minutes ------------------------------------------------------------------------------------------

    def publish_minutes(self, meeting_id: object, actor: User) -> PublishResult:
        """In one transaction: end the meeting if it has not ended (carrying items over), freeze the minutes,
        move each decided issue's status where its outcome implies it (the issue workflow's rules, a new
        issue version and an audit event, as IssueService.change() does), and tell every contributor of
        every decided issue what was decided and what happens next ("you said, we did")."""
        from feedback_portal.notifications.services import notify_contributors

        with self._write():
            meeting = self.get(meeting_id)
            if meeting.state == MeetingState.MINUTES_PUBLISHED:
                raise Conflict("The minutes of this meeting are already published. Amend them instead.")
            decided = [item for item in meeting.items if item.outcome]
            if not decided:
                raise ValidationFailed(
                    {
                        "publish_minutes": "No item has an outcome yet, so there are no minutes to publish. Record the "
                        "outcomes in live mode first."
                    }
                )
            if meeting.ended_at is None:
                self._end(meeting, actor)
            changed, unchanged, told = [], [], 0
            for item in decided:
                if item.issue is None:
                    continue
                issue = item.issue
                moved = self._move_issue(issue, item, actor)
                (changed if moved else unchanged).append(issue.ref or "")
                outcome = Outcome(item.outcome)
                told += notify_contributors(
                    self.session,
                    issue,
                    {
                        "status": issue.status,
                        "reason": "\n\n".join(
                            filter(
                                None,
                                [
                                    f"The implementation board decided: {outcome.label}.",
                                    item.outcome_reason,
                                    item.decision_notes,
                                ],
                            )
                        ),
                        "public_response": "What happens next: " + NEXT_STEPS[outcome],
                    },
                )
            meeting.state = MeetingState.MINUTES_PUBLISHED
            meeting.minutes_published_at = utcnow()
            meeting.minutes_published_by_id = actor.id
            self.session.flush()
            self._audit(
                actor,
                "meeting.minutes_published",
                meeting,
                issues_changed=changed,
                issues_unchanged=unchanged,
                people_told=told,
            )
        return PublishResult(changed, [ref for ref in unchanged if ref not in changed], told)

    def _move_issue(self, issue: Issue, item: AgendaItem, actor: User) -> bool:
        """Set the issue's status from the outcome, if the workflow allows it; True if it changed."""
        outcome = Outcome(item.outcome)
        wanted = outcome.issue_status
        if wanted is None:
            return False
        if (
            outcome is Outcome.TRAINING_GUIDANCE
            and "train" in f"{item.decision_notes} {item.outcome_reason}".lower()
        ):
            wanted = IssueStatus.TRAINING_ARRANGED
        current = IssueStatus(issue.status)
        if wanted == current or issue.merged_into_id is not None or transition_problem(current, wanted):
            return False
        reason = (
            (item.outcome_reason or item.decision_notes or outcome.label) if wanted.needs_reason else None
        )
        before = {"version": issue.version, "status": issue.status, "status_reason": issue.status_reason}
        issue.status = wanted.value
        issue.status_reason = reason
        self.session.flush()
        audit.record(
            self.session,
            actor_id=actor.id,
            action="issue.updated",
            record_type="issue",
            record_ref=issue.ref or "",
            before=before,
            after={
                "version": issue.version,
                "status": issue.status,
                "status_reason": reason,
                "meeting": meeting_ref(item.meeting_id),
            },
        )
        return True

    def amend_minutes(
        self, meeting_id: object, item_id: object, *, decision_notes: object, reason: object, actor: User
    ) -> MinutesAmendment:
        """Published minutes are frozen: a change to an item's decision notes is recorded as an amendment."""
        errors: dict[str, str] = {}
        notes = clean_text(decision_notes)
        why = clean_text(reason)
        if not why:
            errors["reason"] = "Say why the minutes are being amended"
        if len(notes) > TEXT_MAX:
            errors["decision_notes"] = f"Write {TEXT_MAX:,} characters or fewer"
        if errors:
            raise ValidationFailed(errors)
        with self._write():
            meeting = self.get(meeting_id)
            if meeting.state != MeetingState.MINUTES_PUBLISHED:
                raise Conflict("The minutes are not published yet: change the item in live mode instead.")
            item = self.item(meeting, item_id)
            if notes == item.decision_notes:
                raise ValidationFailed({"decision_notes": "Change the decision notes, or go back"})
            amendment = MinutesAmendment(
                meeting_id=meeting.id,
                agenda_item_id=item.id,
                field="decision_notes",
                before=item.decision_notes,
                after=notes,
                reason=why,
                amended_by_id=actor.id,
            )
            item.decision_notes = notes
            self.session.add(amendment)
            self.session.flush()
            self._audit(actor, "meeting.minutes_amended", meeting, item=item.id, reason=why)
        return amendment

    def withheld_quotes(self, items: Sequence[AgendaItem]) -> frozenset[str]:
        """Refs quoted in the agenda's evidence snapshots whose feedback is now held or restricted (flagged
        after the agenda was built): pages, the pack and the API leave those quotes out."""
        refs = {
            quote.get("ref")
            for item in items
            for quote in (item.evidence or {}).get("quotes", [])
            if quote.get("ref")
        }
        if not refs:
            return frozenset()
        return frozenset(
            self.session.scalars(
                sa.select(Feedback.ref).where(
                    Feedback.ref.in_(refs), sa.or_(Feedback.held.is_(True), Feedback.restricted.is_(True))
                )
            )
        )

    def amendments(self, meeting: Meeting) -> list[MinutesAmendment]:
        return list(
            self.session.scalars(
                sa.select(MinutesAmendment)
                .where(MinutesAmendment.meeting_id == meeting.id)
                .order_by(MinutesAmendment.amended_at, MinutesAmendment.id)
            ).unique()
        )

    # Actions and decisions ----------------------------------------------------------------------------

    def actions(
        self, *, show: str = "open", owner: User | None = None, today: dt.date | None = None
    ) -> list[Action]:
        """open (not done), due (open, due within 7 days), overdue (open, past due), done, or all."""
        today = today or today_in_london()
        query = sa.select(Action)
        if show == "open":
            query = query.where(Action.status == ActionStatus.OPEN)
        elif show == "due":
            query = query.where(
                Action.status == ActionStatus.OPEN,
                Action.due_on >= today,
                Action.due_on <= today + dt.timedelta(days=7),
            )
        elif show == "overdue":
            query = query.where(Action.status == ActionStatus.OPEN, Action.due_on < today)
        elif show == "done":
            query = query.where(Action.status == ActionStatus.DONE)
        elif show != "all":
            raise ValidationFailed({"show": "Choose open, due, overdue, done or all"})
        if owner is not None:
            query = query.where(Action.owner_id == owner.id)
        return list(self.session.scalars(query.order_by(Action.due_on, Action.id)).unique())

    def get_action(self, action_id: object) -> Action:
        number = _whole_number(action_id)
        action = self.session.get(Action, number) if number is not None else None
        if action is None:
            raise NotFound("There is no such action")
        return action

    def mark_done(self, action_id: object, actor: User) -> Action:
        with self._write():
            action = self.get_action(action_id)
            if action.status == ActionStatus.DONE:
                raise Conflict("This action is already marked done.")
            action.status = ActionStatus.DONE
            action.done_at = utcnow()
            action.done_by_id = actor.id
            self.session.flush()
            audit.record(
                self.session,
                actor_id=actor.id,
                action="action.done",
                record_type="action",
                record_ref=str(action.id),
                before={"status": "open"},
                after={"status": "done"},
            )
        return action

    def decisions(self, q: str = "", *, limit: int = 200) -> list[AgendaItem]:
        """Every item with an outcome, newest meeting first; `q` matches decision, reason or issue title."""
        query = (
            sa.select(AgendaItem)
            .join(Meeting, AgendaItem.meeting_id == Meeting.id)
            .outerjoin(Issue, AgendaItem.issue_id == Issue.id)
            .where(AgendaItem.outcome.is_not(None))
        )
        words = _one_line(q)[:200]
        if words:
            pattern = "%" + words.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            query = query.where(
                sa.or_(
                    AgendaItem.decision_notes.ilike(pattern, escape="\\"),
                    AgendaItem.outcome_reason.ilike(pattern, escape="\\"),
                    AgendaItem.title.ilike(pattern, escape="\\"),
                    Issue.title.ilike(pattern, escape="\\"),
                    Issue.ref.ilike(pattern, escape="\\"),
                )
            )
        query = query.order_by(Meeting.scheduled_for.desc(), AgendaItem.position).limit(limit)
        return list(self.session.scalars(query.options(orm.joinedload(AgendaItem.meeting))).unique())

    def discussions_of(self, issue: Issue) -> list[Discussion]:
        """Which meetings had this issue on the agenda and what they decided, newest first."""
        items = self.session.scalars(
            sa.select(AgendaItem)
            .join(Meeting, AgendaItem.meeting_id == Meeting.id)
            .where(AgendaItem.issue_id == issue.id)
            .options(orm.joinedload(AgendaItem.meeting))
            .order_by(Meeting.scheduled_for.desc())
        ).unique()
        return [Discussion(item, item.meeting) for item in items]


def _series_audit(series: MeetingSeries) -> dict[str, Any]:
    return {
        "title": series.title,
        "cadence": series.cadence,
        "usual_minutes": series.usual_minutes,
        "standing_items": list(series.standing_items),
        "attendees": [user.email for user in series.attendees],
    }


def values_of(data: Mapping[str, Any], *fields: str) -> dict[str, str]:
    return {field: str(data.get(field) or "") for field in fields}
