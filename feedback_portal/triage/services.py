"""The triage queue: untriaged feedback oldest first, one item at a time, and the actions that triage it.

Untriaged means: received or being looked at (a question asked), on no issue. Feedback leaves the queue when
it is linked to an issue (or an issue is made from it), marked the same as other feedback or an issue, or
marked not about the CMS; the first time that happens `feedback.triaged_at` is set (and audited) — the
insight page's time to triage. Linking goes through IssueService, which sets triaged_at in `_move`.

Every action is one transaction; bulk actions apply to every selected item or to none.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
import urllib.parse
from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy import orm

from feedback_portal.accounts.models import Team, User
from feedback_portal.audit import models as audit
from feedback_portal.db import begin_write, utcnow
from feedback_portal.errors import Conflict, NotFound, ValidationFailed
from feedback_portal.feedback.models import Comment, Feedback
from feedback_portal.feedback.services import Vocabularies, clean_text
from feedback_portal.feedback.vocabulary import FeedbackStatus
from feedback_portal.indexing import changelog
from feedback_portal.issues.comments import HELD_REPLY_MESSAGE, CommentService, Visibility
from feedback_portal.issues.models import Issue, MeToo
from feedback_portal.issues.services import IssueService, normalise_issue_ref, parse_feedback_refs
from feedback_portal.triage import triaged, workdays

UNTRIAGED = (FeedbackStatus.RECEIVED.value, FeedbackStatus.UNDER_REVIEW.value)
PAGE_SIZE = 50
REASON_MAX = 500
FILTER_FIELDS = ("module", "kind", "impact", "team", "flagged")
CLASSIFY_FIELDS = ("module", "kind", "impact")
CLASSIFY_MESSAGES = {
    "module": "Choose the part of the CMS from the list",
    "kind": "Choose the kind of problem from the list",
    "impact": "Choose the impact from the list",
}
BULK_ACTIONS = ("link", "classify", "not-cms")


@dataclasses.dataclass(frozen=True)
class QueueFilters:
    module: str = ""
    kind: str = ""
    impact: str = ""
    team: str = ""
    flagged: bool = False  # held for personal data or restricted (safeguarding) only

    def as_query(self) -> dict[str, str]:
        values = {"module": self.module, "kind": self.kind, "impact": self.impact, "team": self.team}
        if self.flagged:
            values["flagged"] = "1"
        return {key: value for key, value in values.items() if value}

    @property
    def query_string(self) -> str:
        return urllib.parse.urlencode(self.as_query())

    @property
    def any(self) -> bool:
        return bool(self.as_query())


@dataclasses.dataclass(frozen=True)
class QueueItem:
    feedback: Feedback
    age_days: int  # working days since it was sent
    due: dt.date  # the last working day within the target
    overdue: bool


@dataclasses.dataclass(frozen=True)
class QueuePage:
    items: Sequence[QueueItem]
    number: int
    size: int
    total: int
    overdue: int  # of all matching, not just this page

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.size))


@dataclasses.dataclass(frozen=True)
class BulkResult:
    action: str
    refs: list[str]
    message: str


def _untriaged() -> sa.ColumnElement[bool]:
    return sa.and_(Feedback.issue_id.is_(None), Feedback.status.in_(UNTRIAGED))


def is_untriaged(feedback: Feedback) -> bool:
    return feedback.issue_id is None and feedback.status in UNTRIAGED


class TriageService:
    def __init__(self, session: orm.Session, *, target_days: int = 2) -> None:
        self.session = session
        self.target_days = target_days
        self._vocabularies: Vocabularies | None = None

    def vocabularies(self) -> Vocabularies:
        if self._vocabularies is None:
            self._vocabularies = Vocabularies(self.session)
        return self._vocabularies

    def teams(self) -> list[Team]:
        return list(self.session.scalars(sa.select(Team).order_by(Team.name)))

    # The queue

    def parse_filters(self, query: Mapping[str, Any]) -> tuple[QueueFilters, dict[str, str]]:
        """Filters from the URL (or a form's hidden copy of it); unknown values are errors for their field."""
        vocabularies = self.vocabularies()
        errors: dict[str, str] = {}
        values: dict[str, Any] = {}
        for field in ("module", "kind", "impact"):
            raw = clean_text(query.get(field))
            if raw:
                slug = vocabularies.resolve(field, raw)
                if slug is None:
                    errors[field] = CLASSIFY_MESSAGES[field]
                values[field] = slug or ""
        team = clean_text(query.get("team"))
        if team:
            if self.session.scalar(sa.select(Team.id).where(Team.slug == team)) is None:
                errors["team"] = "Choose a team from the list"
            else:
                values["team"] = team
        values["flagged"] = clean_text(query.get("flagged")) in {"1", "on", "true", "yes"}
        return QueueFilters(**values), errors

    def filters_from_string(self, query_string: object) -> QueueFilters:
        """The queue's filters carried through a form as a query string; anything unusable is dropped."""
        pairs = dict(urllib.parse.parse_qsl(clean_text(query_string)[:500]))
        filters, errors = self.parse_filters({k: v for k, v in pairs.items() if k in FILTER_FIELDS})
        if errors:
            filters = dataclasses.replace(filters, **{field: "" for field in errors})
        return filters

    def _conditions(self, filters: QueueFilters) -> list[sa.ColumnElement[bool]]:
        conditions = [_untriaged()]
        for field in ("module", "kind", "impact"):
            if getattr(filters, field):
                conditions.append(getattr(Feedback, field) == getattr(filters, field))
        if filters.team:
            team_id = sa.select(Team.id).where(Team.slug == filters.team).scalar_subquery()
            conditions.append(Feedback.team_id == team_id)
        if filters.flagged:
            conditions.append(sa.or_(Feedback.held.is_(True), Feedback.restricted.is_(True)))
        return conditions

    def _select(self) -> sa.Select[tuple[Feedback]]:
        return sa.select(Feedback).options(
            orm.lazyload(Feedback.attachments), orm.lazyload(Feedback.comments)
        )

    def item_of(self, feedback: Feedback, today: dt.date | None = None) -> QueueItem:
        today = today or workdays.london_date(utcnow())
        sent = workdays.london_date(feedback.submitted_at)
        age = workdays.working_days_between(sent, today)
        return QueueItem(
            feedback=feedback,
            age_days=age,
            due=workdays.add_working_days(sent, self.target_days),
            overdue=age > self.target_days,
        )

    def overdue_before(self) -> dt.datetime:
        """Feedback sent before this moment is overdue today (so SQL can count it)."""
        today = workdays.london_date(utcnow())
        day = today
        while workdays.working_days_between(day - dt.timedelta(days=1), today) <= self.target_days:
            day -= dt.timedelta(days=1)
        return dt.datetime.combine(day, dt.time.min, tzinfo=workdays.LONDON)

    def queue(self, filters: QueueFilters, page: int = 1, size: int = PAGE_SIZE) -> QueuePage:
        conditions = self._conditions(filters)
        total = self.session.scalar(sa.select(sa.func.count(Feedback.id)).where(*conditions)) or 0
        overdue = (
            self.session.scalar(
                sa.select(sa.func.count(Feedback.id)).where(
                    *conditions, Feedback.submitted_at < self.overdue_before()
                )
            )
            or 0
        )
        pages = max(1, math.ceil(total / size))
        page = min(max(1, page), pages)
        rows = self.session.scalars(
            self._select()
            .where(*conditions)
            .order_by(Feedback.submitted_at, Feedback.id)
            .limit(size)
            .offset((page - 1) * size)
        ).unique()
        today = workdays.london_date(utcnow())
        return QueuePage([self.item_of(row, today) for row in rows], page, size, total, overdue)

    def matching_refs(self, filters: QueueFilters) -> list[str]:
        return list(
            self.session.scalars(
                sa.select(Feedback.ref)
                .where(*self._conditions(filters))
                .order_by(Feedback.submitted_at, Feedback.id)
            )
        )

    def get(self, ref: str) -> Feedback:
        refs, _ = parse_feedback_refs(ref)
        feedback = self.session.scalar(self._select().where(Feedback.ref == refs[0])) if refs else None
        if feedback is None:
            raise NotFound(f"There is no feedback {clean_text(ref)[:20]}")
        return feedback

    def neighbours(self, feedback: Feedback, filters: QueueFilters) -> tuple[str | None, str | None]:
        """The previous and next untriaged items around this one (which may itself have left the queue)."""
        conditions = self._conditions(filters)
        key = sa.tuple_(Feedback.submitted_at, Feedback.id)
        here = sa.tuple_(
            sa.literal(feedback.submitted_at, Feedback.submitted_at.type), sa.literal(feedback.id)
        )
        before = self.session.scalar(
            sa.select(Feedback.ref)
            .where(*conditions, key < here)
            .order_by(Feedback.submitted_at.desc(), Feedback.id.desc())
            .limit(1)
        )
        after = self.session.scalar(
            sa.select(Feedback.ref)
            .where(*conditions, key > here)
            .order_by(Feedback.submitted_at, Feedback.id)
            .limit(1)
        )
        if after is None:  # at the end: wrap round to the oldest still waiting (not this one)
            after = self.session.scalar(
                sa.select(Feedback.ref)
                .where(*conditions, Feedback.id != feedback.id)
                .order_by(Feedback.submitted_at, Feedback.id)
                .limit(1)
            )
        return before, after

    def position(self, feedback: Feedback, filters: QueueFilters) -> tuple[int, int]:
        """(its place in the queue counting from 1, or 0 if it has left it; how many are waiting)."""
        conditions = self._conditions(filters)
        total = self.session.scalar(sa.select(sa.func.count(Feedback.id)).where(*conditions)) or 0
        if not is_untriaged(feedback):
            return 0, total
        key = sa.tuple_(Feedback.submitted_at, Feedback.id)
        here = sa.tuple_(
            sa.literal(feedback.submitted_at, Feedback.submitted_at.type), sa.literal(feedback.id)
        )
        ahead = self.session.scalar(sa.select(sa.func.count(Feedback.id)).where(*conditions, key < here)) or 0
        return ahead + 1, total

    # Actions on one item

    def link(self, ref: str, issue_ref: object, actor: User) -> Issue:
        """Link the feedback to an issue (by ref). Unknown or merged issues are an error beside the field."""
        wanted = normalise_issue_ref(issue_ref)
        if not clean_text(issue_ref):
            raise ValidationFailed({"issue": "Enter the issue reference, like ISS-0001"})
        if wanted is None:
            raise ValidationFailed({"issue": "Enter an issue reference, like ISS-0001"})
        try:
            return IssueService(self.session).link(wanted, [self.get(ref).ref], actor)
        except NotFound as missing:
            if "issue" in missing.message:
                raise ValidationFailed({"issue": f"There is no issue {wanted}"}) from None
            raise
        except Conflict as merged:
            raise ValidationFailed({"issue": merged.message}) from None

    def create_issue(self, ref: str, title: object, summary: object, actor: User) -> Issue:
        feedback = self.get(ref)
        return IssueService(self.session).create(
            title, [feedback.ref], actor, summary=summary or "", module=feedback.module
        )

    def classify(self, ref: str, changes: Mapping[str, Any], actor: User) -> Feedback:
        """Set the part of the CMS, kind and impact (business support correcting what the sender chose)."""
        clean, errors = self._clean_classification(changes)
        if errors:
            raise ValidationFailed(errors)
        begin_write(self.session)
        try:
            feedback = self.get(ref)
            self._apply_classification(feedback, clean, actor)
            self.session.commit()
        except BaseException:
            self.session.rollback()
            raise
        return feedback

    def _clean_classification(self, changes: Mapping[str, Any]) -> tuple[dict[str, str], dict[str, str]]:
        clean: dict[str, str] = {}
        errors: dict[str, str] = {}
        for field in CLASSIFY_FIELDS:
            raw = clean_text(changes.get(field) if isinstance(changes.get(field), str) else "")
            if not raw:
                continue
            slug = self.vocabularies().resolve(field, raw)
            if slug is None:
                errors[field] = CLASSIFY_MESSAGES[field]
            else:
                clean[field] = slug
        if not clean and not errors:
            errors["module"] = "Choose the part of the CMS, the kind or the impact to change"
        return clean, errors

    def _apply_classification(self, feedback: Feedback, clean: Mapping[str, str], actor: User) -> bool:
        changed = {field: value for field, value in clean.items() if getattr(feedback, field) != value}
        if not changed:
            return False
        before = {field: getattr(feedback, field) for field in changed}
        for field, value in changed.items():
            setattr(feedback, field, value)
        audit.record(
            self.session,
            actor_id=actor.id,
            action="feedback.classified",
            record_type="feedback",
            record_ref=feedback.ref or "",
            before=before,
            after=dict(changed),
        )
        changelog.record(self.session, "feedback", [feedback.id])
        return True

    def not_cms(self, ref: str, reason: object, actor: User) -> Feedback:
        """Close the feedback as not about the CMS; the reason is shown to the sender."""
        text = self._reason(reason, "not_cms_reason")
        begin_write(self.session)
        try:
            feedback = self.get(ref)
            self._mark_not_cms(feedback, text, actor, field="not_cms_reason")
            self.session.commit()
        except BaseException:
            self.session.rollback()
            raise
        return feedback

    @staticmethod
    def _reason(reason: object, field: str) -> str:
        text = " ".join(clean_text(reason if isinstance(reason, str) else "").split())
        if not text:
            raise ValidationFailed({field: "Enter why this is not about the CMS: the sender will see it"})
        if len(text) > REASON_MAX:
            raise ValidationFailed(
                {field: f"The reason must be {REASON_MAX} characters or fewer (you wrote {len(text):,})"}
            )
        return text

    def _mark_not_cms(self, feedback: Feedback, reason: str, actor: User, *, field: str) -> bool:
        """False if it already was (a form sent twice changes nothing and says nothing twice)."""
        if feedback.issue is not None:
            raise ValidationFailed(
                {field: f"{feedback.ref} is part of {feedback.issue.ref}: remove it from the issue first"}
            )
        if feedback.status == FeedbackStatus.NOT_CMS and feedback.closed_reason == reason:
            return False
        if feedback.status not in UNTRIAGED and feedback.status != FeedbackStatus.NOT_CMS:
            raise ValidationFailed({field: f"{feedback.ref} is already closed"})
        if (
            feedback.held and feedback.personal_data
        ):  # the reason reaches the sender as a reply: review it first
            message = f"{HELD_REPLY_MESSAGE} in {feedback.ref}: the reason is sent to its sender as a reply"
            raise ValidationFailed({field: message})
        before = {"status": feedback.status, "closed_reason": feedback.closed_reason}
        feedback.status = FeedbackStatus.NOT_CMS.value
        feedback.closed_reason = reason
        after: dict[str, Any] = {"status": feedback.status, "closed_reason": reason}
        self._triaged(feedback, actor)
        if not feedback.held:  # held without flagged spans (safeguarding only): no reply, the status says it
            self._tell_sender(feedback, f"Not about the CMS: {reason}", actor)
        audit.record(
            self.session,
            actor_id=actor.id,
            action="feedback.not_cms",
            record_type="feedback",
            record_ref=feedback.ref or "",
            before=before,
            after=after,
        )
        changelog.record(self.session, "feedback", [feedback.id])
        return True

    def _tell_sender(self, feedback: Feedback, text: str, actor: User) -> None:
        """Why their feedback was closed, as a public reply the sender reads on My feedback (or their follow
        link). Never on held feedback: callers refuse or skip that."""
        comment = Comment(
            author_id=actor.id, visibility=Visibility.PUBLIC.value, body=text, feedback=feedback
        )
        self.session.add(comment)
        self.session.flush()
        audit.record(
            self.session,
            actor_id=actor.id,
            action="comment.added",
            record_type="feedback",
            record_ref=feedback.ref or "",
            after={"comment": comment.id, "visibility": Visibility.PUBLIC.value, "body": text},
        )

    def _triaged(self, feedback: Feedback, actor: User) -> None:
        triaged.mark(self.session, feedback, actor.id)

    def ask(self, ref: str, question: object, actor: User) -> Feedback:
        """A question to the sender: a public reply on their feedback, which stays in the queue (being looked
        at) until it is triaged. Not for anonymous feedback (nobody can answer) nor held feedback."""
        feedback = self.get(ref)
        if feedback.submitter_id is None:
            raise ValidationFailed(
                {
                    "question": "This feedback was sent anonymously, so nobody can answer a question. "
                    "Link it, make an issue from it, or reply on the issue instead."
                }
            )
        try:
            CommentService(self.session).add(
                "feedback", feedback.ref or "", Visibility.PUBLIC.value, question, actor
            )
        except ValidationFailed as failed:  # the reply form's field is "reply"; here it is the question
            raise ValidationFailed({"question": next(iter(failed.errors.values()))}) from None
        begin_write(self.session)
        try:
            feedback = self.get(ref)
            if feedback.status == FeedbackStatus.RECEIVED:
                feedback.status = FeedbackStatus.UNDER_REVIEW.value
                audit.record(
                    self.session,
                    actor_id=actor.id,
                    action="feedback.status_changed",
                    record_type="feedback",
                    record_ref=feedback.ref or "",
                    before={"status": FeedbackStatus.RECEIVED.value},
                    after={"status": FeedbackStatus.UNDER_REVIEW.value},
                )
                changelog.record(self.session, "feedback", [feedback.id])
            self._notify_sender(feedback, clean_text(question))
            self.session.commit()
        except BaseException:
            self.session.rollback()
            raise
        return feedback

    def _notify_sender(self, feedback: Feedback, question: str) -> None:
        """The sender is told there is a question (in the portal, and by email when SMTP is configured)."""
        from feedback_portal.notifications.models import Notification, OutboxEmail
        from feedback_portal.notifications.services import EMAIL_FOOTER, SETTINGS_KEY

        if feedback.submitter is None:
            return
        now = utcnow()
        subject = f"Business support have a question about your feedback {feedback.ref}"
        notification = Notification(
            user_id=feedback.submitter.id,
            created_at=now,
            subject=subject,
            body=question,
            link=f"/feedback/{feedback.ref}",
        )
        self.session.add(notification)
        settings = self.session.info.get(SETTINGS_KEY)
        if settings is not None and settings.smtp_configured and feedback.submitter.email:
            self.session.flush()
            self.session.add(
                OutboxEmail(
                    notification_id=notification.id,
                    to_address=feedback.submitter.email,
                    subject=subject,
                    body_text=f"{question}\n\nYou can read it on your feedback's page: /feedback/{feedback.ref}\n\n--\n"
                    f"{EMAIL_FOOTER}\n",
                    created_at=now,
                    attempts=0,
                    next_attempt_at=now,
                )
            )

    def mark_duplicate(self, ref: str, target: object, actor: User) -> str:
        """The same as other feedback or an issue: the sender's voice becomes a "me too" on it.

        - Target an issue (ISS-…), or feedback that is part of one: the feedback is linked to that issue (so
          its evidence counts it) and its identified sender gets a "me too" on the issue.
        - Target untriaged feedback: the sender gets a "me too" on that feedback (it follows that feedback to
          whatever issue it joins) and this feedback is closed as a duplicate, with the reason shown to them.
          Anonymous feedback has nobody to add a "me too" for: it is still closed as the same, and still counts
          where the other feedback goes through its own record as a duplicate.
        Returns the ref it was marked the same as.
        """
        wanted = clean_text(target if isinstance(target, str) else "")
        if not wanted:
            raise ValidationFailed(
                {"target": "Enter the feedback or issue it is the same as, like FB-000123 or ISS-0001"}
            )
        issue_ref = normalise_issue_ref(wanted) if wanted.upper().startswith("ISS") else None
        feedback_refs, _ = parse_feedback_refs(wanted) if issue_ref is None else ([], [])
        if issue_ref is None and len(feedback_refs) != 1:
            raise ValidationFailed({"target": "Enter one reference, like FB-000123 or ISS-0001"})
        begin_write(self.session)
        try:
            feedback = self.get(ref)
            if issue_ref is None and feedback_refs[0] == feedback.ref:
                raise ValidationFailed(
                    {"target": "Feedback cannot be the same as itself: enter another reference"}
                )
            issue, other = self._duplicate_target(issue_ref, feedback_refs)
            if issue is not None:
                service = IssueService(self.session)
                issue = service._final_issue(issue)
                if feedback.issue_id != issue.id:
                    service._attach(issue, [feedback], actor)
                    if service.triaged_now:  # set by _attach without an event of its own: record it here
                        audit.record(
                            self.session,
                            actor_id=actor.id,
                            action="feedback.triaged",
                            record_type="feedback",
                            record_ref=feedback.ref or "",
                            before={"triaged_at": None},
                            after={"triaged_at": feedback.triaged_at.isoformat()},
                        )
                self._voice(feedback, {"issue_id": issue.id}, actor, "issue", issue.ref or "")
                result = issue.ref or ""
            else:
                assert other is not None
                self._voice(feedback, {"feedback_id": other.id}, actor, "feedback", other.ref or "")
                before = {"status": feedback.status, "closed_reason": feedback.closed_reason}
                feedback.status = FeedbackStatus.CLOSED.value
                feedback.closed_reason = f"The same as {other.ref}: your voice has been added to it."
                after: dict[str, Any] = {"status": feedback.status, "duplicate_of": other.ref}
                self._triaged(feedback, actor)
                if not feedback.held:
                    self._tell_sender(feedback, feedback.closed_reason, actor)
                audit.record(
                    self.session,
                    actor_id=actor.id,
                    action="feedback.duplicate",
                    record_type="feedback",
                    record_ref=feedback.ref or "",
                    before=before,
                    after=after,
                )
                changelog.record(self.session, "feedback", [feedback.id, other.id])
                result = other.ref or ""
            self.session.commit()
        except BaseException:
            self.session.rollback()
            raise
        return result

    def _duplicate_target(
        self, issue_ref: str | None, feedback_refs: list[str]
    ) -> tuple[Issue | None, Feedback | None]:
        if issue_ref is not None:
            issue = self.session.scalar(sa.select(Issue).where(Issue.ref == issue_ref))
            if issue is None:
                raise ValidationFailed({"target": f"There is no issue {issue_ref}"})
            return issue, None
        other = self.session.scalar(self._select().where(Feedback.ref == feedback_refs[0]))
        if other is None:
            raise ValidationFailed({"target": f"There is no feedback {feedback_refs[0]}"})
        if other.issue is not None:
            return other.issue, None
        if other.status not in UNTRIAGED:
            raise ValidationFailed(
                {
                    "target": f"{other.ref} is closed ({FeedbackStatus(other.status).label.lower()}): "
                    "choose feedback that is still open, or an issue"
                }
            )
        return None, other

    def _voice(
        self, feedback: Feedback, target: dict[str, int], actor: User, record_type: str, record_ref: str
    ) -> None:
        """The sender's "me too" on the target, unless they have one there already (anonymous: nobody to add)."""
        if feedback.submitter_id is None:
            return
        existing = self.session.scalar(sa.select(MeToo).filter_by(user_id=feedback.submitter_id, **target))
        if existing is not None:
            return
        self.session.add(
            MeToo(user_id=feedback.submitter_id, team_id=feedback.team_id, impact=feedback.impact, **target)
        )
        audit.record(
            self.session,
            actor_id=actor.id,
            action="me_too.added_from_duplicate",
            record_type=record_type,
            record_ref=record_ref,
            after={"impact": feedback.impact, "from_feedback": feedback.ref},
        )
        self.session.flush()

    # Bulk actions

    def bulk(
        self,
        action: object,
        refs: object,
        actor: User,
        *,
        all_matching: QueueFilters | None = None,
        values: Mapping[str, Any] | None = None,
    ) -> BulkResult:
        """Apply one action to many feedback at once: all of them in one transaction, or none (with the
        problem beside its field). `all_matching` selects every item the filters match instead of `refs`."""
        values = values or {}
        errors: dict[str, str] = {}
        if action not in BULK_ACTIONS:
            raise ValidationFailed({"bulk_action": "Choose what to do with the selected feedback"})
        if all_matching is not None:
            wanted = self.matching_refs(all_matching)
        else:
            wanted, bad = parse_feedback_refs(refs)
            if bad:
                errors["items"] = "Some of the selected items are not feedback references"
        if not wanted and "items" not in errors:
            errors["items"] = "Select at least one feedback, or all that match the filters"
        clean: dict[str, str] = {}
        reason = ""
        issue_ref: str | None = None
        if action == "link":
            issue_ref = normalise_issue_ref(
                values.get("bulk_issue") if isinstance(values.get("bulk_issue"), str) else ""
            )
            if issue_ref is None:
                errors["bulk_issue"] = "Enter the issue to link them to, like ISS-0001"
        elif action == "classify":
            clean, problems = self._clean_classification(
                {field: values.get(f"bulk_{field}") for field in CLASSIFY_FIELDS}
            )
            errors.update({f"bulk_{field}": message for field, message in problems.items()})
        else:
            try:
                reason = self._reason(values.get("bulk_reason"), "bulk_reason")
            except ValidationFailed as failed:
                errors.update(failed.errors)
        if errors:
            raise ValidationFailed(errors)

        begin_write(self.session)
        try:
            found = {
                row.ref: row
                for row in self.session.scalars(self._select().where(Feedback.ref.in_(wanted))).unique()
            }
            missing = [ref for ref in wanted if ref not in found]
            if missing:
                raise ValidationFailed({"items": "There is no feedback " + ", ".join(missing[:5])})
            items = [found[ref] for ref in wanted]
            if action == "link":
                issue = self.session.scalar(sa.select(Issue).where(Issue.ref == issue_ref))
                if issue is None:
                    raise ValidationFailed({"bulk_issue": f"There is no issue {issue_ref}"})
                if issue.merged_into is not None:
                    raise ValidationFailed(
                        {
                            "bulk_issue": f"{issue.ref} has been merged into {issue.merged_into.ref}: link to that instead"
                        }
                    )
                service = IssueService(self.session)
                before = service._feedback_refs_of(issue)
                moved = service._attach(issue, items, actor)
                audit.record(
                    self.session,
                    actor_id=actor.id,
                    action="issue.feedback_linked",
                    record_type="issue",
                    record_ref=issue.ref or "",
                    before={"feedback": before},
                    after={
                        "feedback": service._feedback_refs_of(issue),
                        "moved_from": moved,
                        "bulk": True,
                        **service._triaged_note(),
                    },
                )
                message = f"{_count(items)} linked to {issue.ref}: {_refs(wanted)}."
            elif action == "classify":
                changed = [item.ref for item in items if self._apply_classification(item, clean, actor)]
                unchanged = len(items) - len(changed)
                message = f"{_count(changed)} updated" + (f": {_refs(changed)}" if changed else "") + "."
                if unchanged:
                    message += f" {_count(range(unchanged))} already had those values."
            else:
                linked = [item for item in items if item.issue is not None]
                if linked:
                    shown = ", ".join(f"{item.ref} ({item.issue.ref})" for item in linked[:5])
                    raise ValidationFailed(
                        {
                            "items": f"Some selected feedback is part of an issue, so nothing was changed: {shown}. "
                            "Remove it from the selection."
                        }
                    )
                marked = [
                    item.ref or ""
                    for item in items
                    if self._mark_not_cms(item, reason, actor, field="bulk_reason")
                ]
                message = f"{_count(marked)} marked not about the CMS" + (
                    f": {_refs(marked)}. The senders will see your reason." if marked else "."
                )
                if len(marked) < len(items):
                    message += f" {_count(range(len(items) - len(marked)))} already were."
            self.session.commit()
        except BaseException:
            self.session.rollback()
            raise
        return BulkResult(str(action), wanted, message)


def _count(items: Sequence[Any] | range) -> str:
    number = len(items)
    return f"{number:,} feedback item" + ("" if number == 1 else "s")


def _refs(refs: Sequence[str], shown: int = 10) -> str:
    text = ", ".join(refs[:shown])
    return text + (f" and {len(refs) - shown:,} more" if len(refs) > shown else "")
