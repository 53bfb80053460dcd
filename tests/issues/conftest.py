"""Helpers for the issue tests: the service on its own session, the personas as users, and quick set-ups."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
import sqlalchemy as sa
from litestar import Litestar

from feedback_portal.accounts.models import User
from feedback_portal.issues.services import IssueService
from tests.conftest import Persona


@pytest.fixture
def issues(app: Litestar) -> Iterator[IssueService]:
    """The issue service on a session of its own, as one request would have it."""
    with app.state.session_factory() as db_session:
        yield IssueService(db_session)


@pytest.fixture
def person(app: Litestar) -> Callable[[Persona], User]:
    def load(persona: Persona) -> User:
        with app.state.session_factory() as db_session:
            return db_session.scalar(sa.select(User).where(User.email == persona.email))

    return load
