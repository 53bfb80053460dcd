"""Telling contributors what happened to an issue ("you said, we did"), and reading one's notifications.

notify_contributors() runs inside the caller's transaction: it adds rows and flushes, and never commits.
Who is told: each person who sent named or business-support-only feedback now on the issue, and each
person who said "me too" on the issue or on any of its feedback, once each however often they spoke.
Anonymous feedback stores nobody, so nobody is told about it here (those senders follow a private link).
A message names nobody and quotes no feedback: only the issue's title, its status and the board's words.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy import orm

from feedback_portal.accounts.models import Role, User
from feedback_portal.db import begin_write, utcnow
from feedback_portal.feedback.models import Feedback
from feedback_portal.feedback.vocabulary import Anonymity
from feedback_portal.issues.models import Issue, IssueStatus, MeToo
from feedback_portal.notifications.models import LINK_MAX, SUBJECT_MAX, Notification, OutboxEmail
from feedback_portal.settings import Settings

PAGE_SIZE = 20
# Roles that may open an issue's page; everyone else is linked to their own feedback, if they sent some.
ISSUE_READERS = frozenset({Role.BUSINESS_SUPPORT, Role.BOARD, Role.ADMIN})
IDENTIFIED = (Anonymity.NAMED.value, Anonymity.BUSINESS_SUPPORT_ONLY.value)
SETTINGS_KEY = "settings"  # session.info[SETTINGS_KEY]: the portal's Settings (create_app puts it there)
EMAIL_FOOTER = (
    "You are getting this email because you gave feedback about this, or said “me too”.\n"
    "Sign in to CMS Feedback and open Notifications to see all your updates."
)


def _one_line(value: object) -> str:
    return " ".join(str(value or "").split())


def _paragraphs(value: object) -> str:
    """Text as the person wrote it, minus stray spaces and runs of blank lines."""
    lines = [line.rstrip() for line in str(value or "").replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    text = "\n".join(lines).strip()
    while "\n\n\n" in text:
        text = text.replace("\n\n\n", "\n\n")
    return text


def _status_label(value: object) -> str:
    try:
        return IssueStatus(str(value)).label
    except ValueError:
        return _one_line(value).replace("-", " ").capitalize()


@dataclasses.dataclass(frozen=True)
class Message:
    subject: str
    body: str


def compose(issue: Issue, event: Mapping[str, Any]) -> Message:
    """The words every contributor gets: the issue title (what they said), then what was done."""
    title = _one_line(issue.title)
    status = event.get("status") or issue.status
    label = _status_label(status)
    reason = _paragraphs(event.get("reason") or event.get("status_reason"))
    reply = _paragraphs(event.get("public_response") or event.get("reply"))
    lines = [f"You said: {title}", "", f"We did: {label}."]
    if reason:
        lines += ["", f"Why: {reason}"]
    if reply:
        lines += ["", "What we have to say about it:", reply]
    subject = f"{label}: {title}"
    if len(subject) > SUBJECT_MAX:
        subject = subject[: SUBJECT_MAX - 1].rstrip() + "…"
    return Message(subject=subject, body="\n".join(lines))


def _issue_ids(session: orm.Session, issue: Issue) -> list[int]:
    """The issue and every issue merged into it (whose leftover "me too"s still count)."""
    ids = [issue.id]
    frontier = [issue.id]
    while frontier:
        merged = [
            row
            for row in session.scalars(sa.select(Issue.id).where(Issue.merged_into_id.in_(frontier)))
            if row not in ids
        ]
        ids += merged
        frontier = merged
    return ids


def contributors(session: orm.Session, issue: Issue) -> list[tuple[User, str | None]]:
    """Each person to tell (active users only, each once) and their own feedback on the issue, if any."""
    issue_ids = _issue_ids(session, issue)
    own: dict[int, str | None] = {}
    for user_id, ref in session.execute(
        sa.select(Feedback.submitter_id, Feedback.ref)
        .where(
            Feedback.issue_id.in_(issue_ids),
            Feedback.submitter_id.is_not(None),
            Feedback.anonymity.in_(IDENTIFIED),
        )
        .order_by(Feedback.submitted_at.desc(), Feedback.id.desc())
    ):
        own.setdefault(user_id, ref)  # their latest feedback on it
    me_too_users = session.scalars(
        sa.select(MeToo.user_id)
        .select_from(MeToo)
        .outerjoin(Feedback, MeToo.feedback_id == Feedback.id)
        .where(sa.or_(MeToo.issue_id.in_(issue_ids), Feedback.issue_id.in_(issue_ids)))
        .distinct()
    )
    wanted = set(own) | set(me_too_users)
    if not wanted:
        return []
    users = session.scalars(
        sa.select(User).where(User.id.in_(wanted), User.active.is_(True)).order_by(User.id)
    ).unique()
    return [(user, own.get(user.id)) for user in users]


def _link(user: User, issue: Issue, own_ref: str | None) -> str | None:
    if user.role in ISSUE_READERS and issue.ref:
        link = f"/issues/{issue.ref}"
    elif own_ref:
        link = f"/feedback/{own_ref}"
    else:
        return None
    return link if len(link) <= LINK_MAX else None


def notify_contributors(
    session: orm.Session, issue: Issue, event: Mapping[str, Any], *, settings: Settings | None = None
) -> int:
    """Tell everyone who spoke up about `issue` what happened to it; returns how many people were told.

    `event` says what happened (every key is optional):
      "status": the issue's new status (an IssueStatus value; default: the issue's current status);
      "reason": why, in words for staff ("status_reason" is accepted too);
      "public_response": the board's public reply ("reply" is accepted too).
    Each contributor gets one in-app Notification and, when SMTP is configured (settings.smtp_host), one
    OutboxEmail that the outbox sender delivers later. Runs in the caller's transaction: flushes, never
    commits, so the notifications are saved if and only if the caller's change is. `settings` defaults
    to session.info["settings"], which create_app sets on every session it makes; without it, in-app only.
    """
    if settings is None:
        settings = session.info.get(SETTINGS_KEY)
    email = bool(settings is not None and settings.smtp_configured)
    message = compose(issue, event)
    now = utcnow()
    people = contributors(session, issue)
    notifications = []
    for user, own_ref in people:
        notification = Notification(
            user_id=user.id,
            created_at=now,
            subject=message.subject,
            body=message.body,
            link=_link(user, issue, own_ref),
        )
        session.add(notification)
        notifications.append((user, notification))
    if email and notifications:
        session.flush()  # the notifications' ids, for their emails
        for user, notification in notifications:
            if user.email:
                session.add(
                    OutboxEmail(
                        notification_id=notification.id,
                        to_address=user.email,
                        subject=message.subject,
                        body_text=f"{message.body}\n\n--\n{EMAIL_FOOTER}\n",
                        created_at=now,
                        attempts=0,
                        next_attempt_at=now,
                    )
                )
    session.flush()
    return len(people)


# Reading notifications


@dataclasses.dataclass(frozen=True)
class NotificationPage:
    items: Sequence[Notification]
    unread_ids: frozenset[int]  # which of the items were unread when the page was opened
    number: int
    size: int
    total: int
    unread_left: int  # unread notifications not on this page (after it marked its own as read)

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.size))


class NotificationService:
    def __init__(self, session: orm.Session) -> None:
        self.session = session

    def unread_count(self, user_id: int) -> int:
        return self.session.scalar(
            sa.select(sa.func.count(Notification.id)).where(
                Notification.user_id == user_id, Notification.read_at.is_(None)
            )
        ) or 0

    def open_page(self, user: User, page: int = 1, size: int = PAGE_SIZE) -> NotificationPage:
        """The person's notifications, newest first; those shown are marked read (they have now seen them)."""
        begin_write(self.session)
        try:
            total = self.session.scalar(
                sa.select(sa.func.count(Notification.id)).where(Notification.user_id == user.id)
            ) or 0
            pages = max(1, math.ceil(total / size))
            page = min(max(1, page), pages)
            items = list(
                self.session.scalars(
                    sa.select(Notification)
                    .where(Notification.user_id == user.id)
                    .order_by(Notification.created_at.desc(), Notification.id.desc())
                    .limit(size)
                    .offset((page - 1) * size)
                )
            )
            unread = frozenset(item.id for item in items if item.read_at is None)
            if unread:
                self.session.execute(
                    sa.update(Notification)
                    .where(Notification.id.in_(unread), Notification.read_at.is_(None))
                    .values(read_at=utcnow())
                    .execution_options(synchronize_session=False)
                )
            left = self.unread_count(user.id)
            self.session.commit()
        except BaseException:
            self.session.rollback()
            raise
        return NotificationPage(items, unread, page, size, total, left)

    def mark_all_read(self, user: User) -> int:
        begin_write(self.session)
        try:
            result = self.session.execute(
                sa.update(Notification)
                .where(Notification.user_id == user.id, Notification.read_at.is_(None))
                .values(read_at=utcnow())
                .execution_options(synchronize_session=False)
            )
            self.session.commit()
        except BaseException:
            self.session.rollback()
            raise
        return result.rowcount or 0
