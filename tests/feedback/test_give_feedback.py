"""Giving feedback through the form: stored once, acknowledged after commit, bad input refused cleanly."""

from __future__ import annotations

import pytest
import datetime as dt

import sqlalchemy as sa

from feedback_portal.accounts.models import SignInSession
from feedback_portal.audit.models import AuditEvent
from feedback_portal.feedback.models import Feedback
from tests.conftest import ALICE, BOB, CAROL, ERIN, field_error, give_feedback, sign_in, user_id

pytestmark = pytest.mark.postgres


def feedback_rows(session) -> list[Feedback]:  # noqa: ANN001
    session.rollback()  # end the read transaction so the next query sees new commits
    return list(session.scalars(sa.select(Feedback).order_by(Feedback.id)))


def test_the_form_prefills_the_team_from_the_profile(as_alice):
    page = as_alice.get("/feedback/new")
    assert page.status_code == 200
    assert '<option value="cp-west" selected>' in page.text
    assert 'name="idempotency_key"' in page.text


def test_frontline_feedback_is_committed_before_the_confirmation_shows_its_reference(as_alice, session, app):
    response = give_feedback(as_alice)
    assert response.status_code == 303
    # The row is already committed when the redirect is sent: another connection can read it.
    [stored] = feedback_rows(session)
    assert stored.ref == "FB-000001"
    assert stored.body.startswith("The case note I was typing disappeared")
    assert stored.submitter_id == user_id(app, ALICE)
    confirmation = as_alice.get(response.headers["location"])
    assert confirmation.status_code == 200
    assert "FB-000001" in confirmation.text
    assert "Feedback sent" in confirmation.text


def test_a_resubmitted_form_creates_one_feedback_not_two(as_alice, session):
    first = give_feedback(as_alice, idempotency_key="same-form-twice")
    second = give_feedback(as_alice, idempotency_key="same-form-twice")
    assert first.status_code == second.status_code == 303
    assert first.headers["location"] == second.headers["location"]
    assert len(feedback_rows(session)) == 1


def test_anonymous_feedback_stores_no_identity(as_alice, session, app):
    alice_id = user_id(app, ALICE)
    response = give_feedback(as_alice, anonymity="anonymous")
    assert response.status_code == 303
    [stored] = feedback_rows(session)
    assert stored.submitter_id is None
    events = list(session.scalars(sa.select(AuditEvent).where(AuditEvent.record_ref == stored.ref)))
    assert events and all(event.actor_id is None for event in events)
    # Nothing anywhere in the database ties Alice to this feedback: search every table's text.
    with app.state.engine.connect() as connection:
        for table in ("feedback", "audit_events", "attachments", "comments"):
            for row in connection.execute(sa.text(f"SELECT * FROM {table}")):
                text = " ".join(str(value) for value in row)
                assert ALICE.email not in text and ALICE.name not in text
        session_rows = connection.execute(sa.text("SELECT * FROM sign_in_sessions")).all()
        assert all(stored.ref not in " ".join(map(str, row)) for row in session_rows)
    # The confirmation still works for the person holding the receipt, and it is not in My feedback.
    assert stored.ref in as_alice.get(response.headers["location"]).text
    assert stored.ref not in as_alice.get("/my-feedback").text
    assert alice_id not in {event.actor_id for event in session.scalars(sa.select(AuditEvent))}


def test_my_feedback_lists_named_and_business_support_only_feedback_with_status(as_alice):
    give_feedback(as_alice, title="Named one", anonymity="named")
    give_feedback(as_alice, title="Quiet one", anonymity="business-support-only")
    give_feedback(as_alice, title="Secret one", anonymity="anonymous")
    page = as_alice.get("/my-feedback")
    assert "Named one" in page.text and "Quiet one" in page.text
    assert "Secret one" not in page.text
    assert "Received" in page.text


def test_business_support_only_names_are_hidden_from_the_board(client, session):
    sign_in(client, ALICE)
    give_feedback(client, anonymity="business-support-only")
    ref = feedback_rows(session)[0].ref
    client.cookies.clear()
    sign_in(client, CAROL)
    board_view = client.get(f"/feedback/{ref}")
    assert board_view.status_code == 200
    assert ALICE.name not in board_view.text and "Name withheld" in board_view.text
    client.cookies.clear()
    sign_in(client, BOB)
    assert ALICE.name in client.get(f"/feedback/{ref}").text


def test_empty_what_happened_gets_a_message_beside_the_field_and_nothing_is_stored(as_alice, session):
    response = give_feedback(as_alice, body="   ")
    assert response.status_code == 422
    assert field_error(response.text, "body") == "Enter what happened"
    assert 'href="#body"' in response.text  # the error summary links to the field
    assert feedback_rows(session) == []


def test_overlong_text_is_refused_and_what_was_typed_is_kept(as_alice, session):
    response = give_feedback(as_alice, body="x" * 5001, title="t" * 151)
    assert response.status_code == 422
    assert "5,000 characters or fewer" in field_error(response.text, "body")
    assert "150 characters or fewer" in field_error(response.text, "title")
    assert "x" * 5001 in response.text
    assert feedback_rows(session) == []


def test_unknown_module_kind_and_impact_are_refused(as_alice, session):
    response = give_feedback(as_alice, module="time-travel", kind="gripe", impact="apocalyptic")
    assert response.status_code == 422
    assert field_error(response.text, "module") == "Choose the part of the CMS this is about from the list"
    assert field_error(response.text, "kind") == "Choose what kind of problem this is from the list"
    assert field_error(response.text, "impact") == "Choose how much it affects your work from the list"
    assert feedback_rows(session) == []


def test_missing_choices_are_named_beside_each_field(as_alice):
    response = give_feedback(as_alice, module=None, kind=None, impact=None, anonymity=None)
    assert response.status_code == 422
    for field in ("module", "kind", "impact", "anonymity"):
        assert field_error(response.text, field), field


def test_html_and_script_are_kept_as_text_and_shown_escaped(as_alice, session, client):
    attack = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    give_feedback(as_alice, body=attack, title="<b>bold</b>")
    [stored] = feedback_rows(session)
    assert stored.body == attack
    page = as_alice.get(f"/feedback/{stored.ref}")
    assert "<script>alert" not in page.text
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in page.text
    assert "<b>bold</b>" not in page.text


def test_a_sql_looking_string_is_stored_exactly_as_written(as_alice, session):
    sql = "'); DROP TABLE feedback; -- and 1=1 OR ''='"
    assert give_feedback(as_alice, body=sql).status_code == 303
    [stored] = feedback_rows(session)
    assert stored.body == sql


def test_control_characters_are_removed(as_alice, session):
    give_feedback(as_alice, body="nul\x00byte and bell\x07 kept\ttab")
    assert feedback_rows(session)[0].body == "nulbyte and bell kept\ttab"


def test_a_missing_csrf_token_is_refused_with_a_clear_message(as_alice, session):
    response = as_alice.post(
        "/feedback/new",
        data={"body": "no token", "module": "other", "kind": "bug", "impact": "minor", "anonymity": "named"},
        files={"screenshots": ("", b"", "application/octet-stream")},
    )
    assert response.status_code == 403
    assert "This form has expired" in response.text
    assert feedback_rows(session) == []


def test_a_wrong_csrf_token_is_refused(as_alice, session):
    response = give_feedback(as_alice, _csrf_token="forged")
    # give_feedback sets the real token; post a forged one directly instead.
    response = as_alice.post(
        "/feedback/new",
        data={"body": "forged", "module": "other", "kind": "bug", "impact": "minor", "anonymity": "named",
              "_csrf_token": "forged-token"},
        files={"screenshots": ("", b"", "application/octet-stream")},
    )
    assert response.status_code == 403
    assert all(row.body != "forged" for row in feedback_rows(session))


def test_an_expired_session_is_told_nothing_was_saved(as_alice, session, app):
    with app.state.session_factory() as db_session:
        db_session.execute(
            sa.update(SignInSession).values(expires_at=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1))
        )
        db_session.commit()
    response = give_feedback(as_alice)
    assert response.status_code == 401
    assert "was not saved" in response.text
    assert feedback_rows(session) == []
    assert as_alice.get("/feedback/new", follow_redirects=False).headers["location"].startswith("/sign-in")


def test_another_frontline_user_cannot_open_my_feedback(client, session):
    sign_in(client, ALICE)
    give_feedback(client)
    ref = feedback_rows(session)[0].ref
    client.cookies.clear()
    sign_in(client, ERIN)
    assert client.get(f"/feedback/{ref}").status_code == 403
    assert client.get("/feedback/FB-999999").status_code == 404


def test_a_receipt_cannot_be_used_by_someone_else(client):
    sign_in(client, ALICE)
    location = give_feedback(client, idempotency_key="alice-receipt").headers["location"]
    client.cookies.clear()
    sign_in(client, ERIN)
    assert client.get(location).status_code == 404
