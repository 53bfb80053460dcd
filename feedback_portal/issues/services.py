"""Issue rules: grouping feedback into issues, "me too", merges that can be undone, and an issue's evidence.

Grouping never rewrites or removes feedback: it only sets which issue a feedback belongs to (and its
status). Counts are of people: each named or business-support-only submitter and each "me too" user
once, however many times they spoke, and each anonymous feedback as one person (nobody can know who).
"""

from __future__ import annotations

import collections
import dataclasses
import datetime as dt
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy import exc, orm
from sqlalchemy.orm.exc import StaleDataError

from feedback_portal.accounts.models import Role, Team, User
from feedback_portal.audit import history
from feedback_portal.audit import models as audit
from feedback_portal.db import begin_write, utcnow
from feedback_portal.errors import Conflict, Forbidden, NotFound, ValidationFailed
from feedback_portal.feedback import services as feedback_services
from feedback_portal.feedback.models import Comment, Feedback
from feedback_portal.feedback.services import Vocabularies, clean_text
from feedback_portal.feedback.vocabulary import FeedbackStatus
from feedback_portal.indexing import changelog
from feedback_portal.issues.models import REASON_STATUSES, Issue, IssueMerge, IssueStatus, MeToo, Severity
from feedback_portal.issues.notify import NotificationHook
from feedback_portal.triage import triaged

TITLE_MAX = 150
SUMMARY_MAX = 5000
SHORT_MAX = 60
PAGE_SIZE = 25
TREND_WEEKS = 12
EDITABLE_FIELDS = ("title", "summary", "module", "supplier_ref", "target_release", "public_response")
# Everything change() takes: the details, and the triage fields.
CHANGEABLE_FIELDS = ("status", "status_reason", "severity", "owner", *EDITABLE_FIELDS)
FIELD_NAMES = {
    "title": "The title",
    "summary": "The summary",
    "module": "The part of the CMS",
    "supplier_ref": "The supplier reference",
    "target_release": "The target release",
    "public_response": "The public response",
    "status": "The status",
    "status_reason": "The reason",
    "severity": "The severity",
    "owner": "The owner",
}
# What the pages call each field.
FIELD_LABELS = {
    "status": "Status",
    "status_reason": "Reason for the status",
    "severity": "Severity",
    "owner": "Owner",
    "title": "Title",
    "summary": "Summary",
    "module": "Part of the CMS",
    "supplier_ref": "Supplier reference",
    "target_release": "Target release",
    "public_response": "Public response",
}
SEVERITY_MESSAGE = "Choose a severity: 1 (blocks work), 2 (a workaround exists) or 3 (minor)"
# Who may own an issue.
OWNER_ROLES = frozenset({Role.BUSINESS_SUPPORT, Role.BOARD, Role.ADMIN})

# The issue workflow: the statuses an issue may move to from each status (staying put is always allowed).
#
#   new → investigating → change requested → fix scheduled → fixed → closed
#
# - Forward along that path may skip steps, up to fixed: new → fix scheduled when the supplier already has a
#   fix planned, new → fixed when a release has already fixed it. Closed is never skipped to: it means the
#   work is finished, so an issue is closed after it is fixed or decided, not straight from an open status.
# - While open (investigating, change requested, fix scheduled) it may step back, e.g. fix scheduled →
#   change requested when a release slips, or → investigating when the supplier rejects the change. Never
#   back to new: it has been looked at.
# - From new or any open status it may be decided instead: won't fix, guidance issued or training arranged.
#   Those three need a reason (status_reason), shown to the staff who gave the feedback. A decision may be
#   revised to another of the three (with its own reason), or closed.
# - Fixed, closed and the decisions are finished: the only way back is reopening as investigating (the fix
#   did not work, the guidance did not help). Closed → fix scheduled and the like are refused: reopen first.
S = IssueStatus
TRANSITIONS: dict[IssueStatus, frozenset[IssueStatus]] = {
    S.NEW: frozenset({
        S.INVESTIGATING, S.CHANGE_REQUESTED, S.FIX_SCHEDULED, S.FIXED,
        S.WONT_FIX, S.GUIDANCE_ISSUED, S.TRAINING_ARRANGED,
    }),
    S.INVESTIGATING: frozenset({
        S.CHANGE_REQUESTED, S.FIX_SCHEDULED, S.FIXED,
        S.WONT_FIX, S.GUIDANCE_ISSUED, S.TRAINING_ARRANGED,
    }),
    S.CHANGE_REQUESTED: frozenset({
        S.INVESTIGATING, S.FIX_SCHEDULED, S.FIXED,
        S.WONT_FIX, S.GUIDANCE_ISSUED, S.TRAINING_ARRANGED,
    }),
    S.FIX_SCHEDULED: frozenset({
        S.INVESTIGATING, S.CHANGE_REQUESTED, S.FIXED,
        S.WONT_FIX, S.GUIDANCE_ISSUED, S.TRAINING_ARRANGED,
    }),
    S.FIXED: frozenset({S.CLOSED, S.INVESTIGATING}),
    S.CLOSED: frozenset({S.INVESTIGATING}),
    S.WONT_FIX: frozenset({S.INVESTIGATING, S.CLOSED, S.GUIDANCE_ISSUED, S.TRAINING_ARRANGED}),
    S.GUIDANCE_ISSUED: frozenset({S.INVESTIGATING, S.CLOSED, S.WONT_FIX, S.TRAINING_ARRANGED}),
    S.TRAINING_ARRANGED: frozenset({S.INVESTIGATING, S.CLOSED, S.WONT_FIX, S.GUIDANCE_ISSUED}),
}
del S
_OPEN = frozenset({IssueStatus.INVESTIGATING, IssueStatus.CHANGE_REQUESTED, IssueStatus.FIX_SCHEDULED})
_FINISHED = frozenset({IssueStatus.FIXED, IssueStatus.CLOSED, *REASON_STATUSES})


def next_statuses(current: str) -> list[IssueStatus]:
    """The statuses an issue in `current` may move to, in workflow order (the order of IssueStatus)."""
    allowed = TRANSITIONS[IssueStatus(current)]
    return [status for status in IssueStatus if status in allowed]


def transition_problem(current: IssueStatus, wanted: IssueStatus) -> str | None:
    """Why an issue cannot go from `current` to `wanted`, in words for the person; None if it can."""
    if wanted == current or wanted in TRANSITIONS[current]:
        return None
    here, there = current.label, wanted.label
    if wanted == IssueStatus.NEW:
        return (
            "An issue cannot go back to New once it has been looked at. "
            "Choose Investigating to look at it again."
        )
    if current in _FINISHED and wanted in _OPEN:
        return (
            f"This issue is {here}, so it cannot go straight to {there}. "
            "Reopen it as Investigating first, then move it on."
        )
    if wanted == IssueStatus.CLOSED:
        return (
            f"An issue that is {here} cannot be closed yet. Close it once it is Fixed, or choose "
            "Won't fix, Guidance issued or Training arranged and give the reason."
        )
    allowed = ", ".join(status.label for status in next_statuses(current))
    return f"An issue that is {here} cannot go to {there}. From {here} it can go to: {allowed}."


_FEEDBACK_REF = re.compile(r"^(?:FB-?)?0*(\d{1,9})$", re.IGNORECASE)
_ISSUE_REF = re.compile(r"^(?:ISS-?)?0*(\d{1,9})$", re.IGNORECASE)
_REF_SEPARATORS = re.compile(r"[\s,;]+")


def format_ref(number: int) -> str:
    return f"ISS-{number:04d}"


def normalise_issue_ref(value: object) -> str | None:
    """ISS-0001 for "ISS-0001", "iss-1" or "1"; None if it is not an issue reference."""
    match = _ISSUE_REF.match(clean_text(value))
    return format_ref(int(match.group(1))) if match and int(match.group(1)) > 0 else None


def parse_feedback_refs(value: object) -> tuple[list[str], list[str]]:
    """Feedback refs from a form field (repeated, or several in one box) or a JSON list: (refs, not refs).

    "FB-000012", "fb-12" and "12" all mean FB-000012; repeats are dropped, order is kept.
    """
    items = value if isinstance(value, list | tuple) else [value]
    refs: list[str] = []
    bad: list[str] = []
    for item in items:
        if item is None:
            continue
        for word in _REF_SEPARATORS.split(clean_text(item)):
            if not word:
                continue
            match = _FEEDBACK_REF.match(word)
            if match and int(match.group(1)) > 0:
                ref = feedback_services.format_ref(int(match.group(1)))
                if ref not in refs:
                    refs.append(ref)
            elif word not in bad:
                bad.append(word)
    return refs, bad


def _single_line(value: object) -> str:
    return " ".join(clean_text(value).split())


@dataclasses.dataclass(frozen=True)
class WeekCount:
    starts: dt.date  # the Monday of the ISO week
    count: int

    @property
    def iso_week(self) -> str:
        year, week, _ = self.starts.isocalendar()
        return f"{year}-W{week:02d}"


@dataclasses.dataclass(frozen=True)
class Tally:
    """Who has spoken about an issue. A voice is one feedback, or one "me too" user (their latest)."""

    feedback: int = 0
    contributors: int = 0
    anonymous_feedback: int = 0
    me_toos: int = 0
    voices: tuple[tuple[int | None, str, dt.datetime], ...] = ()  # (team id, impact slug, when)


@dataclasses.dataclass(frozen=True)
class IssueSummary:
    issue: Issue
    feedback_refs: list[str]
    tally: Tally


@dataclasses.dataclass(frozen=True)
class IssuePage:
    items: Sequence[IssueSummary]
    number: int
    size: int
    total: int

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.size))


@dataclasses.dataclass(frozen=True)
class IssueEvidence:
    issue: Issue
    feedback: list[Feedback]  # newest first
    contributors: int
    anonymous_feedback: int
    me_toos: int
    teams: list[tuple[str, int]]  # team name (or "Team not given"), voices; most first
    impacts: dict[str, int]  # impact slug -> voices, feedback and "me too"s together
    trend: list[WeekCount]  # the last TREND_WEEKS ISO weeks, oldest first
    merges: list[IssueMerge]  # into or out of this issue, newest first
    # Internal notes and public replies, oldest first. For readers only: frontline staff never see an issue's
    # evidence; what they may see of an issue is its public_replies.
    comments: list[Comment] = dataclasses.field(default_factory=list)

    @property
    def trend_max(self) -> int:
        return max((week.count for week in self.trend), default=0)

    @property
    def trend_total(self) -> int:
        return sum(week.count for week in self.trend)


def _tally(feedback_rows: Iterable[Any], me_too_rows: Iterable[Any]) -> Tally:
    feedback_rows = list(feedback_rows)
    identified = {row.submitter_id for row in feedback_rows if row.submitter_id is not None}
    anonymous = sum(1 for row in feedback_rows if row.submitter_id is None)
    latest: dict[int, Any] = {}
    for row in sorted(me_too_rows, key=lambda row: (row.created_at, row.id)):
        latest[row.user_id] = row
    voices = [(row.team_id, row.impact, row.submitted_at) for row in feedback_rows]
    voices += [(row.team_id, row.impact, row.created_at) for row in latest.values()]
    return Tally(
        feedback=len(feedback_rows),
        contributors=len(identified | latest.keys()) + anonymous,
        anonymous_feedback=anonymous,
        me_toos=len(latest),
        voices=tuple(voices),
    )


@dataclasses.dataclass(frozen=True)
class ConflictRow:
    """One field on the conflict page: what the person tried to save next to what is there now."""

    field: str
    label: str
    yours: str
    now: str
    you_changed: bool
    they_changed: bool

    @property
    def both_changed(self) -> bool:
        return self.you_changed and self.they_changed and self.yours != self.now


@dataclasses.dataclass(frozen=True)
class EditConflict:
    issue: Issue  # as it is now
    message: str
    rows: list[ConflictRow]  # the fields either side changed, in form order
    reapply: dict[str, str]  # the fields the person changed, as they typed them: re-applied onto the latest
    changed_by: list[history.HistoryLine]  # who changed the issue since their version, newest first


class IssueService:
    def __init__(self, session: orm.Session, notify: NotificationHook | None = None) -> None:
        self.session = session
        # Told about status changes (and, via CommentService, public replies): see notify.py.
        self.notify = notify or NotificationHook()
        # After create() or link(): each feedback ref that was moved from another issue, and that issue's ref.
        self.moved_from: dict[str, str] = {}
        # After create() or link(): each feedback ref that first left the untriaged queue, and when.
        self.triaged_now: dict[str, str] = {}

    def vocabularies(self) -> Vocabularies:
        return Vocabularies(self.session)

    # Reading

    def get(self, ref: str) -> Issue:
        normalised = normalise_issue_ref(ref)
        issue = self.session.scalar(sa.select(Issue).where(Issue.ref == normalised)) if normalised else None
        if issue is None:
            raise NotFound(f"There is no issue {clean_text(ref)[:20]}")
        return issue

    def list(
        self,
        page: int = 1,
        status: str | None = None,
        module: str | None = None,
        *,
        include_merged: bool = False,
        size: int = PAGE_SIZE,
    ) -> IssuePage:
        errors: dict[str, str] = {}
        conditions = []
        if status:
            if status not in {s.value for s in IssueStatus}:
                errors["status"] = "Choose a status from the list"
            conditions.append(Issue.status == status)
        if module:
            slug = self.vocabularies().resolve("module", module)
            if slug is None:
                errors["module"] = "Choose the part of the CMS from the list"
            conditions.append(Issue.module == slug)
        if errors:
            raise ValidationFailed(errors)
        if not include_merged:
            conditions.append(Issue.merged_into_id.is_(None))
        total = self.session.scalar(sa.select(sa.func.count(Issue.id)).where(*conditions)) or 0
        pages = max(1, math.ceil(total / size))
        page = min(max(1, page), pages)
        issues = list(
            self.session.scalars(
                sa.select(Issue)
                .where(*conditions)
                .order_by(Issue.created_at.desc(), Issue.id.desc())
                .limit(size)
                .offset((page - 1) * size)
            ).unique()
        )
        feedback_rows, me_too_rows = self._rows([issue.id for issue in issues])
        items = []
        for issue in issues:
            mine = [row for row in feedback_rows if row.issue_id == issue.id]
            tally = _tally(mine, [row for row in me_too_rows if row.issue_id == issue.id])
            items.append(IssueSummary(issue, [row.ref for row in mine], tally))
        return IssuePage(items, page, size, total)

    def evidence(self, issue: Issue, *, today: dt.date | None = None) -> IssueEvidence:
        feedback = list(
            self.session.scalars(
                sa.select(Feedback)
                .options(orm.lazyload(Feedback.attachments), orm.lazyload(Feedback.comments))
                .where(Feedback.issue_id == issue.id)
                .order_by(Feedback.submitted_at.desc(), Feedback.id.desc())
            ).unique()
        )
        feedback_rows, me_too_rows = self._rows([issue.id])
        tally = _tally(feedback_rows, me_too_rows)

        team_names = {row.id: row.name for row in self.session.execute(sa.select(Team.id, Team.name))}
        teams = collections.Counter(
            team_names.get(team_id, "Team not given") for team_id, _, _ in tally.voices
        )
        impacts = collections.Counter(impact for _, impact, _ in tally.voices)

        today = today or utcnow().date()
        this_week = today - dt.timedelta(days=today.weekday())
        weeks = [this_week - dt.timedelta(weeks=n) for n in range(TREND_WEEKS - 1, -1, -1)]
        per_week = collections.Counter()
        for _, _, when in tally.voices:
            day = when.astimezone(dt.UTC).date()
            per_week[day - dt.timedelta(days=day.weekday())] += 1

        merges = list(
            self.session.scalars(
                sa.select(IssueMerge)
                .where(sa.or_(IssueMerge.source_issue_id == issue.id, IssueMerge.target_issue_id == issue.id))
                .order_by(IssueMerge.merged_at.desc(), IssueMerge.id.desc())
            ).unique()
        )
        return IssueEvidence(
            issue=issue,
            feedback=feedback,
            contributors=tally.contributors,
            anonymous_feedback=tally.anonymous_feedback,
            me_toos=tally.me_toos,
            teams=sorted(teams.items(), key=lambda item: (-item[1], item[0])),
            impacts=dict(impacts.most_common()),
            trend=[WeekCount(week, per_week.get(week, 0)) for week in weeks],
            merges=merges,
            comments=list(
                self.session.scalars(
                    sa.select(Comment)
                    .where(Comment.issue_id == issue.id)
                    .order_by(Comment.created_at, Comment.id)
                )
            ),
        )

    def _rows(self, issue_ids: Sequence[int]) -> tuple[list[Any], list[Any]]:
        """The feedback and "me too" rows (just the columns counting needs) of some issues."""
        if not issue_ids:
            return [], []
        feedback_rows = list(
            self.session.execute(
                sa.select(
                    Feedback.issue_id,
                    Feedback.ref,
                    Feedback.submitter_id,
                    Feedback.team_id,
                    Feedback.impact,
                    Feedback.submitted_at,
                )
                .where(Feedback.issue_id.in_(issue_ids))
                .order_by(Feedback.submitted_at.desc(), Feedback.id.desc())
            )
        )
        me_too_rows = list(
            self.session.execute(
                sa.select(
                    sa.func.coalesce(MeToo.issue_id, Feedback.issue_id).label("issue_id"),
                    MeToo.id,
                    MeToo.user_id,
                    MeToo.team_id,
                    MeToo.impact,
                    MeToo.created_at,
                )
                .select_from(MeToo)
                .outerjoin(Feedback, MeToo.feedback_id == Feedback.id)
                .where(sa.or_(MeToo.issue_id.in_(issue_ids), Feedback.issue_id.in_(issue_ids)))
            )
        )
        return feedback_rows, me_too_rows

    def feedback_to_group(self, refs: object) -> tuple[list[Feedback], dict[str, str]]:
        """The feedback a "new issue" page was opened with, and a message about refs that are not feedback."""
        wanted, bad = parse_feedback_refs(refs)
        errors: dict[str, str] = {}
        found = self._feedback_by_refs(wanted, errors) if wanted else []
        if bad:
            errors["feedback"] = _not_refs_message(bad)
        return found, errors

    # Grouping feedback

    def create(
        self,
        title: object,
        feedback_refs: object,
        actor: User,
        summary: object = "",
        module: object = None,
    ) -> Issue:
        """A new issue grouping some feedback. Feedback already on another issue is moved (see moved_from)."""
        self.moved_from, self.triaged_now = {}, {}
        errors: dict[str, str] = {}
        clean = self._clean_fields({"title": title, "summary": summary or "", "module": module}, errors)
        refs, bad = parse_feedback_refs(feedback_refs)
        if bad:
            errors["feedback"] = _not_refs_message(bad)
        elif not refs:
            errors["feedback"] = "Choose at least one feedback to group into the issue"

        self._begin_write()
        try:
            feedback = self._feedback_by_refs(refs, errors) if refs and not bad else []
            if errors:
                raise ValidationFailed(errors)
            modules = collections.Counter(item.module for item in feedback)
            issue = Issue(
                title=clean["title"],
                summary=clean["summary"] or "",
                module=clean["module"] or modules.most_common(1)[0][0],
                status=IssueStatus.NEW,
            )
            self.session.add(issue)
            self.session.flush()
            # The ref comes from the id, so it is written after the insert; through Core, so that a new issue
            # starts at version 1 (the ORM would count it as a change). _attach logs the issue for the index.
            self.session.execute(
                sa.update(Issue).where(Issue.id == issue.id).values(ref=format_ref(issue.id))
            )
            orm.attributes.set_committed_value(issue, "ref", format_ref(issue.id))
            self.moved_from = self._attach(issue, feedback, actor)
            audit.record(
                self.session,
                actor_id=actor.id,
                action="issue.created",
                record_type="issue",
                record_ref=issue.ref,
                after={
                    **_snapshot(issue),
                    "feedback": refs,
                    "moved_from": self.moved_from,
                    **self._triaged_note(),
                },
            )
            self.session.commit()
        except BaseException:
            self.session.rollback()
            raise
        return issue

    def link(self, issue_ref: str, feedback_refs: object, actor: User) -> Issue:
        """Add feedback to an issue. Feedback already on another issue is moved (see moved_from)."""
        self.moved_from, self.triaged_now = {}, {}
        refs, bad = parse_feedback_refs(feedback_refs)
        if bad:
            raise ValidationFailed({"feedback": _not_refs_message(bad)})
        if not refs:
            raise ValidationFailed(
                {"feedback": "Enter the references of the feedback to add, like FB-000123"}
            )
        self._begin_write()
        try:
            issue = self._open_issue(issue_ref)
            errors: dict[str, str] = {}
            feedback = self._feedback_by_refs(refs, errors)
            if errors:
                raise ValidationFailed(errors)
            before = self._feedback_refs_of(issue)
            self.moved_from = self._attach(issue, feedback, actor)
            audit.record(
                self.session,
                actor_id=actor.id,
                action="issue.feedback_linked",
                record_type="issue",
                record_ref=issue.ref,
                before={"feedback": before},
                after={
                    "feedback": self._feedback_refs_of(issue),
                    "moved_from": self.moved_from,
                    **self._triaged_note(),
                },
            )
            self.session.commit()
        except BaseException:
            self.session.rollback()
            raise
        return issue

    def unlink(self, issue_ref: str, feedback_ref: str, actor: User) -> Issue:
        """Take one feedback off an issue; it goes back to "received", unchanged otherwise."""
        self._begin_write()
        try:
            issue = self.get(issue_ref)
            refs, _ = parse_feedback_refs(feedback_ref)
            feedback = (
                self.session.scalar(sa.select(Feedback).where(Feedback.ref == refs[0])) if refs else None
            )
            if feedback is None:
                raise NotFound(f"There is no feedback {clean_text(feedback_ref)[:20]}")
            if feedback.issue_id != issue.id:
                raise Conflict(
                    f"{feedback.ref} is not part of {issue.ref}. Someone may have removed it already."
                )
            before = self._feedback_refs_of(issue)
            self._move(feedback, None, FeedbackStatus.RECEIVED, actor, action="feedback.unlinked")
            changelog.record(self.session, "issue", [issue.id])
            audit.record(
                self.session,
                actor_id=actor.id,
                action="issue.feedback_unlinked",
                record_type="issue",
                record_ref=issue.ref,
                before={"feedback": before},
                after={"feedback": self._feedback_refs_of(issue)},
            )
            self.session.commit()
        except BaseException:
            self.session.rollback()
            raise
        return issue

    def _triaged_note(self) -> dict[str, Any]:
        return {"triaged": dict(self.triaged_now)} if self.triaged_now else {}

    def _attach(self, issue: Issue, feedback: Sequence[Feedback], actor: User) -> dict[str, str]:
        moved: dict[str, str] = {}
        touched = {issue.id}
        for item in feedback:
            if item.issue_id == issue.id:
                continue
            if item.issue is not None:
                moved[item.ref or ""] = item.issue.ref or ""
                touched.add(item.issue.id)
            self._move(item, issue, FeedbackStatus.LINKED, actor, action="feedback.linked")
        self.session.flush()
        changelog.record(self.session, "issue", touched)
        return moved

    def _move(
        self, feedback: Feedback, issue: Issue | None, status: str, actor: User, *, action: str
    ) -> None:
        before = {"issue": feedback.issue.ref if feedback.issue else None, "status": feedback.status}
        feedback.issue = issue
        feedback.status = status
        audit.record(
            self.session,
            actor_id=actor.id,
            action=action,
            record_type="feedback",
            record_ref=feedback.ref or "",
            before=before,
            after={"issue": issue.ref if issue else None, "status": status},
        )
        # Out of the untriaged queue: the first time is kept, and audited in the issue's event (create, link).
        if issue is not None and triaged.mark(self.session, feedback, actor.id, audit_event=False):
            self.triaged_now[feedback.ref or ""] = feedback.triaged_at.isoformat()  # type: ignore[union-attr]

    # Merging

    def merge(self, source_ref: str, target_ref: object, actor: User) -> IssueMerge:
        """Move all of source's feedback and "me too"s to target, and mark source as merged into it.

        A "me too" on source by someone who already has one on target stays on source (one per person per
        issue): they are counted once either way, and undoing the merge has nothing to put back for them.
        """
        wanted = normalise_issue_ref(target_ref)
        if not clean_text(target_ref):
            raise ValidationFailed(
                {"target": "Enter the reference of the issue to merge into, like ISS-0001"}
            )
        if wanted is None:
            raise ValidationFailed({"target": "Enter an issue reference, like ISS-0001"})
        self._begin_write()
        try:
            source = self.get(source_ref)
            if source.merged_into is not None:
                raise Conflict(f"{source.ref} has already been merged into {source.merged_into.ref}.")
            if wanted == source.ref:
                raise ValidationFailed(
                    {"target": "An issue cannot be merged into itself: enter a different issue"}
                )
            target = self.session.scalar(sa.select(Issue).where(Issue.ref == wanted))
            if target is None:
                raise ValidationFailed({"target": f"There is no issue {wanted}"})
            if target.merged_into is not None:
                raise ValidationFailed(
                    {
                        "target": f"{target.ref} has been merged into {target.merged_into.ref}: "
                        f"merge into {target.merged_into.ref} instead"
                    }
                )
            feedback = list(
                self.session.scalars(
                    sa.select(Feedback).where(Feedback.issue_id == source.id).order_by(Feedback.id)
                )
            )
            for item in feedback:
                item.issue = target
            on_target = set(self.session.scalars(sa.select(MeToo.user_id).where(MeToo.issue_id == target.id)))
            me_toos = list(
                self.session.scalars(sa.select(MeToo).where(MeToo.issue_id == source.id).order_by(MeToo.id))
            )
            moving = [me_too for me_too in me_toos if me_too.user_id not in on_target]
            kept = [me_too.id for me_too in me_toos if me_too.user_id in on_target]
            for me_too in moving:
                me_too.issue_id = target.id
            source.merged_into = target
            record = IssueMerge(
                source=source,
                target=target,
                moved_feedback_ids=[item.id for item in feedback],
                moved_me_too_ids=[me_too.id for me_too in moving],
                merged_by_id=actor.id,
            )
            self.session.add(record)
            self.session.flush()
            changelog.record(self.session, "issue", [source.id, target.id])
            details = {
                "source": source.ref,
                "target": target.ref,
                "feedback": [item.ref for item in feedback],
                "me_toos": record.moved_me_too_ids,
                "me_toos_kept_on_source": kept,
            }
            audit.record(
                self.session,
                actor_id=actor.id,
                action="issue.merged",
                record_type="issue",
                record_ref=source.ref or "",
                before={"merged_into": None},
                after=details,
            )
            audit.record(
                self.session,
                actor_id=actor.id,
                action="issue.merged_in",
                record_type="issue",
                record_ref=target.ref or "",
                after=details,
            )
            self.session.commit()
        except BaseException:
            self.session.rollback()
            raise
        return record

    def undo_merge(self, merge_id: int, actor: User) -> IssueMerge:
        """Put back exactly what the merge moved; anything linked to the target since stays there."""
        self._begin_write()
        try:
            record = self.session.get(IssueMerge, merge_id)
            if record is None:
                raise NotFound("There is no such merge")
            source, target = record.source, record.target
            if record.undone_at is not None:
                raise Conflict(f"The merge of {source.ref} into {target.ref} has already been undone.")
            if target.merged_into is not None:
                raise Conflict(
                    f"{target.ref} has since been merged into {target.merged_into.ref}. "
                    "Undo that merge first, then this one."
                )
            returned, elsewhere = [], []
            for item in self.session.scalars(
                sa.select(Feedback).where(Feedback.id.in_(record.moved_feedback_ids))
            ):
                if item.issue_id == target.id:
                    item.issue = source
                    returned.append(item.ref)
                else:  # moved or removed by someone since the merge: that later decision stands
                    elsewhere.append(item.ref)
            me_toos = self.session.scalars(sa.select(MeToo).where(MeToo.id.in_(record.moved_me_too_ids)))
            for me_too in me_toos:
                if me_too.issue_id == target.id:
                    me_too.issue_id = source.id
            source.merged_into = None
            record.undone_at = utcnow()
            self.session.flush()
            changelog.record(self.session, "issue", [source.id, target.id])
            details = {
                "source": source.ref,
                "target": target.ref,
                "feedback": returned,
                "feedback_left_where_it_is": elsewhere,
                "me_toos": record.moved_me_too_ids,
            }
            audit.record(
                self.session,
                actor_id=actor.id,
                action="issue.merge_undone",
                record_type="issue",
                record_ref=source.ref or "",
                before={"merged_into": target.ref},
                after=details,
            )
            audit.record(
                self.session,
                actor_id=actor.id,
                action="issue.merge_undone",
                record_type="issue",
                record_ref=target.ref or "",
                after=details,
            )
            self.session.commit()
        except BaseException:
            self.session.rollback()
            raise
        return record

    # "Me too"

    def me_too(
        self, user: User, *, feedback_ref: str | None = None, issue_ref: str | None = None, impact: object
    ) -> int:
        """Add (or change) the user's "me too"; returns how many people have now said this."""
        if (feedback_ref is None) == (issue_ref is None):
            raise ValueError("give exactly one of feedback_ref and issue_ref")
        slug = self.vocabularies().resolve("impact", clean_text(impact)) if clean_text(impact) else None
        if slug is None:
            raise ValidationFailed({"impact": "Choose how much it affects your work"})
        try:
            return self._me_too(user, feedback_ref, issue_ref, slug)
        except exc.IntegrityError:  # the same person, twice at once: the other request added the row
            self.session.rollback()
            return self._me_too(user, feedback_ref, issue_ref, slug)

    def me_too_target(self, *, feedback_ref: str | None = None, issue_ref: str | None = None) -> str:
        """The ref a "me too" form is for, or NotFound. It shows nothing else: anyone may add a voice."""
        if feedback_ref is not None:
            refs, _ = parse_feedback_refs(feedback_ref)
            found = (
                self.session.scalar(sa.select(Feedback.ref).where(Feedback.ref == refs[0])) if refs else None
            )
            if found is None:
                raise NotFound(f"There is no feedback {clean_text(feedback_ref)[:20]}")
            return found
        return self.get(issue_ref or "").ref or ""

    def _me_too(self, user: User, feedback_ref: str | None, issue_ref: str | None, impact: str) -> int:
        self._begin_write()
        try:
            if feedback_ref is not None:
                refs, _ = parse_feedback_refs(feedback_ref)
                feedback = (
                    self.session.scalar(sa.select(Feedback).where(Feedback.ref == refs[0])) if refs else None
                )
                if feedback is None:
                    raise NotFound(f"There is no feedback {clean_text(feedback_ref)[:20]}")
                if feedback.submitter_id is not None and feedback.submitter_id == user.id:
                    raise Forbidden("You sent this feedback, so your voice is already counted.")
                target = {"feedback_id": feedback.id}
                record_type, record_ref = "feedback", feedback.ref or ""
            else:
                issue = self._final_issue(self.get(issue_ref or ""))
                target = {"issue_id": issue.id}
                record_type, record_ref = "issue", issue.ref or ""
            existing = self.session.scalar(sa.select(MeToo).filter_by(user_id=user.id, **target))
            before = {"impact": existing.impact} if existing else None
            if existing is None:
                self.session.add(MeToo(user_id=user.id, team_id=user.team_id, impact=impact, **target))
            else:
                existing.impact = impact
            audit.record(
                self.session,
                actor_id=user.id,
                action="me_too.changed" if existing else "me_too.added",
                record_type=record_type,
                record_ref=record_ref,
                before=before,
                after={"impact": impact},
            )
            self.session.flush()
            if feedback_ref is not None:
                users = self.session.scalar(
                    sa.select(sa.func.count(sa.distinct(MeToo.user_id))).where(
                        MeToo.feedback_id == feedback.id
                    )
                )
                count = 1 + (users or 0)
            else:
                count = _tally(*self._rows([issue.id])).contributors
            self.session.commit()
        except BaseException:
            self.session.rollback()
            raise
        return count

    # Editing

    def update(self, ref: str, version: object, changes: Mapping[str, Any], actor: User) -> Issue:
        """Change the issue's details only (EDITABLE_FIELDS); see change() for the rest."""
        errors = {f: f"{f} cannot be changed here" for f in changes if f not in EDITABLE_FIELDS}
        if errors:
            self._clean_fields({k: v for k, v in changes.items() if k in EDITABLE_FIELDS}, errors)
            if _whole_number(version) is None:
                errors["version"] = "Send the version of the issue you are changing, as a whole number"
            raise ValidationFailed(errors)
        return self.change(ref, version, changes, actor)

    def change(self, ref: str, version: object, changes: Mapping[str, Any], actor: User) -> Issue:
        """Change any of CHANGEABLE_FIELDS at once: all of them or none.

        Every field is checked first (each problem is reported against its field), then, in one write
        transaction, the version: if someone else changed the issue since `version` was read this raises
        Conflict and saves nothing. Then the status rules (TRANSITIONS, and a reason for the statuses that
        need one), against the issue as it is now. One audit event records every field's before and after
        and the new version; a status change tells the contributors (notify.py).

        A reason (status_reason) belongs only to Won't fix, Guidance issued and Training arranged: it is
        required for them, kept while the status stays, and cleared when the issue moves to any other status.
        """
        errors: dict[str, str] = {}
        expected = _whole_number(version)
        if expected is None:
            errors["version"] = "Send the version of the issue you are changing, as a whole number"
        for field in changes:
            if field not in CHANGEABLE_FIELDS:
                errors[field] = f"{field} cannot be changed"
        clean = self._clean_fields({k: v for k, v in changes.items() if k in CHANGEABLE_FIELDS}, errors)
        if errors:
            # Say everything at once: the status rules too, against the issue as it is (nothing is written).
            issue = self.get(ref)
            if "status" not in errors and "status_reason" not in errors:
                self._check_status(issue, dict(clean), errors)
            raise ValidationFailed(errors)

        self._begin_write()
        try:
            issue = self.get(ref)
            if issue.version != expected:
                raise _stale(issue)
            if issue.merged_into is not None:
                raise Conflict(
                    f"{issue.ref} has been merged into {issue.merged_into.ref}, so it cannot be changed: "
                    f"change {issue.merged_into.ref} instead."
                )
            self._check_status(issue, clean, errors)
            if errors:
                raise ValidationFailed(errors)
            current = _values(issue)
            changed = [
                field
                for field in CHANGEABLE_FIELDS
                if field in clean and _comparable(clean[field]) != current[field]
            ]
            if changed:
                old_status = issue.status
                old_version = issue.version
                for field in changed:
                    if field == "owner":
                        issue.owner = clean["owner"]
                    else:
                        setattr(issue, field, clean[field])
                if issue.status != old_status:
                    issue.reached_status(utcnow())  # decided_at, fixed_at, resolved_at (insight)
                self.session.flush()
                audit.record(
                    self.session,
                    actor_id=actor.id,
                    action="issue.updated",
                    record_type="issue",
                    record_ref=issue.ref or "",
                    before={"version": old_version, **{field: current[field] for field in changed}},
                    after={"version": issue.version, **{f: _comparable(clean[f]) for f in changed}},
                )
                if issue.status != old_status:
                    event = {
                        "kind": "status",
                        "summary": _status_summary(issue),
                        "status": issue.status,
                        "status_reason": issue.status_reason,
                    }
                    self.notify(self.session, issue, event)
                self.session.flush()
            self.session.commit()
        except StaleDataError:
            self.session.rollback()
            raise _stale(self.get(ref)) from None
        except BaseException:
            self.session.rollback()
            raise
        return issue

    @staticmethod
    def _check_status(issue: Issue, clean: dict[str, Any], errors: dict[str, str]) -> None:
        """Apply the status rules to the cleaned changes: a refused move or a missing reason is a field
        error. Settles clean["status_reason"] for the status the issue will have."""
        current = IssueStatus(issue.status)
        wanted = IssueStatus(clean.get("status") or current)
        if wanted != current:
            problem = transition_problem(current, wanted)
            if problem:
                errors["status"] = problem
                return
        if not wanted.needs_reason:
            if "status_reason" in clean or issue.status_reason is not None:
                clean["status_reason"] = None
            return
        if "status_reason" in clean:
            reason = clean["status_reason"]
        else:
            reason = issue.status_reason if wanted == current else None
        if not reason:
            errors["status_reason"] = (
                f"Give the reason for “{wanted.label}”: the staff who gave feedback will see it"
            )
        clean["status_reason"] = reason

    def conflict(self, ref: str, version: object, changes: Mapping[str, Any], viewer: User) -> EditConflict:
        """What a stale save tried to do, next to the issue as it is now, and who changed it since.

        The values at the version the person started from are worked out from the audit trail (each change
        records its before, after and version), so "your changes" are only the fields they changed; those
        alone are offered to re-apply, and a field someone else changed meanwhile is flagged when both did.
        """
        self.session.expire_all()
        issue = self.get(ref)
        base_version = _whole_number(version)
        clean = self._clean_fields({k: v for k, v in changes.items() if k in CHANGEABLE_FIELDS}, {})
        current = _values(issue)
        base = dict(current)
        since = []
        events = history.events_for(self.session, "issue", issue.ref or "")
        for event in events:  # newest first: undo each later change to get back to the version they read
            event_version = _whole_number((event.after or {}).get("version"))
            if base_version is None or event_version is None or event_version <= base_version:
                continue
            since.append(event)
            for field, value in (event.before or {}).items():
                if field in base:
                    base[field] = value
        if not since and events:
            since = events[:1]  # the version moved without a recorded field change (e.g. a merge): the latest
        yours = [f for f in CHANGEABLE_FIELDS if f in clean and _comparable(clean[f]) != base[f]]
        theirs = [field for field in CHANGEABLE_FIELDS if current[field] != base[field]]
        words = history.Words(self.session)
        rows = []
        for field in CHANGEABLE_FIELDS:
            if field not in yours and field not in theirs:
                continue
            mine = _comparable(clean[field]) if field in yours else base[field]
            rows.append(
                ConflictRow(
                    field=field,
                    label=FIELD_LABELS[field],
                    yours=_shown(words, field, mine),
                    now=_shown(words, field, current[field]),
                    you_changed=field in yours,
                    they_changed=field in theirs,
                )
            )
        return EditConflict(
            issue=issue,
            message=_stale(issue).message,
            rows=rows,
            reapply={field: _form_value(changes.get(field)) for field in yours},
            changed_by=history.describe(self.session, since, viewer),
        )

    def _clean_fields(self, values: Mapping[str, Any], errors: dict[str, str]) -> dict[str, Any]:
        clean: dict[str, Any] = {}
        for field, raw in values.items():
            if isinstance(raw, bool) or (raw is not None and not isinstance(raw, str | int | float)):
                is_severity = field == "severity"
                errors[field] = SEVERITY_MESSAGE if is_severity else f"{FIELD_NAMES[field]} must be text"
                continue
            if field == "title":
                title = _single_line(raw)
                if not title:
                    errors[field] = "Enter a title for the issue"
                elif len(title) > TITLE_MAX:
                    errors[field] = (
                        f"The title must be {TITLE_MAX} characters or fewer (you wrote {len(title)})"
                    )
                clean[field] = title
            elif field == "module":
                text = clean_text(raw)
                slug = self.vocabularies().resolve("module", text) if text else None
                if text and slug is None:
                    errors[field] = "Choose the part of the CMS from the list"
                clean[field] = slug
            elif field == "severity":
                text = clean_text(raw)
                if not text:
                    clean[field] = None
                elif text in {str(s.value) for s in Severity} and not isinstance(raw, float):
                    clean[field] = int(text)
                else:
                    errors[field] = SEVERITY_MESSAGE
            elif field == "status":
                text = clean_text(raw)
                if text not in {s.value for s in IssueStatus}:
                    errors[field] = "Choose a status from the list"
                clean[field] = text
            elif field == "owner":
                clean[field] = self._owner(clean_text(raw), errors)
            else:
                long_text = field in {"summary", "public_response", "status_reason"}
                text = clean_text(raw) if long_text else _single_line(raw)
                limit = SUMMARY_MAX if long_text else SHORT_MAX
                if len(text) > limit:
                    errors[field] = (
                        f"{FIELD_NAMES[field]} must be {limit:,} characters or fewer (you wrote {len(text):,})"
                    )
                clean[field] = text if field == "summary" else (text or None)
        return clean

    def _owner(self, email: str, errors: dict[str, str]) -> User | None:
        if not email:
            return None
        user = self.session.scalar(sa.select(User).where(sa.func.lower(User.email) == email.lower()))
        if user is None or not user.active or user.role_enum not in OWNER_ROLES:
            errors["owner"] = "Choose an owner from business support, the board or administrators"
            return None
        return user

    def owners(self) -> list[User]:
        """The people an issue can be given to: active business support, board members and admins."""
        return list(
            self.session.scalars(
                sa.select(User)
                .where(User.active.is_(True), User.role.in_([role.value for role in OWNER_ROLES]))
                .order_by(User.name, User.email)
            )
        )

    # Helpers

    def _begin_write(self) -> None:
        """Begin the write transaction, forgetting what was read before (another request may have changed it)."""
        begin_write(self.session)
        self.session.expire_all()

    def _feedback_by_refs(self, refs: Sequence[str], errors: dict[str, str]) -> list[Feedback]:
        found = {
            item.ref: item
            for item in self.session.scalars(
                sa.select(Feedback)
                .options(orm.lazyload(Feedback.attachments), orm.lazyload(Feedback.comments))
                .where(Feedback.ref.in_(refs))
            ).unique()
        }
        missing = [ref for ref in refs if ref not in found]
        if missing:
            errors["feedback"] = (
                f"There is no feedback {missing[0]}"
                if len(missing) == 1
                else "There is no feedback " + ", ".join(missing[:-1]) + " or " + missing[-1]
            )
        return [found[ref] for ref in refs if ref in found]

    def _feedback_refs_of(self, issue: Issue) -> list[str]:
        self.session.flush()
        return list(
            self.session.scalars(
                sa.select(Feedback.ref).where(Feedback.issue_id == issue.id).order_by(Feedback.id)
            )
        )

    def _open_issue(self, ref: str) -> Issue:
        issue = self.get(ref)
        if issue.merged_into is not None:
            raise Conflict(
                f"{issue.ref} has been merged into {issue.merged_into.ref}: add feedback there instead."
            )
        return issue

    @staticmethod
    def _final_issue(issue: Issue) -> Issue:
        """The issue a merged issue ended up in (itself if it was never merged)."""
        seen = {issue.id}
        while issue.merged_into is not None and issue.merged_into.id not in seen:
            issue = issue.merged_into
            seen.add(issue.id)
        return issue


def _snapshot(issue: Issue) -> dict[str, Any]:
    return {
        "title": issue.title,
        "summary": issue.summary,
        "module": issue.module,
        "status": issue.status,
        "severity": issue.severity,
        "owner": issue.owner.email if issue.owner else None,
        "supplier_ref": issue.supplier_ref,
        "target_release": issue.target_release,
        "public_response": issue.public_response,
    }


def _values(issue: Issue) -> dict[str, Any]:
    """The issue's CHANGEABLE_FIELDS as change() compares and audits them (the owner by email)."""
    values = {field: getattr(issue, field) for field in CHANGEABLE_FIELDS if field != "owner"}
    values["owner"] = issue.owner.email if issue.owner else None
    return values


def _comparable(value: Any) -> Any:
    return value.email if isinstance(value, User) else value


def _shown(words: Any, field: str, value: Any) -> str:
    """A value as the conflict page shows it."""
    if value is None or value == "":
        return "Not set"
    if field in {"status", "severity", "owner", "module"}:
        return words.value("issue", field, value)
    return str(value)


def _form_value(raw: Any) -> str:
    return "" if raw is None else str(raw)


def _status_summary(issue: Issue) -> str:
    summary = f"{issue.ref} “{issue.title}” is now {issue.status_label}"
    return summary + (f": {issue.status_reason}" if issue.status_reason else "")


def _stale(issue: Issue) -> Conflict:
    return Conflict(
        f"Someone else changed {issue.ref} while you were editing it, so your changes were not saved. "
        f"Check the latest version (version {issue.version}) and make your changes again."
    )


def _whole_number(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


def _not_refs_message(bad: Sequence[str]) -> str:
    shown = ", ".join(f"“{word[:20]}”" for word in bad[:3])
    verb = "is not a feedback reference" if len(bad) == 1 else "are not feedback references"
    return f"{shown} {verb} (they look like FB-000123)"
