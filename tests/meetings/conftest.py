"""Helpers for the meeting tests: issues with feedback, a meeting, and the services on their own sessions."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator

import pytest
import sqlalchemy as sa
from litestar import Litestar

from feedback_portal import db
from feedback_portal.accounts.models import User
from feedback_portal.feedback.models import Feedback
from feedback_portal.issues.models import Issue
from feedback_portal.issues.services import IssueService
from feedback_portal.meetings.models import Meeting
from feedback_portal.meetings.services import MeetingService
from tests.conftest import BOB, CAROL, Persona
from tests.factories import make_feedback


def load_user(app: Litestar, persona: Persona) -> User:
    with app.state.session_factory() as session:
        return session.scalar(sa.select(User).where(User.email == persona.email))


def make_issue(
    app: Litestar,
    title: str,
    *,
    count: int = 2,
    severity: int | None = None,
    submitter: str = "alice@council.example",
    **feedback_fields,
) -> str:
    """An issue grouping `count` new feedback items; returns its ref."""
    refs = [make_feedback(app, submitter, **feedback_fields) for _ in range(count)]
    with app.state.session_factory() as session:
        service = IssueService(session)
        bob = session.scalar(sa.select(User).where(User.email == BOB.email))
        issue = service.create(title, refs, bob)
        if severity is not None:
            service.change(issue.ref, issue.version, {"severity": str(severity)}, bob)
        return issue.ref


def make_meeting(
    app: Litestar, *, minutes: int = 60, when: dt.datetime | None = None, series_id: int | None = None
) -> int:
    when = when or (dt.datetime.now(dt.UTC) + dt.timedelta(days=2)).replace(microsecond=0)
    with app.state.session_factory() as session:
        carol = session.scalar(sa.select(User).where(User.email == CAROL.email))
        meeting = MeetingService(session).create_meeting(
            title="Implementation board",
            scheduled_for=when.isoformat(),
            duration_minutes=minutes,
            series_id=series_id,
            actor=carol,
        )
        return meeting.id


def meeting_version(app: Litestar, meeting_id: int) -> int:
    with app.state.session_factory() as session:
        return session.get(Meeting, meeting_id).version


def hold_feedback(app: Litestar, issue_ref: str) -> list[str]:
    """Mark every feedback of an issue as held (personal data not yet redacted); returns their refs."""
    with app.state.session_factory() as session:
        db.begin_write(session)
        issue_id = session.scalar(sa.select(Issue.id).where(Issue.ref == issue_ref))
        session.execute(sa.update(Feedback).where(Feedback.issue_id == issue_id).values(held=True))
        refs = list(session.scalars(sa.select(Feedback.ref).where(Feedback.issue_id == issue_id)))
        session.commit()
        return refs


@pytest.fixture
def meetings(app: Litestar) -> Iterator[MeetingService]:
    with app.state.session_factory() as session:
        yield MeetingService(session)


@pytest.fixture
def carol(app: Litestar) -> User:
    return load_user(app, CAROL)


@pytest.fixture
def issue_factory(app: Litestar) -> Callable[..., str]:
    return lambda title, **kw: make_issue(app, title, **kw)
