"""The index change log (written in the same transaction as the data), saved searches and synonyms."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy import orm

from feedback_portal.db import Base, UTCDateTime, utcnow


class IndexChange(Base):
    """One record that changed. Each host's indexer applies these in id order from its own cursor."""

    __tablename__ = "index_changes"

    id: orm.Mapped[int] = orm.mapped_column(sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True)
    record_type: orm.Mapped[str] = orm.mapped_column(sa.String(20))
    record_id: orm.Mapped[int]
    changed_at: orm.Mapped[dt.datetime] = orm.mapped_column(UTCDateTime(), default=utcnow)

    # Ids must never be reused (cursors point into this log), so SQLite needs AUTOINCREMENT.
    __table_args__ = {"sqlite_autoincrement": True}


class SavedSearch(Base):
    __tablename__ = "saved_searches"

    id: orm.Mapped[int] = orm.mapped_column(primary_key=True)
    user_id: orm.Mapped[int] = orm.mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: orm.Mapped[str] = orm.mapped_column(sa.String(100))
    query_string: orm.Mapped[str] = orm.mapped_column(sa.String(2000))
    created_at: orm.Mapped[dt.datetime] = orm.mapped_column(UTCDateTime(), default=utcnow)


class SynonymLine(Base):
    """An admin's addition to the abbreviations and synonyms list, e.g. "cme, child missing education"."""

    __tablename__ = "synonym_lines"

    id: orm.Mapped[int] = orm.mapped_column(primary_key=True)
    line: orm.Mapped[str] = orm.mapped_column(sa.String(500))
    created_by_id: orm.Mapped[int | None] = orm.mapped_column(sa.ForeignKey("users.id"))
    created_at: orm.Mapped[dt.datetime] = orm.mapped_column(UTCDateTime(), default=utcnow)
