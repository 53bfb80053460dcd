"""Internal notes and public replies, on feedback and on issues.

An internal note is for business support, the board and admins only, and is never shown to the staff who
gave feedback (not on any page, nor in the API). A public reply is read by them: on My feedback, on their
feedback's page, and (for an issue's replies) on every feedback linked to the issue. Notes may be added by
business support, the board and admins; public replies by business support and admins. Every comment is
audited, and a public reply on an issue tells its contributors (see notify.py).
"""

from __future__ import annotations

import enum
from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy import orm

from feedback_portal.accounts.models import Role, User
from feedback_portal.audit import models as audit
from feedback_portal.db import begin_write
from feedback_portal.errors import Conflict, Forbidden, NotFound, ValidationFailed
from feedback_portal.feedback.models import Comment, Feedback
from feedback_portal.feedback.services import clean_text
from feedback_portal.issues.models import Issue
from feedback_portal.issues.notify import NotificationHook
from feedback_portal.issues.services import normalise_issue_ref

BODY_MAX = 5000
HELD_REPLY_MESSAGE = "Redact or clear the personal data before replying"
READERS = frozenset({Role.BUSINESS_SUPPORT, Role.BOARD, Role.ADMIN})


class Visibility(enum.StrEnum):
    INTERNAL = "internal"
    PUBLIC = "public"

    @property
    def field(self) -> str:
        """The form field (and error key) for its text."""
        return "note" if self is Visibility.INTERNAL else "reply"

    @property
    def noun(self) -> str:
        return "internal note" if self is Visibility.INTERNAL else "public reply"


# Who may add each kind.
WRITERS = {
    Visibility.INTERNAL: frozenset({Role.BUSINESS_SUPPORT, Role.BOARD, Role.ADMIN}),
    Visibility.PUBLIC: frozenset({Role.BUSINESS_SUPPORT, Role.ADMIN}),
}


def can_see_internal(viewer: User | None) -> bool:
    return viewer is not None and viewer.role_enum in READERS


def can_write(viewer: User | None, visibility: Visibility) -> bool:
    return viewer is not None and viewer.role_enum in WRITERS[visibility]


def visible_to(comments: Sequence[Comment], viewer: User | None) -> list[Comment]:
    """The comments this person may read: everything for readers, public replies for anyone else."""
    return [c for c in comments if c.visibility == Visibility.PUBLIC or can_see_internal(viewer)]


class CommentService:
    def __init__(self, session: orm.Session, notify: NotificationHook | None = None) -> None:
        self.session = session
        self.notify = notify or NotificationHook()

    def add(self, record_type: str, ref: str, visibility: object, body: object, actor: User) -> Comment:
        """Add a note or reply to feedback ("feedback") or an issue ("issue"), committed and audited."""
        if record_type not in {"feedback", "issue"}:
            raise ValueError(f"comments are on feedback or issues, not {record_type!r}")
        if visibility not in {v.value for v in Visibility}:
            raise ValidationFailed({"visibility": "Say whether it is an internal note or a public reply"})
        kind = Visibility(str(visibility))
        if not can_write(actor, kind):
            raise Forbidden(
                "Only business support and administrators can reply to staff"
                if kind is Visibility.PUBLIC
                else "Your role does not give you access to this page"
            )
        if body is not None and not isinstance(body, str):
            raise ValidationFailed({kind.field: f"The {kind.noun} must be text"})
        text = clean_text(body)
        if not text:
            raise ValidationFailed({kind.field: f"Enter the {kind.noun}"})
        if len(text) > BODY_MAX:
            message = f"The {kind.noun} must be {BODY_MAX:,} characters or fewer (you wrote {len(text):,})"
            raise ValidationFailed({kind.field: message})

        begin_write(self.session)
        try:
            target = self._target(record_type, ref)
            if getattr(target, "hidden_from_readers", False) and not actor.is_triage:
                # Restricted or held feedback: business support and admins only (as FeedbackService.get).
                raise Forbidden("Only business support and administrators can see this feedback")
            if kind is Visibility.PUBLIC and isinstance(target, Feedback) and target.held:
                # A reply or question to the sender could repeat what may identify someone: deal with it first.
                raise ValidationFailed({kind.field: HELD_REPLY_MESSAGE})
            comment = Comment(author_id=actor.id, visibility=kind.value, body=text)
            if isinstance(target, Issue):
                comment.issue_id = target.id
            else:
                comment.feedback = target
            self.session.add(comment)
            self.session.flush()
            audit.record(
                self.session,
                actor_id=actor.id,
                action="comment.added",
                record_type=record_type,
                record_ref=target.ref or "",
                after={"comment": comment.id, "visibility": kind.value, "body": text},
            )
            if isinstance(target, Issue) and kind is Visibility.PUBLIC:
                self.notify(self.session, target, {"kind": "reply", "summary": text, "reply": text})
            self.session.commit()
        except BaseException:
            self.session.rollback()
            raise
        return comment

    def _target(self, record_type: str, ref: str) -> Feedback | Issue:
        if record_type == "issue":
            wanted = normalise_issue_ref(ref)
            issue = self.session.scalar(sa.select(Issue).where(Issue.ref == wanted)) if wanted else None
            if issue is None:
                raise NotFound(f"There is no issue {clean_text(ref)[:20]}")
            if issue.merged_into is not None:
                raise Conflict(
                    f"{issue.ref} has been merged into {issue.merged_into.ref}: add it there instead."
                )
            return issue
        feedback = self.session.scalar(sa.select(Feedback).where(Feedback.ref == clean_text(ref).upper()))
        if feedback is None:
            raise NotFound(f"There is no feedback {clean_text(ref)[:20]}")
        return feedback
