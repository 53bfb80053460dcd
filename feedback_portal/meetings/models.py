"""Meeting series, meetings, agenda items, actions and amendments to published minutes."""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

import sqlalchemy as sa
from sqlalchemy import orm

from feedback_portal.accounts.models import User
from feedback_portal.db import Base, UTCDateTime, utcnow
from feedback_portal.issues.models import Issue, IssueStatus


class Cadence(enum.StrEnum):
    WEEKLY = "weekly"
    FORTNIGHTLY = "fortnightly"

    @property
    def label(self) -> str:
        return {Cadence.WEEKLY: "Weekly", Cadence.FORTNIGHTLY: "Fortnightly"}[self]

    @property
    def interval(self) -> dt.timedelta:
        return dt.timedelta(weeks=1 if self is Cadence.WEEKLY else 2)


class MeetingState(enum.StrEnum):
    PLANNING = "planning"
    AGENDA_PUBLISHED = "agenda-published"
    IN_SESSION = "in-session"
    MINUTES_PUBLISHED = "minutes-published"

    @property
    def label(self) -> str:
        return {
            MeetingState.PLANNING: "Planning",
            MeetingState.AGENDA_PUBLISHED: "Agenda published",
            MeetingState.IN_SESSION: "In session",
            MeetingState.MINUTES_PUBLISHED: "Minutes published",
        }[self]


class ItemKind(enum.StrEnum):
    APOLOGIES = "apologies"
    LAST_MINUTES = "last-minutes"
    ACTION_LOG = "action-log"
    ACTIONS_DUE = "actions-due"
    ISSUE = "issue"
    AOB = "aob"

    @property
    def label(self) -> str:
        return {
            ItemKind.APOLOGIES: "Apologies",
            ItemKind.LAST_MINUTES: "Minutes of the last meeting",
            ItemKind.ACTION_LOG: "Action log",
            ItemKind.ACTIONS_DUE: "Actions due or overdue",
            ItemKind.ISSUE: "Issue",
            ItemKind.AOB: "Any other business",
        }[self]


STANDING_KINDS = (ItemKind.APOLOGIES, ItemKind.LAST_MINUTES, ItemKind.ACTION_LOG)


class Outcome(enum.StrEnum):
    """The post-implementation review vocabulary: every discussed item ends with exactly one."""

    CHANGE_REQUEST = "change-request"
    CONFIGURATION_CHANGE = "configuration-change"
    TRAINING_GUIDANCE = "training-guidance"
    WORKAROUND_PUBLISHED = "workaround-published"
    WONT_FIX = "wont-fix"
    DEFERRED = "deferred"
    ESCALATED = "escalated"

    @property
    def label(self) -> str:
        return OUTCOME_LABELS[self]

    @property
    def needs_reason(self) -> bool:
        return self is Outcome.WONT_FIX

    @property
    def issue_status(self) -> IssueStatus | None:
        """The status the linked issue moves to when the minutes are published (None: no change)."""
        return OUTCOME_STATUS.get(self)


OUTCOME_LABELS = {
    Outcome.CHANGE_REQUEST: "Change request to supplier",
    Outcome.CONFIGURATION_CHANGE: "Configuration change",
    Outcome.TRAINING_GUIDANCE: "Training or guidance",
    Outcome.WORKAROUND_PUBLISHED: "Workaround published",
    Outcome.WONT_FIX: "Won't fix",
    Outcome.DEFERRED: "Deferred",
    Outcome.ESCALATED: "Escalated",
}
OUTCOME_STATUS = {
    Outcome.CHANGE_REQUEST: IssueStatus.CHANGE_REQUESTED,
    Outcome.CONFIGURATION_CHANGE: IssueStatus.FIX_SCHEDULED,
    Outcome.TRAINING_GUIDANCE: IssueStatus.GUIDANCE_ISSUED,
    Outcome.WORKAROUND_PUBLISHED: IssueStatus.GUIDANCE_ISSUED,
    Outcome.WONT_FIX: IssueStatus.WONT_FIX,
}


class ActionStatus(enum.StrEnum):
    OPEN = "open"
    DONE = "done"


series_attendees = sa.Table(
    "meeting_series_attendees",
    Base.metadata,
    sa.Column("series_id", sa.ForeignKey("meeting_series.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("user_id", sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
)


class MeetingSeries(Base):
    __tablename__ = "meeting_series"

    id: orm.Mapped[int] = orm.mapped_column(primary_key=True)
    title: orm.Mapped[str] = orm.mapped_column(sa.String(150))
    cadence: orm.Mapped[str] = orm.mapped_column(sa.String(20), default=Cadence.FORTNIGHTLY)
    usual_minutes: orm.Mapped[int] = orm.mapped_column(default=60)
    # The standing items every agenda of the series starts with (ItemKind values, in order).
    standing_items: orm.Mapped[list[str]] = orm.mapped_column(sa.JSON, default=list)
    created_at: orm.Mapped[dt.datetime] = orm.mapped_column(UTCDateTime(), default=utcnow)

    attendees: orm.Mapped[list[User]] = orm.relationship(
        secondary=series_attendees, order_by="User.name", lazy="selectin"
    )

    @property
    def cadence_label(self) -> str:
        return Cadence(self.cadence).label


class Meeting(Base):
    __tablename__ = "meetings"

    id: orm.Mapped[int] = orm.mapped_column(primary_key=True)
    series_id: orm.Mapped[int | None] = orm.mapped_column(sa.ForeignKey("meeting_series.id"), index=True)
    title: orm.Mapped[str] = orm.mapped_column(sa.String(150))
    scheduled_for: orm.Mapped[dt.datetime] = orm.mapped_column(UTCDateTime(), index=True)
    duration_minutes: orm.Mapped[int]
    state: orm.Mapped[str] = orm.mapped_column(sa.String(30), default=MeetingState.PLANNING, index=True)
    chair_id: orm.Mapped[int | None] = orm.mapped_column(sa.ForeignKey("users.id"))
    created_at: orm.Mapped[dt.datetime] = orm.mapped_column(UTCDateTime(), default=utcnow)
    # Touched by every agenda edit, so that the version moves (optimistic locking of the agenda).
    agenda_changed_at: orm.Mapped[dt.datetime] = orm.mapped_column(UTCDateTime(), default=utcnow)
    agenda_published_at: orm.Mapped[dt.datetime | None] = orm.mapped_column(UTCDateTime())
    started_at: orm.Mapped[dt.datetime | None] = orm.mapped_column(UTCDateTime())
    ended_at: orm.Mapped[dt.datetime | None] = orm.mapped_column(UTCDateTime())
    minutes_published_at: orm.Mapped[dt.datetime | None] = orm.mapped_column(UTCDateTime())
    minutes_published_by_id: orm.Mapped[int | None] = orm.mapped_column(sa.ForeignKey("users.id"))
    version: orm.Mapped[int] = orm.mapped_column(default=1)

    series: orm.Mapped[MeetingSeries | None] = orm.relationship(lazy="joined")
    chair: orm.Mapped[User | None] = orm.relationship(foreign_keys=[chair_id], lazy="joined")
    items: orm.Mapped[list[AgendaItem]] = orm.relationship(
        back_populates="meeting",
        order_by="AgendaItem.position",
        lazy="selectin",
        cascade="all, delete-orphan",
        foreign_keys="AgendaItem.meeting_id",
    )

    __mapper_args__ = {"version_id_col": version}

    @property
    def state_label(self) -> str:
        return MeetingState(self.state).label

    @property
    def ends_at(self) -> dt.datetime:
        return self.scheduled_for + dt.timedelta(minutes=self.duration_minutes)

    @property
    def allotted_minutes(self) -> int:
        return sum(item.minutes for item in self.items)

    @property
    def agenda_editable(self) -> bool:
        return self.state in {MeetingState.PLANNING, MeetingState.AGENDA_PUBLISHED}


class AgendaItem(Base):
    __tablename__ = "agenda_items"

    id: orm.Mapped[int] = orm.mapped_column(primary_key=True)
    meeting_id: orm.Mapped[int] = orm.mapped_column(
        sa.ForeignKey("meetings.id", ondelete="CASCADE"), index=True
    )
    position: orm.Mapped[int]
    kind: orm.Mapped[str] = orm.mapped_column(sa.String(30))
    title: orm.Mapped[str] = orm.mapped_column(sa.String(150), default="")
    issue_id: orm.Mapped[int | None] = orm.mapped_column(sa.ForeignKey("issues.id"), index=True)
    minutes: orm.Mapped[int] = orm.mapped_column(default=5)
    presenter_id: orm.Mapped[int | None] = orm.mapped_column(sa.ForeignKey("users.id"))
    notes: orm.Mapped[str] = orm.mapped_column(sa.Text, default="")
    # proposed (by the builder: a rebuild replaces it), manual (added by the chair), carried (from last time).
    source: orm.Mapped[str] = orm.mapped_column(sa.String(20), default="manual")
    outcome: orm.Mapped[str | None] = orm.mapped_column(sa.String(30), index=True)
    outcome_reason: orm.Mapped[str | None] = orm.mapped_column(sa.Text)
    decision_notes: orm.Mapped[str] = orm.mapped_column(sa.Text, default="")
    decided_at: orm.Mapped[dt.datetime | None] = orm.mapped_column(UTCDateTime())
    decided_by_id: orm.Mapped[int | None] = orm.mapped_column(sa.ForeignKey("users.id"))
    started_at: orm.Mapped[dt.datetime | None] = orm.mapped_column(UTCDateTime())
    carried_over_from_id: orm.Mapped[int | None] = orm.mapped_column(sa.ForeignKey("agenda_items.id"))
    carry_over_count: orm.Mapped[int] = orm.mapped_column(default=0)
    score: orm.Mapped[float | None]
    # What the builder saw: counts, trend, teams (small ones folded into "Other"), redacted quotes.
    evidence: orm.Mapped[dict[str, Any]] = orm.mapped_column(sa.JSON, default=dict)

    meeting: orm.Mapped[Meeting] = orm.relationship(back_populates="items", foreign_keys=[meeting_id])
    issue: orm.Mapped[Issue | None] = orm.relationship(lazy="joined")
    presenter: orm.Mapped[User | None] = orm.relationship(foreign_keys=[presenter_id], lazy="joined")
    decided_by: orm.Mapped[User | None] = orm.relationship(foreign_keys=[decided_by_id], lazy="joined")
    actions: orm.Mapped[list[Action]] = orm.relationship(
        back_populates="agenda_item", order_by="Action.id", lazy="selectin"
    )

    @property
    def kind_label(self) -> str:
        return ItemKind(self.kind).label

    @property
    def heading(self) -> str:
        if self.kind == ItemKind.ISSUE and self.issue is not None:
            return f"{self.issue.ref}: {self.issue.title}"
        return self.title or self.kind_label

    @property
    def outcome_label(self) -> str:
        return Outcome(self.outcome).label if self.outcome else ""


class Action(Base):
    __tablename__ = "meeting_actions"

    id: orm.Mapped[int] = orm.mapped_column(primary_key=True)
    meeting_id: orm.Mapped[int] = orm.mapped_column(
        sa.ForeignKey("meetings.id", ondelete="CASCADE"), index=True
    )
    agenda_item_id: orm.Mapped[int | None] = orm.mapped_column(
        sa.ForeignKey("agenda_items.id", ondelete="SET NULL"), index=True
    )
    issue_id: orm.Mapped[int | None] = orm.mapped_column(sa.ForeignKey("issues.id"), index=True)
    description: orm.Mapped[str] = orm.mapped_column(sa.Text)
    owner_id: orm.Mapped[int] = orm.mapped_column(sa.ForeignKey("users.id"), index=True)
    due_on: orm.Mapped[dt.date] = orm.mapped_column(sa.Date, index=True)
    status: orm.Mapped[str] = orm.mapped_column(sa.String(10), default=ActionStatus.OPEN, index=True)
    created_at: orm.Mapped[dt.datetime] = orm.mapped_column(UTCDateTime(), default=utcnow)
    created_by_id: orm.Mapped[int | None] = orm.mapped_column(sa.ForeignKey("users.id"))
    done_at: orm.Mapped[dt.datetime | None] = orm.mapped_column(UTCDateTime())
    done_by_id: orm.Mapped[int | None] = orm.mapped_column(sa.ForeignKey("users.id"))

    meeting: orm.Mapped[Meeting] = orm.relationship(lazy="joined")
    agenda_item: orm.Mapped[AgendaItem | None] = orm.relationship(back_populates="actions")
    issue: orm.Mapped[Issue | None] = orm.relationship(lazy="joined")
    owner: orm.Mapped[User] = orm.relationship(foreign_keys=[owner_id], lazy="joined")

    def is_overdue(self, today: dt.date) -> bool:
        return self.status == ActionStatus.OPEN and self.due_on < today


class MinutesAmendment(Base):
    """A change to minutes after they were published: who, when, what it was and what it became."""

    __tablename__ = "minutes_amendments"

    id: orm.Mapped[int] = orm.mapped_column(primary_key=True)
    meeting_id: orm.Mapped[int] = orm.mapped_column(
        sa.ForeignKey("meetings.id", ondelete="CASCADE"), index=True
    )
    agenda_item_id: orm.Mapped[int | None] = orm.mapped_column(
        sa.ForeignKey("agenda_items.id", ondelete="SET NULL")
    )
    field: orm.Mapped[str] = orm.mapped_column(sa.String(40))
    before: orm.Mapped[str] = orm.mapped_column(sa.Text, default="")
    after: orm.Mapped[str] = orm.mapped_column(sa.Text, default="")
    reason: orm.Mapped[str] = orm.mapped_column(sa.Text, default="")
    amended_by_id: orm.Mapped[int | None] = orm.mapped_column(sa.ForeignKey("users.id"))
    amended_at: orm.Mapped[dt.datetime] = orm.mapped_column(UTCDateTime(), default=utcnow)

    amended_by: orm.Mapped[User | None] = orm.relationship(lazy="joined")
    agenda_item: orm.Mapped[AgendaItem | None] = orm.relationship(lazy="joined")
