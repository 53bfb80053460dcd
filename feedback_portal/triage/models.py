"""Admin-held settings stored in the database, so every worker (and every host) sees a change at once."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy import orm

from feedback_portal.db import Base, UTCDateTime, utcnow


class AdminSetting(Base):
    """One admin setting (e.g. "privacy" patterns, "retention") as JSON. `version` moves on every change:
    readers cache on it, so a change made through one worker is picked up by all of them on their next read."""

    __tablename__ = "admin_settings"

    key: orm.Mapped[str] = orm.mapped_column(sa.String(40), primary_key=True)
    value: orm.Mapped[dict[str, Any]] = orm.mapped_column(sa.JSON)
    version: orm.Mapped[int] = orm.mapped_column(default=1)
    updated_at: orm.Mapped[dt.datetime] = orm.mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
    updated_by_id: orm.Mapped[int | None] = orm.mapped_column(
        sa.ForeignKey("users.id", name="fk_admin_settings_updated_by_id_users")
    )
