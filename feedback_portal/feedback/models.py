"""Feedback, its screenshots and comments, and the admin-extensible vocabularies."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy import orm

from feedback_portal.accounts.models import Team, User
from feedback_portal.db import Base, UTCDateTime, utcnow
from feedback_portal.issues.models import Issue


class VocabularyTerm(Base):
    """A term an admin added to a vocabulary (module, kind, impact, frequency) beyond the defaults."""

    __tablename__ = "vocabulary_terms"

    id: orm.Mapped[int] = orm.mapped_column(primary_key=True)
    vocabulary: orm.Mapped[str] = orm.mapped_column(sa.String(20))
    slug: orm.Mapped[str] = orm.mapped_column(sa.String(60))
    label: orm.Mapped[str] = orm.mapped_column(sa.String(120))
    active: orm.Mapped[bool] = orm.mapped_column(default=True)

    __table_args__ = (sa.UniqueConstraint("vocabulary", "slug", name="uq_vocabulary_terms_vocabulary_slug"),)


class Feedback(Base):
    __tablename__ = "feedback"

    id: orm.Mapped[int] = orm.mapped_column(primary_key=True)
    ref: orm.Mapped[str | None] = orm.mapped_column(sa.String(20), unique=True)
    title: orm.Mapped[str | None] = orm.mapped_column(sa.String(150))
    body: orm.Mapped[str] = orm.mapped_column(sa.Text)
    module: orm.Mapped[str] = orm.mapped_column(sa.String(60), index=True)
    kind: orm.Mapped[str] = orm.mapped_column(sa.String(60), index=True)
    impact: orm.Mapped[str] = orm.mapped_column(sa.String(60), index=True)
    frequency: orm.Mapped[str | None] = orm.mapped_column(sa.String(60))
    team_id: orm.Mapped[int | None] = orm.mapped_column(sa.ForeignKey("teams.id"), index=True)
    anonymity: orm.Mapped[str] = orm.mapped_column(sa.String(30))
    # Null for anonymous feedback: no identity is stored at all.
    submitter_id: orm.Mapped[int | None] = orm.mapped_column(sa.ForeignKey("users.id"), index=True)
    status: orm.Mapped[str] = orm.mapped_column(sa.String(30), default="received", index=True)
    submitted_at: orm.Mapped[dt.datetime] = orm.mapped_column(UTCDateTime(), default=utcnow, index=True)
    issue_id: orm.Mapped[int | None] = orm.mapped_column(sa.ForeignKey("issues.id"), index=True)
    # Why business support closed it without an issue (e.g. not about the CMS), shown to the sender.
    closed_reason: orm.Mapped[str | None] = orm.mapped_column(sa.Text)
    # A random key from the form (or the API's Idempotency-Key header): a retried submission is one feedback.
    idempotency_key: orm.Mapped[str | None] = orm.mapped_column(sa.String(64), unique=True)
    # Likely personal data found at intake: [{"kind", "field": "title"|"body", "start", "end"}], offsets into
    # the current text. Held feedback waits for business support to redact it or clear the flag.
    personal_data: orm.Mapped[list[dict[str, Any]]] = orm.mapped_column(
        sa.JSON, default=list, server_default=sa.text("'[]'")
    )
    held: orm.Mapped[bool] = orm.mapped_column(default=False, server_default=sa.false(), index=True)
    # Describes a live risk to a child (safeguarding): only business support and admins may see it.
    restricted: orm.Mapped[bool] = orm.mapped_column(default=False, server_default=sa.false())
    # The text as sent, kept after a redaction for admins only, until original_purge_after.
    original_title: orm.Mapped[str | None] = orm.mapped_column(sa.String(150))
    original_body: orm.Mapped[str | None] = orm.mapped_column(sa.Text)
    original_purge_after: orm.Mapped[dt.datetime | None] = orm.mapped_column(UTCDateTime())
    # When business support first took it out of the untriaged queue (linked, an issue made, a duplicate, or
    # not about the CMS): the insight page's time to triage. Never cleared.
    triaged_at: orm.Mapped[dt.datetime | None] = orm.mapped_column(UTCDateTime(), index=True)
    # Anonymous feedback only: the SHA-256 of the private follow link's token (the token itself is never stored).
    follow_token_hash: orm.Mapped[str | None] = orm.mapped_column(sa.String(64), unique=True)

    team: orm.Mapped[Team | None] = orm.relationship(lazy="joined")
    submitter: orm.Mapped[User | None] = orm.relationship(lazy="joined")
    issue: orm.Mapped[Issue | None] = orm.relationship(lazy="joined")
    attachments: orm.Mapped[list[Attachment]] = orm.relationship(
        back_populates="feedback", order_by="Attachment.id", lazy="selectin"
    )
    comments: orm.Mapped[list[Comment]] = orm.relationship(
        back_populates="feedback", order_by="Comment.created_at", lazy="selectin"
    )

    # The list pages filter on one column and show the newest first: these indexes serve both at once.
    __table_args__ = (
        sa.Index("ix_feedback_submitted_at_id", "submitted_at", "id"),
        sa.Index("ix_feedback_module_submitted_at_id", "module", "submitted_at", "id"),
        sa.Index("ix_feedback_kind_submitted_at_id", "kind", "submitted_at", "id"),
        sa.Index("ix_feedback_impact_submitted_at_id", "impact", "submitted_at", "id"),
        sa.Index("ix_feedback_team_id_submitted_at_id", "team_id", "submitted_at", "id"),
    )

    @property
    def hidden_from_readers(self) -> bool:
        """Restricted (safeguarding) or held (may identify someone): business support and admins only."""
        return bool(self.restricted or self.held)


class Attachment(Base):
    """A screenshot: re-encoded without metadata and stored under the data folder by its SHA-256."""

    __tablename__ = "attachments"

    id: orm.Mapped[int] = orm.mapped_column(primary_key=True)
    feedback_id: orm.Mapped[int] = orm.mapped_column(sa.ForeignKey("feedback.id", ondelete="CASCADE"), index=True)
    filename: orm.Mapped[str] = orm.mapped_column(sa.String(200))
    content_type: orm.Mapped[str] = orm.mapped_column(sa.String(40))
    size_bytes: orm.Mapped[int]
    sha256: orm.Mapped[str] = orm.mapped_column(sa.String(64))
    width: orm.Mapped[int]
    height: orm.Mapped[int]

    feedback: orm.Mapped[Feedback] = orm.relationship(back_populates="attachments")

    @property
    def storage_name(self) -> str:
        extension = "png" if self.content_type == "image/png" else "jpg"
        return f"{self.sha256}.{extension}"


class Comment(Base):
    """Internal (business support and board only) or public (seen by contributors)."""

    __tablename__ = "comments"

    id: orm.Mapped[int] = orm.mapped_column(primary_key=True)
    feedback_id: orm.Mapped[int | None] = orm.mapped_column(
        sa.ForeignKey("feedback.id", ondelete="CASCADE"), index=True
    )
    issue_id: orm.Mapped[int | None] = orm.mapped_column(sa.ForeignKey("issues.id", ondelete="CASCADE"), index=True)
    author_id: orm.Mapped[int | None] = orm.mapped_column(sa.ForeignKey("users.id"))
    visibility: orm.Mapped[str] = orm.mapped_column(sa.String(10))
    body: orm.Mapped[str] = orm.mapped_column(sa.Text)
    created_at: orm.Mapped[dt.datetime] = orm.mapped_column(UTCDateTime(), default=utcnow)

    feedback: orm.Mapped[Feedback | None] = orm.relationship(back_populates="comments")
    author: orm.Mapped[User | None] = orm.relationship(lazy="joined")
