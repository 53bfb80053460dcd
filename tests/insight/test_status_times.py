"""Changing an issue's status keeps decided_at, fixed_at and resolved_at true, for the insight charts."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from feedback_portal.accounts.models import User
from feedback_portal.issues.models import IssueStatus
from feedback_portal.issues.services import IssueService
from tests.conftest import ALICE, BOB
from tests.factories import make_feedback

pytestmark = pytest.mark.postgres
REASON = {"status_reason": "The supplier will not change this screen."}


@pytest.fixture
def walk(app, person):  # noqa: ANN001, ANN201
    """walk(*statuses) -> the issue after each status change, as a list of (decided_at, fixed_at, resolved_at)."""

    def go(*path: str) -> list[tuple]:
        with app.state.session_factory() as session:
            issues = IssueService(session)
            issue = issues.create("Case notes time out", [make_feedback(app, ALICE.email)], person(BOB))
            seen = [(issue.decided_at, issue.fixed_at, issue.resolved_at)]
            for status in path:
                changes = {"status": status, **(REASON if IssueStatus(status).needs_reason else {})}
                issue = issues.change(issue.ref, issues.get(issue.ref).version, changes, person(BOB))
                seen.append((issue.decided_at, issue.fixed_at, issue.resolved_at))
            return seen

    return go


@pytest.fixture
def person(app):  # noqa: ANN001, ANN201
    def load(persona):  # noqa: ANN001, ANN202
        with app.state.session_factory() as session:
            return session.scalar(sa.select(User).where(User.email == persona.email))

    return load


def test_a_new_issue_has_no_decision_fix_or_resolution(walk) -> None:  # noqa: ANN001
    assert walk() == [(None, None, None)]


def test_the_first_decision_is_kept_when_the_issue_moves_on(walk) -> None:  # noqa: ANN001
    _, investigating, requested, scheduled, fixed, closed = walk(
        "investigating", "change-requested", "fix-scheduled", "fixed", "closed"
    )
    assert investigating == (None, None, None)
    decided = requested[0]
    assert decided is not None and requested[1:] == (None, None)
    assert scheduled[0] == decided  # the first decision stands
    assert fixed[0] == decided and fixed[1] is not None and fixed[2] == fixed[1]
    assert closed == fixed  # closing a fixed issue keeps when it was finished


def test_fixing_straight_away_counts_as_the_decision(walk) -> None:  # noqa: ANN001
    _, fixed = walk("fixed")
    assert fixed[0] == fixed[1] == fixed[2] and fixed[0] is not None


def test_a_decision_without_a_fix_resolves_the_issue_and_reopening_clears_only_that(walk) -> None:  # noqa: ANN001
    _, wont_fix, reopened, fixed = walk("wont-fix", "investigating", "fixed")
    assert wont_fix[0] is not None and wont_fix[1] is None and wont_fix[2] == wont_fix[0]
    assert reopened == (wont_fix[0], None, None)  # open again; it was decided once, and that stays
    assert fixed[0] == wont_fix[0] and fixed[1] is not None and fixed[2] == fixed[1]


def test_a_status_set_anywhere_else_keeps_the_times_too(app, person) -> None:  # noqa: ANN001
    """Publishing minutes (meetings) sets an issue's status directly: the times follow all the same."""
    from feedback_portal import db
    from feedback_portal.issues.models import Issue

    with app.state.session_factory() as session:
        ref = (
            IssueService(session).create("Forms time out", [make_feedback(app, ALICE.email)], person(BOB)).ref
        )
    with app.state.session_factory() as session:
        db.begin_write(session)
        issue = session.scalar(sa.select(Issue).where(Issue.ref == ref))
        issue.status = "change-requested"
        session.commit()
        decided = issue.decided_at
        issue.status = "wont-fix"
        session.commit()
        assert decided is not None and issue.decided_at == decided
        assert issue.resolved_at is not None and issue.fixed_at is None
