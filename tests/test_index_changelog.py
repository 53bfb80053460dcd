"""Every change to searchable records lands in the index change log, in the same transaction."""

from __future__ import annotations

import sqlalchemy as sa

from feedback_portal.feedback.models import Comment, Feedback
from feedback_portal.indexing.models import IndexChange
from tests.conftest import ALICE, give_feedback


def changes(session) -> list[tuple[str, int]]:  # noqa: ANN001
    session.rollback()  # end the read transaction so the next query sees new commits
    return [(row.record_type, row.record_id) for row in session.scalars(sa.select(IndexChange).order_by(IndexChange.id))]


def test_new_feedback_is_logged_for_the_index(as_alice, session):
    give_feedback(as_alice)
    feedback_id = session.scalar(sa.select(Feedback.id))
    assert ("feedback", feedback_id) in changes(session)


def test_a_rolled_back_change_leaves_no_log_entry(app, session):
    with app.state.session_factory() as db_session:
        db_session.add(Feedback(body="never committed", module="other", kind="bug", impact="minor", anonymity="named"))
        db_session.flush()
        db_session.rollback()
    assert changes(session) == []


def test_a_public_reply_reindexes_its_feedback(as_alice, app, session):
    give_feedback(as_alice)
    feedback_id = session.scalar(sa.select(Feedback.id))
    before = len(changes(session))
    with app.state.session_factory() as db_session:
        db_session.add(Comment(feedback_id=feedback_id, visibility="public", body="Thanks, fixed in 2.3"))
        db_session.commit()
    assert changes(session)[before:] == [("feedback", feedback_id)]
