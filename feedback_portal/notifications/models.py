"""In-app notifications, and the outbox of emails waiting to be sent (one row per recipient)."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy import orm

from feedback_portal.db import Base, UTCDateTime, utcnow

SUBJECT_MAX = 200
LINK_MAX = 500


class Notification(Base):
    """Something a person should know, shown on their Notifications page until (and after) they read it."""

    __tablename__ = "notifications"

    id: orm.Mapped[int] = orm.mapped_column(primary_key=True)
    user_id: orm.Mapped[int] = orm.mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))
    created_at: orm.Mapped[dt.datetime] = orm.mapped_column(UTCDateTime(), default=utcnow)
    read_at: orm.Mapped[dt.datetime | None] = orm.mapped_column(UTCDateTime())
    subject: orm.Mapped[str] = orm.mapped_column(sa.String(SUBJECT_MAX))
    body: orm.Mapped[str] = orm.mapped_column(sa.Text)
    # A path in the portal (the person's feedback, or the issue if they may see issues); None if neither.
    link: orm.Mapped[str | None] = orm.mapped_column(sa.String(LINK_MAX))

    __table_args__ = (
        # The page lists a person's newest first; the header counts their unread ones.
        sa.Index("ix_notifications_user_id_created_at", "user_id", "created_at"),
        sa.Index("ix_notifications_user_id_read_at", "user_id", "read_at"),
    )


class OutboxEmail(Base):
    """An email to send. The sender claims a row by moving next_attempt_at into the future, so two
    workers never send the same email; a failure records last_error and schedules another attempt."""

    __tablename__ = "outbox_emails"

    id: orm.Mapped[int] = orm.mapped_column(primary_key=True)
    notification_id: orm.Mapped[int | None] = orm.mapped_column(
        sa.ForeignKey("notifications.id", ondelete="SET NULL"), index=True
    )
    to_address: orm.Mapped[str] = orm.mapped_column(sa.String(254))
    subject: orm.Mapped[str] = orm.mapped_column(sa.String(SUBJECT_MAX))
    body_text: orm.Mapped[str] = orm.mapped_column(sa.Text)
    created_at: orm.Mapped[dt.datetime] = orm.mapped_column(UTCDateTime(), default=utcnow)
    attempts: orm.Mapped[int] = orm.mapped_column(default=0)
    next_attempt_at: orm.Mapped[dt.datetime] = orm.mapped_column(UTCDateTime(), default=utcnow)
    sent_at: orm.Mapped[dt.datetime | None] = orm.mapped_column(UTCDateTime())
    last_error: orm.Mapped[str | None] = orm.mapped_column(sa.Text)

    __table_args__ = (
        # The sender asks for unsent emails that are due, oldest due first.
        sa.Index("ix_outbox_emails_sent_at_next_attempt_at", "sent_at", "next_attempt_at"),
    )
