"""Demo meetings, seeded after the demo feedback and issues (feedback_portal.demo.seed calls seed_meetings):
a fortnightly series with one past meeting (agenda built, outcomes, actions, one of them overdue, minutes
published) and one upcoming meeting with a built agenda and the past meeting's undecided items carried over.
Everything goes through MeetingService, as a chair would do it."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy import orm

from feedback_portal.accounts.models import Role, User
from feedback_portal.feedback.models import Feedback
from feedback_portal.issues.models import Issue
from feedback_portal.issues.services import IssueService
from feedback_portal.meetings import agenda
from feedback_portal.meetings.services import LONDON, MeetingService

# Issues made from older untriaged feedback when the demo has too few open for a decision.
_FALLBACK_ISSUES = [
    ("performance", "The CMS is slow to open a child's record"),
    ("search", "Search does not find children by a previous surname"),
    ("documents", "Uploaded letters are hard to find in the case file"),
    ("forms-templates", "Forms ask for the same family details twice"),
]


def _at_ten(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(10, 0), tzinfo=LONDON).astimezone(dt.UTC)


def _ensure_open_issues(session: orm.Session, support: User, now: dt.datetime) -> None:
    open_ids = (
        session.scalar(
            sa.select(sa.func.count(sa.distinct(Feedback.issue_id)))
            .join(Issue, Feedback.issue_id == Issue.id)
            .where(Issue.status.in_(agenda.OPEN_FOR_DECISION), Issue.merged_into_id.is_(None))
        )
        or 0
    )
    if open_ids >= 8:
        return
    issues = IssueService(session)
    for module, title in _FALLBACK_ISSUES:
        refs = list(
            session.scalars(
                sa.select(Feedback.ref)
                .where(
                    Feedback.module == module,
                    Feedback.issue_id.is_(None),
                    Feedback.submitted_at < now - dt.timedelta(days=21),
                )
                .order_by(Feedback.submitted_at.desc())
                .limit(4)
            )
        )
        if refs:
            issue = issues.create(title, refs, support)
            issues.change(issue.ref, issue.version, {"severity": "2"}, support)


def seed_meetings(session: orm.Session) -> None:
    now = dt.datetime.now(dt.UTC)
    people = {
        user.role: user
        for user in session.scalars(
            sa.select(User).where(
                User.email.in_(["board@demo.example", "support@demo.example", "admin@demo.example"])
            )
        )
    }
    chair, support = people.get(Role.BOARD.value), people.get(Role.BUSINESS_SUPPORT.value)
    if chair is None or support is None:
        return
    _ensure_open_issues(session, support, now)
    service = MeetingService(session)
    series = service.create_series(
        title="CMS implementation board",
        cadence="fortnightly",
        usual_minutes=60,
        attendee_ids=[user.id for user in people.values()],
        actor=chair,
    )
    today = now.astimezone(LONDON).date()
    upcoming = service.create_meeting(
        title="",
        scheduled_for=_at_ten(today + dt.timedelta(days=3)).isoformat(),
        duration_minutes=None,
        series_id=series.id,
        actor=chair,
    )
    past_day = today - dt.timedelta(days=11)
    past = service.create_meeting(
        title="",
        scheduled_for=_at_ten(past_day).isoformat(),
        duration_minutes=None,
        series_id=series.id,
        actor=chair,
    )
    try:
        service.build_agenda(past.id, service.get(past.id).version, chair)
    except Exception:  # noqa: BLE001  (no evidence in a trimmed demo: leave the meetings empty)
        return
    items = [item for item in service.get(past.id).items if item.kind == "issue"]
    decisions = [
        ("change-request", None, "Ask the supplier to fix this in the next release and report back."),
        (
            "training-guidance",
            None,
            (
                "Business support will write a quick guide and the training team will add "
                "it to the December sessions."
            ),
        ),
        (
            "wont-fix",
            (
                "The supplier's standard product works this way and changing it would break other councils' "
                "set-ups."
            ),
            "Explain the workaround in the newsletter.",
        ),
    ]
    for item, (outcome, reason, notes) in zip(items, decisions, strict=False):
        service.record_outcome(past.id, item.id, outcome=outcome, reason=reason, notes=notes, actor=chair)
    if items:
        service.add_action(
            past.id,
            items[0].id,
            description="Send the change request to the supplier",
            owner=str(chair.id),
            due_on=(past_day + dt.timedelta(days=7)).isoformat(),
            actor=chair,
            today=past_day,
        )  # due before today: overdue
    if len(items) > 1:
        service.add_action(
            past.id,
            items[1].id,
            description="Write the quick guide and share it with team managers",
            owner=str(support.id),
            due_on=(today + dt.timedelta(days=10)).isoformat(),
            actor=chair,
            today=past_day,
        )
    service.publish_minutes(past.id, chair)
    try:
        service.build_agenda(upcoming.id, service.get(upcoming.id).version, chair)
    except Exception:  # noqa: BLE001
        return
