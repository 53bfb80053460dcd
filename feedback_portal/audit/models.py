"""Audit events. An anonymous submitter is never an actor: actor_id is null for them."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy import orm

from feedback_portal.db import Base, UTCDateTime, begin_write, utcnow


class AuditEvent(Base):
    __tablename__ = "audit_events"

    id: orm.Mapped[int] = orm.mapped_column(primary_key=True)
    at: orm.Mapped[dt.datetime] = orm.mapped_column(UTCDateTime(), default=utcnow)
    actor_id: orm.Mapped[int | None] = orm.mapped_column(sa.ForeignKey("users.id"), index=True)
    action: orm.Mapped[str] = orm.mapped_column(sa.String(40))
    record_type: orm.Mapped[str] = orm.mapped_column(sa.String(30))
    record_ref: orm.Mapped[str] = orm.mapped_column(sa.String(30))
    before: orm.Mapped[dict[str, Any] | None] = orm.mapped_column(sa.JSON)
    after: orm.Mapped[dict[str, Any] | None] = orm.mapped_column(sa.JSON)

    __table_args__ = (sa.Index("ix_audit_events_record", "record_type", "record_ref"),)


def record(
    session: orm.Session,
    *,
    actor_id: int | None,
    action: str,
    record_type: str,
    record_ref: str,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> AuditEvent:
    event = AuditEvent(
        actor_id=actor_id,
        action=action,
        record_type=record_type,
        record_ref=record_ref,
        before=before,
        after=after,
    )
    session.add(event)
    return event


VIEWED = "record.viewed"


def record_view(
    session: orm.Session, actor: Any, record_type: str, ref: str, *, commit: bool = True
) -> AuditEvent:
    """Record that `actor` (a User) opened a restricted record: `record_view(session, user, "feedback", ref)`.

    Call it after reading the record, when nothing else is waiting to be written: by default it writes and
    commits its own small transaction (objects already loaded stay usable: sessions do not expire on commit).
    Pass commit=False to add the event to a write transaction the caller commits.
    """
    if commit:
        begin_write(session)
    try:
        event = record(
            session,
            actor_id=getattr(actor, "id", None),
            action=VIEWED,
            record_type=record_type,
            record_ref=ref,
        )
        if commit:
            session.commit()
    except BaseException:
        if commit:
            session.rollback()
        raise
    return event
