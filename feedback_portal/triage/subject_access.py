"""Subject access: everything the portal holds about one person, as JSON.

Their account; the feedback they sent with their name or with it visible to business support only (the text as
held now: pieces that may identify someone else are replaced by placeholders); public replies on it; comments
they wrote; their "me too"s; their notifications; audit events where they were the actor (what and when:
the before/after values are left out, as they hold other people's records); their sign-in sessions (when,
never the session token) and recent failed sign-ins for their email.

Anonymous feedback is not in it, by design: no identity is stored with it, so it cannot be attributed to
anyone — the export says so.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy import orm

from feedback_portal.accounts.models import LoginAttempt, SignInSession, User
from feedback_portal.audit import models as audit
from feedback_portal.audit.models import AuditEvent
from feedback_portal.db import begin_write, utcnow
from feedback_portal.errors import ValidationFailed
from feedback_portal.feedback.models import Comment, Feedback
from feedback_portal.feedback.privacy import redacted_snapshot
from feedback_portal.issues.models import Issue, MeToo
from feedback_portal.notifications.models import Notification

ANONYMOUS_NOTE = (
    "Feedback sent anonymously is not included: the portal stores no identity with it (not even in its logs "
    "or audit trail), so it cannot be attributed to anyone, including this person."
)


def _iso(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value else None


def find_user(session: orm.Session, email: object) -> User:
    text = str(email or "").strip()
    if not text:
        raise ValidationFailed({"email": "Enter the email address of the person"})
    if "@" not in text or len(text) > 254:
        raise ValidationFailed({"email": "Enter an email address, like name@council.example"})
    user = session.scalar(sa.select(User).where(sa.func.lower(User.email) == text.lower()))
    if user is None:
        raise ValidationFailed({"email": f"Nobody with the email address {text} has an account"})
    return user


def export(session: orm.Session, user: User) -> dict[str, Any]:
    feedback = list(
        session.scalars(
            sa.select(Feedback)
            .where(Feedback.submitter_id == user.id)
            .order_by(Feedback.submitted_at, Feedback.id)
        ).unique()
    )
    comments = list(
        session.scalars(sa.select(Comment).where(Comment.author_id == user.id).order_by(Comment.id))
    )
    feedback_refs = {row.id: row.ref for row in session.execute(sa.select(Feedback.id, Feedback.ref))}
    issue_refs = {row.id: row.ref for row in session.execute(sa.select(Issue.id, Issue.ref))}
    me_toos = list(session.scalars(sa.select(MeToo).where(MeToo.user_id == user.id).order_by(MeToo.id)))
    notifications = list(
        session.scalars(
            sa.select(Notification).where(Notification.user_id == user.id).order_by(Notification.id)
        )
    )
    events = list(
        session.scalars(sa.select(AuditEvent).where(AuditEvent.actor_id == user.id).order_by(AuditEvent.id))
    )
    sessions = list(
        session.scalars(
            sa.select(SignInSession)
            .where(SignInSession.user_id == user.id)
            .order_by(SignInSession.created_at)
        )
    )
    failed = list(
        session.scalars(
            sa.select(LoginAttempt.attempted_at)
            .where(sa.func.lower(LoginAttempt.email) == user.email.lower())
            .order_by(LoginAttempt.attempted_at)
        )
    )
    return {
        "generated_at": _iso(utcnow()),
        "about_anonymous_feedback": ANONYMOUS_NOTE,
        "account": {
            "email": user.email,
            "name": user.name,
            "role": user.role,
            "team": user.team.name if user.team else None,
            "active": user.active,
            "created_at": _iso(user.created_at),
            "has_password": user.password_hash is not None,
            "has_api_token": user.api_token_hash is not None,
        },
        "feedback": [_feedback(item) for item in feedback],
        "comments_written": [
            {
                "on": feedback_refs.get(comment.feedback_id) or issue_refs.get(comment.issue_id),
                "visibility": comment.visibility,
                "body": comment.body,
                "created_at": _iso(comment.created_at),
            }
            for comment in comments
        ],
        "me_toos": [
            {
                "feedback": feedback_refs.get(item.feedback_id),
                "issue": issue_refs.get(item.issue_id),
                "impact": item.impact,
                "created_at": _iso(item.created_at),
            }
            for item in me_toos
        ],
        "notifications": [
            {
                "subject": n.subject,
                "body": n.body,
                "link": n.link,
                "created_at": _iso(n.created_at),
                "read_at": _iso(n.read_at),
            }
            for n in notifications
        ],
        "audit_events_as_actor": [
            {"at": _iso(e.at), "action": e.action, "record_type": e.record_type, "record_ref": e.record_ref}
            for e in events
        ],
        "sign_in_sessions": [
            {"created_at": _iso(s.created_at), "expires_at": _iso(s.expires_at)} for s in sessions
        ],
        "failed_sign_ins": [_iso(when) for when in failed],
    }


def _feedback(item: Feedback) -> dict[str, Any]:
    text = redacted_snapshot(item.title, item.body, item.personal_data or [])
    return {
        "ref": item.ref,
        "anonymity": item.anonymity,
        "title": text["title"],
        "body": text["body"],
        "module": item.module,
        "kind": item.kind,
        "impact": item.impact,
        "frequency": item.frequency,
        "team": item.team.name if item.team else None,
        "status": item.status,
        "closed_reason": item.closed_reason,
        "issue": item.issue.ref if item.issue else None,
        "submitted_at": _iso(item.submitted_at),
        "screenshots": [attachment.filename for attachment in item.attachments],
        "public_replies": [
            {"body": c.body, "created_at": _iso(c.created_at)}
            for c in item.comments
            if c.visibility == "public"
        ],
    }


def record(session: orm.Session, actor: User | None, subject: User) -> None:
    """Who exported whose data, and when (the subject by account id: the export itself is the data)."""
    begin_write(session)
    try:
        audit.record(
            session,
            actor_id=actor.id if actor else None,
            action="subject_access.exported",
            record_type="user",
            record_ref=str(subject.id),
        )
        session.commit()
    except BaseException:
        session.rollback()
        raise
