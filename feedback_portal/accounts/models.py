"""Teams, users and their sign-in sessions."""

from __future__ import annotations

import datetime as dt
import enum

import sqlalchemy as sa
from sqlalchemy import orm

from feedback_portal.db import Base, UTCDateTime, utcnow


class Role(enum.StrEnum):
    FRONTLINE = "frontline"
    BUSINESS_SUPPORT = "business_support"
    BOARD = "board"
    ADMIN = "admin"

    @property
    def label(self) -> str:
        return {
            Role.FRONTLINE: "Frontline staff",
            Role.BUSINESS_SUPPORT: "Business support",
            Role.BOARD: "Implementation board",
            Role.ADMIN: "Administrator",
        }[self]


# Roles that triage feedback and may see who business-support-only submitters are.
TRIAGE_ROLES = frozenset({Role.BUSINESS_SUPPORT, Role.ADMIN})


class Team(Base):
    __tablename__ = "teams"

    id: orm.Mapped[int] = orm.mapped_column(primary_key=True)
    slug: orm.Mapped[str] = orm.mapped_column(sa.String(60), unique=True)
    name: orm.Mapped[str] = orm.mapped_column(sa.String(120))


class User(Base):
    __tablename__ = "users"

    id: orm.Mapped[int] = orm.mapped_column(primary_key=True)
    email: orm.Mapped[str] = orm.mapped_column(sa.String(254), unique=True)
    name: orm.Mapped[str] = orm.mapped_column(sa.String(120))
    role: orm.Mapped[str] = orm.mapped_column(sa.String(20))
    team_id: orm.Mapped[int | None] = orm.mapped_column(sa.ForeignKey("teams.id"), index=True)
    password_hash: orm.Mapped[str | None] = orm.mapped_column(sa.String(200))
    # Only a SHA-256 of the token is kept, so a database leak does not leak API access.
    api_token_hash: orm.Mapped[str | None] = orm.mapped_column(sa.String(64), unique=True)
    active: orm.Mapped[bool] = orm.mapped_column(default=True)
    created_at: orm.Mapped[dt.datetime] = orm.mapped_column(UTCDateTime(), default=utcnow)

    team: orm.Mapped[Team | None] = orm.relationship(lazy="joined")

    @property
    def role_enum(self) -> Role:
        return Role(self.role)

    @property
    def is_triage(self) -> bool:
        return self.role_enum in TRIAGE_ROLES


class SignInSession(Base):
    """A signed-in browser. The cookie holds a random token; only its SHA-256 is stored here."""

    __tablename__ = "sign_in_sessions"

    token_hash: orm.Mapped[str] = orm.mapped_column(sa.String(64), primary_key=True)
    user_id: orm.Mapped[int] = orm.mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: orm.Mapped[dt.datetime] = orm.mapped_column(UTCDateTime(), default=utcnow)
    expires_at: orm.Mapped[dt.datetime] = orm.mapped_column(UTCDateTime(), index=True)


class LoginAttempt(Base):
    """A failed sign-in, counted per email address to slow down password guessing."""

    __tablename__ = "login_attempts"

    id: orm.Mapped[int] = orm.mapped_column(primary_key=True)
    email: orm.Mapped[str] = orm.mapped_column(sa.String(254))
    attempted_at: orm.Mapped[dt.datetime] = orm.mapped_column(UTCDateTime(), default=utcnow)

    __table_args__ = (sa.Index("ix_login_attempts_email_attempted_at", "email", "attempted_at"),)
