"""Retention: feedback older than the admin's period (/admin/retention) is anonymised or deleted.

`feedback-portal retention apply --dry-run` says what would happen and changes nothing; without --dry-run the
same plan is applied in one transaction and summarised.

- Anonymise: the sender's identity goes (submitter, anonymity becomes anonymous, the follow link, their
  authorship of comments on it and of its audit events), and so do its screenshots, the original text kept
  after a redaction (as `privacy purge` does) and the flagged spans (held text is redacted first). The
  redacted text, module, kind, impact, team and dates stay, so an issue's evidence and counts stay.
- Delete: the feedback goes with its screenshots, its "me too"s and comments; its text is scrubbed from the
  audit trail (the events stay: who did what, when). Issue counts then count the evidence that is left, and the
  issue's audit trail records how many were removed by retention.
- Feedback on an OPEN issue (not fixed, closed, won't fix, guidance issued or training arranged) is kept as it
  is until the issue is finished: it is live evidence, and its sender must still hear "you said, we did". The
  plan lists it as kept, so the admin sees why.
"""

from __future__ import annotations

import calendar
import collections
import dataclasses
import datetime as dt
from collections.abc import Sequence
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy import orm

from feedback_portal.audit import models as audit
from feedback_portal.audit.models import AuditEvent
from feedback_portal.db import begin_write, utcnow
from feedback_portal.feedback.models import Attachment, Comment, Feedback
from feedback_portal.feedback.privacy import redacted_snapshot
from feedback_portal.feedback.vocabulary import Anonymity
from feedback_portal.indexing import changelog
from feedback_portal.issues.models import REASON_STATUSES, Issue, IssueStatus, MeToo
from feedback_portal.triage.admin_settings import RetentionPolicy

FINISHED = frozenset({IssueStatus.FIXED.value, IssueStatus.CLOSED.value, *(s.value for s in REASON_STATUSES)})
TEXT_KEYS = ("title", "body", "original_title", "original_body")


class RetentionNotSet(Exception):
    """No retention period has been set: nothing may be removed."""


@dataclasses.dataclass
class Plan:
    action: str
    months: int
    cutoff: dt.datetime
    refs: list[str] = dataclasses.field(default_factory=list)  # to anonymise or delete
    kept_open_issue: list[str] = dataclasses.field(default_factory=list)  # old, but on an open issue

    def lines(self, applied: bool) -> list[str]:
        verb = {"anonymise": "anonymised", "delete": "deleted"}[self.action]
        would = verb if applied else f"would be {verb}"
        lines = [
            f"Retention: feedback sent before {self.cutoff.date().isoformat()} ({self.months} months) is {verb}.",
            f"{len(self.refs):,} feedback {would}" + (f": {', '.join(self.refs)}" if self.refs else "."),
            f"{len(self.kept_open_issue):,} kept because their issue is still open"
            + (f": {', '.join(self.kept_open_issue)}" if self.kept_open_issue else "."),
        ]
        if not applied:
            lines.append("Dry run: nothing was changed.")
        return lines


def months_before(moment: dt.datetime, months: int) -> dt.datetime:
    """The same day `months` months earlier (the month's last day when it is shorter: 31 March → 28 February)."""
    year, month = divmod(moment.month - 1 - months, 12)
    year += moment.year
    month += 1
    return moment.replace(year=year, month=month, day=min(moment.day, calendar.monthrange(year, month)[1]))


def _needs_anonymising() -> sa.ColumnElement[bool]:
    has_files = sa.exists().where(Attachment.feedback_id == Feedback.id)
    return sa.or_(
        Feedback.submitter_id.is_not(None),
        Feedback.anonymity != Anonymity.ANONYMOUS.value,
        Feedback.original_body.is_not(None),
        Feedback.follow_token_hash.is_not(None),
        Feedback.held.is_(True),
        has_files,
    )


def plan(session: orm.Session, policy: RetentionPolicy, now: dt.datetime | None = None) -> Plan:
    if policy.months is None:
        raise RetentionNotSet("No retention period is set: an administrator sets it at /admin/retention.")
    cutoff = months_before(now or utcnow(), policy.months)
    conditions = [Feedback.submitted_at < cutoff]
    if policy.action == "anonymise":
        conditions.append(_needs_anonymising())
    rows = session.execute(
        sa.select(Feedback.ref, Issue.status)
        .outerjoin(Issue, Issue.id == Feedback.issue_id)
        .where(*conditions)
        .order_by(Feedback.submitted_at, Feedback.id)
    )
    result = Plan(policy.action, policy.months, cutoff)
    for ref, issue_status in rows:
        if issue_status is not None and issue_status not in FINISHED:
            result.kept_open_issue.append(ref)
        else:
            result.refs.append(ref)
    return result


def apply(
    session: orm.Session, policy: RetentionPolicy, uploads_dir: Path, now: dt.datetime | None = None
) -> Plan:
    """Carry out the plan in one transaction; screenshot files no longer referenced are removed afterwards."""
    begin_write(session)
    try:
        result = plan(session, policy, now)
        items = (
            list(
                session.scalars(
                    sa.select(Feedback)
                    .options(orm.lazyload(Feedback.comments))
                    .where(Feedback.ref.in_(result.refs))
                    .order_by(Feedback.id)
                ).unique()
            )
            if result.refs
            else []
        )
        files = {item.storage_name for feedback in items for item in feedback.attachments}
        removed_from: collections.Counter[str] = collections.Counter()
        for feedback in items:
            if result.action == "anonymise":
                _anonymise(session, feedback)
            else:
                if feedback.issue is not None:
                    removed_from[feedback.issue.ref or ""] += 1
                _delete(session, feedback)
        for issue_ref, number in removed_from.items():
            audit.record(
                session,
                actor_id=None,
                action="retention.feedback_deleted",
                record_type="issue",
                record_ref=issue_ref,
                after={"feedback_removed": number},
            )
        session.flush()
        still_used = set(session.scalars(sa.select(Attachment.sha256))) if files else set()
        session.commit()
    except BaseException:
        session.rollback()
        raise
    for name in files:
        if name.split(".")[0] not in still_used:
            (uploads_dir / name).unlink(missing_ok=True)
    return result


def _anonymise(session: orm.Session, feedback: Feedback) -> None:
    before = {
        "anonymity": feedback.anonymity,
        "attachments": len(feedback.attachments),
        "original_text": feedback.original_body is not None,
        "held": feedback.held,
    }
    submitter = feedback.submitter_id
    if feedback.personal_data:
        text = redacted_snapshot(feedback.title, feedback.body, feedback.personal_data)
        feedback.title, feedback.body = text["title"], text["body"]
    feedback.personal_data = []
    feedback.held = False
    feedback.submitter_id = None
    feedback.anonymity = Anonymity.ANONYMOUS.value
    feedback.follow_token_hash = None
    feedback.original_title = feedback.original_body = feedback.original_purge_after = None
    for attachment in list(feedback.attachments):
        session.delete(attachment)
    if submitter is not None:
        session.execute(
            sa.update(Comment)
            .where(Comment.feedback_id == feedback.id, Comment.author_id == submitter)
            .values(author_id=None)
        )
        session.execute(
            sa.update(AuditEvent)
            .where(
                AuditEvent.record_type == "feedback",
                AuditEvent.record_ref == feedback.ref,
                AuditEvent.actor_id == submitter,
            )
            .values(actor_id=None)
        )
    audit.record(
        session,
        actor_id=None,
        action="retention.anonymised",
        record_type="feedback",
        record_ref=feedback.ref or "",
        before=before,
        after={"anonymity": Anonymity.ANONYMOUS.value},
    )
    changelog.record(session, "feedback", [feedback.id])


def _delete(session: orm.Session, feedback: Feedback) -> None:
    ref, feedback_id = feedback.ref or "", feedback.id
    session.execute(sa.delete(MeToo).where(MeToo.feedback_id == feedback_id))
    session.execute(sa.delete(Comment).where(Comment.feedback_id == feedback_id))
    session.execute(sa.delete(Attachment).where(Attachment.feedback_id == feedback_id))
    _scrub_audit_text(session, ref)
    session.expunge(feedback)
    session.execute(sa.delete(Feedback).where(Feedback.id == feedback_id))
    audit.record(session, actor_id=None, action="retention.deleted", record_type="feedback", record_ref=ref)
    changelog.record(session, "feedback", [feedback_id])


def _scrub_audit_text(session: orm.Session, ref: str) -> None:
    events: Sequence[AuditEvent] = list(
        session.scalars(
            sa.select(AuditEvent).where(AuditEvent.record_type == "feedback", AuditEvent.record_ref == ref)
        )
    )
    for event in events:
        for side in ("before", "after"):
            value = getattr(event, side)
            if isinstance(value, dict) and any(key in value for key in TEXT_KEYS):
                setattr(
                    event,
                    side,
                    {
                        key: ("[removed by retention]" if key in TEXT_KEYS else item)
                        for key, item in value.items()
                    },
                )
