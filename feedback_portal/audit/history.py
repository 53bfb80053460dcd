"""A record's audit trail as readable lines, for its page: "14 Nov 2026 10:32 — Bob Support changed status
from Investigating to Fix scheduled".

Only for business support, the board and admins (the pages decide who sees it). Anonymous submitters never
appear: their feedback's "submitted" event has no actor and reads "Submitted anonymously"; a
business-support-only submitter's name is shown to business support and admins only, as everywhere else.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy import orm

from feedback_portal.accounts.models import User
from feedback_portal.audit.models import VIEWED, AuditEvent
from feedback_portal.feedback.models import Feedback
from feedback_portal.feedback.services import Vocabularies
from feedback_portal.feedback.vocabulary import Anonymity, FeedbackStatus
from feedback_portal.issues.models import Issue, IssueStatus, Severity

QUOTE_MAX = 120
# Field names as a sentence says them: "changed target release from “2.3” to “2.4”".
FIELD_WORDS = {
    "status": "status",
    "status_reason": "reason",
    "severity": "severity",
    "owner": "owner",
    "title": "title",
    "summary": "summary",
    "body": "what happened",
    "module": "part of the CMS",
    "kind": "kind",
    "impact": "impact",
    "frequency": "how often",
    "team": "team",
    "anonymity": "name shown",
    "supplier_ref": "supplier reference",
    "target_release": "target release",
    "public_response": "public response",
    "closed_reason": "closing reason",
    "issue": "issue",
}
# Long text: the line says what it became, not what it was.
LONG_FIELDS = frozenset({"summary", "body", "public_response", "status_reason", "closed_reason"})
# Bookkeeping kept in before/after that is not a change anyone made.
HIDDEN_KEYS = frozenset({"version", "attachments", "moved_from"})


@dataclasses.dataclass(frozen=True)
class HistoryLine:
    at: dt.datetime
    text: str  # the sentence, without the time

    @property
    def when(self) -> str:
        return format_when(self.at)

    @property
    def iso(self) -> str:
        """For <time datetime>: whole seconds, as HTML allows at most three digits of fraction."""
        return self.at.astimezone(dt.UTC).replace(microsecond=0).isoformat()

    def __str__(self) -> str:
        return f"{self.when} — {self.text}"


def format_when(at: dt.datetime) -> str:
    """14 Nov 2026 10:32, in the server's time zone (as every other date in the portal)."""
    return at.astimezone().strftime("%-d %b %Y %H:%M")


def events_for(session: orm.Session, record_type: str, ref: str) -> list[AuditEvent]:
    """A record's audit events, newest first."""
    return list(
        session.scalars(
            sa.select(AuditEvent)
            .where(AuditEvent.record_type == record_type, AuditEvent.record_ref == ref)
            .order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
        )
    )


def for_feedback(session: orm.Session, feedback: Feedback, viewer: User | None) -> list[HistoryLine]:
    return describe(
        session,
        events_for(session, "feedback", feedback.ref or ""),
        viewer,
        anonymity=feedback.anonymity,
    )


def for_issue(session: orm.Session, issue: Issue, viewer: User | None) -> list[HistoryLine]:
    return describe(session, events_for(session, "issue", issue.ref or ""), viewer)


def describe(
    session: orm.Session,
    events: Sequence[AuditEvent],
    viewer: User | None,
    *,
    anonymity: str | None = None,
) -> list[HistoryLine]:
    """Readable lines for these events, in the order given (an event changing 3 fields gives 3 lines)."""
    actor_ids = {event.actor_id for event in events if event.actor_id is not None}
    names: dict[int, str] = {}
    if actor_ids:
        rows = session.execute(sa.select(User.id, User.name).where(User.id.in_(actor_ids)))
        names = {row.id: row.name for row in rows}
    words = Words(session)
    lines: list[HistoryLine] = []
    for event in events:
        who = names.get(event.actor_id, "Someone") if event.actor_id is not None else None
        for text in _sentences(event, who, viewer, anonymity, words):
            lines.append(HistoryLine(event.at, text))
    return lines


class Words:
    """Labels for stored values: statuses, severities, vocabulary slugs, owners (stored by email)."""

    def __init__(self, session: orm.Session) -> None:
        self.session = session
        self._vocabularies: Vocabularies | None = None
        self._owners: dict[str, str] = {}

    def vocabularies(self) -> Vocabularies:
        if self._vocabularies is None:
            self._vocabularies = Vocabularies(self.session)
        return self._vocabularies

    def owner(self, email: str) -> str:
        if email not in self._owners:
            name = self.session.scalar(sa.select(User.name).where(User.email == email))
            self._owners[email] = name or email
        return self._owners[email]

    def value(self, record_type: str, field: str, value: Any) -> str:
        if field == "status":
            statuses = IssueStatus if record_type == "issue" else FeedbackStatus
            return statuses(value).label if value in {s.value for s in statuses} else str(value)
        if field == "severity":
            return Severity(value).label if value in {s.value for s in Severity} else str(value)
        if field == "owner":
            return self.owner(str(value))
        if field in {"module", "kind", "impact", "frequency"}:
            return self.vocabularies().label(field, str(value))
        if field == "anonymity":
            return Anonymity(value).label if value in {a.value for a in Anonymity} else str(value)
        if field == "issue":
            return str(value)
        return _quote(value)


def _quote(value: Any) -> str:
    text = " ".join(str(value).split())
    if len(text) > QUOTE_MAX:
        text = text[: QUOTE_MAX - 1].rstrip() + "…"
    return f"“{text}”"


def _empty(value: Any) -> bool:
    return value is None or value == "" or value == []


def _field_changes(
    record_type: str, before: Mapping[str, Any], after: Mapping[str, Any], words: Words
) -> list[str]:
    sentences = []
    keys = [key for key in (*after.keys(), *(k for k in before if k not in after)) if key not in HIDDEN_KEYS]
    for key in keys:
        old, new = before.get(key), after.get(key)
        if old == new:
            continue
        if key == "triaged_at":  # the line's own time says when; a timestamp in words says nothing more
            if _empty(old):
                sentences.append("took it off the triage queue")
            continue
        field = FIELD_WORDS.get(key, key.replace("_", " "))
        if _empty(new):
            sentences.append(f"cleared {field}")
            continue
        now = words.value(record_type, key, new)
        if key in LONG_FIELDS:
            sentences.append(f"{'set' if _empty(old) else 'changed'} {field} to {now}")
        elif _empty(old):
            sentences.append(f"set {field} to {now}")
        else:
            sentences.append(f"changed {field} from {words.value(record_type, key, old)} to {now}")
    return sentences


def _refs(values: Iterable[Any]) -> str:
    refs = [str(value) for value in values]
    if len(refs) <= 1:
        return "".join(refs)
    return ", ".join(refs[:-1]) + " and " + refs[-1]


def _kinds(counts: Mapping[str, int]) -> str:
    """{"name": 2, "postcode": 1} -> "2 names and 1 postcode"."""
    from feedback_portal.feedback.privacy import KIND_LABELS

    parts = [
        f"{number} {KIND_LABELS.get(kind, kind)}{'' if number == 1 else 's'}"
        for kind, number in counts.items()
    ]
    return _refs(parts) or "nothing"


def _new_in(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[Any]:
    """The feedback refs in `new` that `old` did not have."""
    return [ref for ref in new.get("feedback", []) if ref not in old.get("feedback", [])]


def _sentences(
    event: AuditEvent, who: str | None, viewer: User | None, anonymity: str | None, words: Words
) -> list[str]:
    before, after = event.before or {}, event.after or {}
    actor = who or "Someone"
    kind = "feedback" if event.record_type == "feedback" else "issue"

    if event.action == "feedback.submitted":
        if anonymity == Anonymity.ANONYMOUS or (who is None and anonymity in {None, ""}):
            return ["Submitted anonymously"]
        if who is None:
            return ["Submitted"]
        if anonymity == Anonymity.BUSINESS_SUPPORT_ONLY and not (viewer and viewer.is_triage):
            return ["Submitted (name withheld)"]
        return [f"{who} submitted this feedback"]

    if event.action == "feedback.original_purged":
        return ["The original text kept after redaction was deleted"]

    simple: dict[str, Callable[[], str]] = {
        "feedback.linked": lambda: (
            f"moved this feedback from {before['issue']} to {after.get('issue')}"
            if before.get("issue")
            else f"added this feedback to {after.get('issue')}"
        ),
        "feedback.unlinked": lambda: f"removed this feedback from {before.get('issue')}",
        "issue.created": lambda: (
            "created this issue" + (f" from {_refs(after['feedback'])}" if after.get("feedback") else "")
        ),
        "issue.feedback_linked": lambda: f"added {_refs(_new_in(before, after))} to this issue",
        "issue.feedback_unlinked": lambda: f"removed {_refs(_new_in(after, before))} from this issue",
        "issue.merged": lambda: f"merged this issue into {after.get('target')}",
        "issue.merged_in": lambda: f"merged {after.get('source')} into this issue",
        "issue.merge_undone": lambda: (
            f"undid the merge of this issue into {after.get('target')}"
            if event.record_ref == after.get("source")
            else f"undid the merge of {after.get('source')} into this issue"
        ),
        "me_too.added": lambda: f"said “me too” ({words.value(kind, 'impact', after.get('impact'))})",
        "me_too.changed": lambda: (
            f"changed their “me too” to {words.value(kind, 'impact', after.get('impact'))}"
        ),
        "comment.added": lambda: (
            "added an internal note" if after.get("visibility") == "internal" else "added a public reply"
        ),
        VIEWED: lambda: f"viewed this {kind}",
        "feedback.redacted": lambda: f"redacted {_kinds(after['redacted'])} that could identify someone",
        "feedback.flag_cleared": lambda: f"cleared the personal data flag: {_quote(after['reason'])}",
    }
    if event.action in simple:
        try:
            return [f"{actor} {simple[event.action]()}"]
        except (KeyError, TypeError, ValueError):  # an older event without the details: say what happened
            return [f"{actor} {event.action.split('.', 1)[-1].replace('_', ' ')} ({event.action})"]
    if before or after:
        changes = _field_changes(event.record_type, before, after, words)
        if changes:
            return [f"{actor} {change}" for change in changes]
    return [f"{actor} {event.action.split('.', 1)[-1].replace('_', ' ')}"]
