"""Issues, "me too" votes and the record of merges (so a merge can be undone)."""

from __future__ import annotations

import datetime as dt
import enum
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy import orm

from feedback_portal.accounts.models import User
from feedback_portal.db import Base, UTCDateTime, utcnow

if TYPE_CHECKING:
    from feedback_portal.feedback.models import Comment


class IssueStatus(enum.StrEnum):
    NEW = "new"
    INVESTIGATING = "investigating"
    CHANGE_REQUESTED = "change-requested"
    FIX_SCHEDULED = "fix-scheduled"
    FIXED = "fixed"
    CLOSED = "closed"
    WONT_FIX = "wont-fix"
    GUIDANCE_ISSUED = "guidance-issued"
    TRAINING_ARRANGED = "training-arranged"

    @property
    def label(self) -> str:
        return {
            IssueStatus.NEW: "New",
            IssueStatus.INVESTIGATING: "Investigating",
            IssueStatus.CHANGE_REQUESTED: "Change requested",
            IssueStatus.FIX_SCHEDULED: "Fix scheduled",
            IssueStatus.FIXED: "Fixed",
            IssueStatus.CLOSED: "Closed",
            IssueStatus.WONT_FIX: "Won't fix",
            IssueStatus.GUIDANCE_ISSUED: "Guidance issued",
            IssueStatus.TRAINING_ARRANGED: "Training arranged",
        }[self]

    @property
    def needs_reason(self) -> bool:
        """Won't fix, guidance issued and training arranged end the work without a fix: staff are told why."""
        return self in REASON_STATUSES


REASON_STATUSES = frozenset(
    {IssueStatus.WONT_FIX, IssueStatus.GUIDANCE_ISSUED, IssueStatus.TRAINING_ARRANGED}
)

# The first of these an issue reaches sets decided_at; finished issues are not open (resolved_at is set).
DECISION_STATUSES = frozenset({IssueStatus.CHANGE_REQUESTED, IssueStatus.FIX_SCHEDULED, *REASON_STATUSES})
FINISHED_STATUSES = frozenset({IssueStatus.FIXED, IssueStatus.CLOSED, *REASON_STATUSES})
OPEN_STATUSES = frozenset(IssueStatus) - FINISHED_STATUSES


class Severity(enum.IntEnum):
    BLOCKS_WORK = 1
    WORKAROUND = 2
    MINOR = 3

    @property
    def label(self) -> str:
        return {
            Severity.BLOCKS_WORK: "1 – Blocks work",
            Severity.WORKAROUND: "2 – Workaround exists",
            Severity.MINOR: "3 – Minor",
        }[self]


class Issue(Base):
    __tablename__ = "issues"

    id: orm.Mapped[int] = orm.mapped_column(primary_key=True)
    ref: orm.Mapped[str | None] = orm.mapped_column(sa.String(20), unique=True)
    title: orm.Mapped[str] = orm.mapped_column(sa.String(150))
    summary: orm.Mapped[str] = orm.mapped_column(sa.Text, default="")
    module: orm.Mapped[str | None] = orm.mapped_column(sa.String(60), index=True)
    severity: orm.Mapped[int | None]
    owner_id: orm.Mapped[int | None] = orm.mapped_column(sa.ForeignKey("users.id"), index=True)
    status: orm.Mapped[str] = orm.mapped_column(sa.String(30), default=IssueStatus.NEW, index=True)
    status_reason: orm.Mapped[str | None] = orm.mapped_column(sa.Text)
    supplier_ref: orm.Mapped[str | None] = orm.mapped_column(sa.String(60))
    target_release: orm.Mapped[str | None] = orm.mapped_column(sa.String(60))
    public_response: orm.Mapped[str | None] = orm.mapped_column(sa.Text)
    # Set while this issue is merged into another; cleared when the merge is undone.
    merged_into_id: orm.Mapped[int | None] = orm.mapped_column(sa.ForeignKey("issues.id"), index=True)
    created_at: orm.Mapped[dt.datetime] = orm.mapped_column(UTCDateTime(), default=utcnow)
    updated_at: orm.Mapped[dt.datetime] = orm.mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
    version: orm.Mapped[int] = orm.mapped_column(default=1)
    # For the insight page (see reached_status): first decided (a fix counts as a decision), first fixed, and
    # when it last became finished (cleared when reopened), so open issues over time need no status history.
    decided_at: orm.Mapped[dt.datetime | None] = orm.mapped_column(UTCDateTime(), index=True)
    fixed_at: orm.Mapped[dt.datetime | None] = orm.mapped_column(UTCDateTime(), index=True)
    resolved_at: orm.Mapped[dt.datetime | None] = orm.mapped_column(UTCDateTime())

    owner: orm.Mapped[User | None] = orm.relationship(lazy="joined", foreign_keys=[owner_id])
    merged_into: orm.Mapped[Issue | None] = orm.relationship(remote_side=[id], lazy="joined")
    # Only the public replies: what the people who gave feedback may read. Internal notes are never reachable
    # from here, so a template showing an issue to its contributors cannot leak them.
    public_replies: orm.Mapped[list[Comment]] = orm.relationship(
        "Comment",
        primaryjoin="and_(Comment.issue_id == Issue.id, Comment.visibility == 'public')",
        order_by="Comment.created_at, Comment.id",
        viewonly=True,
        lazy="select",
    )

    __mapper_args__ = {"version_id_col": version}

    @property
    def status_label(self) -> str:
        return IssueStatus(self.status).label

    def reached_status(self, when: dt.datetime, status: str | None = None) -> None:
        """Keep decided_at, fixed_at and resolved_at true for a status change (to `status`, or the status now)
        at `when`. Every ORM status change calls it (insight/models.py listens), whoever makes it."""
        status = IssueStatus(status or self.status)
        if status in DECISION_STATUSES or status == IssueStatus.FIXED:
            self.decided_at = self.decided_at or when
        if status == IssueStatus.FIXED:
            self.fixed_at = self.fixed_at or when
        if status in FINISHED_STATUSES:
            self.resolved_at = self.resolved_at or when
        else:
            self.resolved_at = None

    @property
    def severity_label(self) -> str:
        return Severity(self.severity).label if self.severity in {s.value for s in Severity} else ""


class MeToo(Base):
    """Another member of staff adds their voice (and their own impact) to feedback or an issue."""

    __tablename__ = "me_toos"

    id: orm.Mapped[int] = orm.mapped_column(primary_key=True)
    user_id: orm.Mapped[int] = orm.mapped_column(sa.ForeignKey("users.id"), index=True)
    feedback_id: orm.Mapped[int | None] = orm.mapped_column(sa.ForeignKey("feedback.id", ondelete="CASCADE"), index=True)
    issue_id: orm.Mapped[int | None] = orm.mapped_column(sa.ForeignKey("issues.id"), index=True)
    impact: orm.Mapped[str] = orm.mapped_column(sa.String(60))
    team_id: orm.Mapped[int | None] = orm.mapped_column(sa.ForeignKey("teams.id"))
    created_at: orm.Mapped[dt.datetime] = orm.mapped_column(UTCDateTime(), default=utcnow)

    user: orm.Mapped[User] = orm.relationship(lazy="joined")

    __table_args__ = (
        sa.UniqueConstraint("user_id", "feedback_id", name="uq_me_toos_user_feedback"),
        sa.UniqueConstraint("user_id", "issue_id", name="uq_me_toos_user_issue"),
    )


class IssueMerge(Base):
    """What a merge moved, so that undoing it puts every feedback and me-too back where it was."""

    __tablename__ = "issue_merges"

    id: orm.Mapped[int] = orm.mapped_column(primary_key=True)
    source_issue_id: orm.Mapped[int] = orm.mapped_column(sa.ForeignKey("issues.id"), index=True)
    target_issue_id: orm.Mapped[int] = orm.mapped_column(sa.ForeignKey("issues.id"), index=True)
    moved_feedback_ids: orm.Mapped[list[int]] = orm.mapped_column(sa.JSON)
    moved_me_too_ids: orm.Mapped[list[int]] = orm.mapped_column(sa.JSON)
    merged_by_id: orm.Mapped[int | None] = orm.mapped_column(sa.ForeignKey("users.id"))
    merged_at: orm.Mapped[dt.datetime] = orm.mapped_column(UTCDateTime(), default=utcnow)
    undone_at: orm.Mapped[dt.datetime | None] = orm.mapped_column(UTCDateTime())

    source: orm.Mapped[Issue] = orm.relationship(foreign_keys=[source_issue_id], lazy="joined")
    target: orm.Mapped[Issue] = orm.relationship(foreign_keys=[target_issue_id], lazy="joined")
    merged_by: orm.Mapped[User | None] = orm.relationship(foreign_keys=[merged_by_id], lazy="joined")

    def as_audit(self) -> dict[str, Any]:
        return {"feedback": self.moved_feedback_ids, "me_toos": self.moved_me_too_ids}
