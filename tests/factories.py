"""Factories that build feedback straight through the service, as the form would."""

from __future__ import annotations

import datetime as dt
import itertools

import sqlalchemy as sa
from litestar import Litestar

from feedback_portal import db
from feedback_portal.accounts.models import User
from feedback_portal.feedback.models import Feedback
from feedback_portal.feedback.services import FeedbackService

_counter = itertools.count(1)


def make_feedback(app: Litestar, submitter_email: str, *, submitted_at: dt.datetime | None = None, **fields) -> str:  # noqa: ANN003
    settings = app.state.settings
    values = {
        "body": f"Feedback number {next(_counter)} about the CMS",
        "module": "case-notes",
        "kind": "bug",
        "impact": "minor",
        "anonymity": "named",
        **fields,
    }
    with app.state.session_factory() as session:
        service = FeedbackService(
            session,
            uploads_dir=settings.uploads_dir,
            upload_max_bytes=settings.upload_max_bytes,
            upload_max_files=settings.upload_max_files,
        )
        user = session.scalar(sa.select(User).where(User.email == submitter_email))
        feedback = service.submit(values, submitter=user)
        if submitted_at is not None:
            db.begin_write(session)
            session.execute(sa.update(Feedback).where(Feedback.id == feedback.id).values(submitted_at=submitted_at))
            session.commit()
        return feedback.ref
