"""Helpers for the triage tests."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from feedback_portal import db
from feedback_portal.feedback.models import Feedback


def age(app, ref: str, days: int) -> None:
    """Make feedback `days` calendar days old."""
    with app.state.session_factory() as session:
        db.begin_write(session)
        when = dt.datetime.now(dt.UTC) - dt.timedelta(days=days)
        session.execute(sa.update(Feedback).where(Feedback.ref == ref).values(submitted_at=when))
        session.commit()


def feedback_row(app, ref: str) -> Feedback:
    with app.state.session_factory() as session:
        return session.scalar(sa.select(Feedback).where(Feedback.ref == ref))
