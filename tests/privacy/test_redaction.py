"""Business support deal with held feedback: redact it (original kept for admins until purged) or clear the flag."""

from __future__ import annotations

import datetime as dt
import io
import json
import re

import sqlalchemy as sa
from click.testing import CliRunner

from feedback_portal import cli, db
from feedback_portal.audit.models import AuditEvent
from feedback_portal.feedback import exporting
from feedback_portal.feedback.models import Feedback
from tests.conftest import ALICE, BOB, CAROL, DAN, api_token, cli_env, csrf_token, field_error, sign_in
from tests.factories import make_feedback


PERSONAL = "I tried to record a visit for Jayden Smith at 14 Elm Road, SW1A 1AA but the form froze"
REDACTED = "I tried to record a visit for [name removed] at [address removed], [postcode removed] but the form froze"


def stored(session, ref: str) -> Feedback:  # noqa: ANN001
    session.rollback()
    return session.scalar(sa.select(Feedback).where(Feedback.ref == ref))


def review_version(page: str) -> str:
    return re.search(r'name="version" value="([0-9a-f]+)"', page).group(1)


def post(client, path: str, **data):  # noqa: ANN001, ANN003, ANN201
    return client.post(path, data={**data, "_csrf_token": csrf_token(client)}, follow_redirects=False)


def test_business_support_see_the_flagged_pieces_highlighted(app, as_bob):
    ref = make_feedback(app, ALICE.email, title="Visit for Jayden", body=PERSONAL)
    page = as_bob.get(f"/feedback/{ref}").text
    assert '<mark class="app-personal-data"><span class="govuk-visually-hidden">(possible name) </span>Jayden Smith</mark>' in page
    assert "(possible postcode) </span>SW1A 1AA</mark>" in page
    assert "(possible address) </span>14 Elm Road</mark>" in page
    assert "(possible name) </span>Jayden</mark>" in page  # in the title too
    assert re.search(r">\s*Redact\s*<", page) and "Clear the flag" in page
    assert 'for="reason"' in page  # the reason has a label
    # No public reply while held.
    assert 'action="/feedback/' + ref + '/replies"' not in page


def test_redact_replaces_each_span_keeps_the_original_for_admins_and_audits_no_personal_data(app, client, session):
    ref = make_feedback(app, ALICE.email, title="Visit for Jayden", body=PERSONAL)
    sign_in(client, BOB)
    version = review_version(client.get(f"/feedback/{ref}").text)
    response = post(client, f"/feedback/{ref}/redact", version=version)
    assert response.status_code == 303
    assert response.headers["location"] == f"/feedback/{ref}?done=redacted"
    feedback = stored(session, ref)
    assert feedback.body == REDACTED
    assert feedback.title == "Visit for [name removed]"
    assert feedback.held is False and feedback.personal_data == []
    assert feedback.original_body == PERSONAL and feedback.original_title == "Visit for Jayden"
    days = (feedback.original_purge_after - dt.datetime.now(dt.UTC)).total_seconds() / 86400
    assert 29.9 < days <= 30

    [event] = session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "feedback.redacted"))
    assert event.after == {"held": False, "redacted": {"name": 2, "address": 1, "postcode": 1}}
    everything = json.dumps([event.before, event.after])
    assert "Jayden" not in everything and "SW1A" not in everything and "Elm Road" not in everything

    # Business support see the redacted text only; the original is for admins.
    page = client.get(f"/feedback/{ref}?done=redacted").text
    assert "Redacted." in page
    assert "Jayden" not in page and "[name removed]" in page
    assert "redacted 2 names, 1 address and 1 postcode" in page  # the history says what, never the text
    sign_in(client, CAROL)
    assert "Jayden" not in client.get(f"/feedback/{ref}").text
    sign_in(client, DAN)
    admin_page = client.get(f"/feedback/{ref}").text
    assert "Original text, before redaction" in admin_page and "Jayden Smith" in admin_page

    # The API gives offsets into the current text: none now.
    document = client.get(
        f"/api/v1/feedback/{ref}", headers={"Authorization": f"Bearer {api_token(app, BOB)}"}
    ).json()
    assert document["held"] is False and document["personal_data"] == [] and document["body"] == REDACTED


def test_purge_removes_the_original_text_past_its_date(app, client, session, settings):
    ref = make_feedback(app, ALICE.email, body=PERSONAL)
    sign_in(client, BOB)
    post(client, f"/feedback/{ref}/redact", version=review_version(client.get(f"/feedback/{ref}").text))
    env = cli_env(settings)
    result = CliRunner().invoke(cli.main, ["privacy", "purge"], env=env, catch_exceptions=False)
    assert result.exit_code == 0
    assert "Deleted the original text of 0 redacted feedback items." in result.output
    assert stored(session, ref).original_body == PERSONAL

    db.begin_write(session)
    session.execute(
        sa.update(Feedback).where(Feedback.ref == ref).values(
            original_purge_after=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)
        )
    )
    session.commit()
    result = CliRunner().invoke(cli.main, ["privacy", "purge"], env=env, catch_exceptions=False)
    assert "Deleted the original text of 1 redacted feedback item." in result.output
    feedback = stored(session, ref)
    assert feedback.original_body is None and feedback.original_title is None
    assert feedback.original_purge_after is None and feedback.body.startswith("I tried to record")
    with app.state.engine.connect() as connection:
        for table in ("feedback", "audit_events"):
            for row in connection.execute(sa.text(f"SELECT * FROM {table}")):
                assert "Jayden" not in " ".join(str(value) for value in row)


def test_clear_the_flag_needs_a_reason(app, client, session):
    ref = make_feedback(app, ALICE.email, body=PERSONAL)
    sign_in(client, BOB)
    version = review_version(client.get(f"/feedback/{ref}").text)
    missing = post(client, f"/feedback/{ref}/clear-flag", version=version, reason="  ")
    assert missing.status_code == 422
    assert field_error(missing.text, "reason") == "Enter why this is not personal data"
    assert 'href="#reason"' in missing.text  # the error summary links to the field
    assert stored(session, ref).held is True

    cleared = post(client, f"/feedback/{ref}/clear-flag", version=version, reason="Made-up example names")
    assert cleared.status_code == 303
    feedback = stored(session, ref)
    assert feedback.held is False and feedback.personal_data == [] and feedback.body == PERSONAL
    assert feedback.original_body is None
    [event] = session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "feedback.flag_cleared"))
    assert event.before == {"held": True, "personal_data": {"name": 1, "address": 1, "postcode": 1}}
    assert event.after == {"held": False, "reason": "Made-up example names"}
    assert "cleared the personal data flag" in client.get(f"/feedback/{ref}").text
    # Released: the board can see it now.
    sign_in(client, CAROL)
    assert client.get(f"/feedback/{ref}").status_code == 200
    assert ref in client.get("/feedback").text


def test_stale_or_out_of_range_spans_are_refused_clearly(app, client, session):
    ref = make_feedback(app, ALICE.email, body=PERSONAL)
    sign_in(client, BOB)
    version = review_version(client.get(f"/feedback/{ref}").text)

    # A page opened before the text or flags changed is out of date.
    stale = post(client, f"/feedback/{ref}/redact", version="0000000000000000")
    assert stale.status_code == 409
    assert "changed since you opened it" in stale.text

    # A span outside the text.
    db.begin_write(session)
    feedback = session.scalar(sa.select(Feedback).where(Feedback.ref == ref))
    feedback.personal_data = [{"kind": "name", "field": "body", "start": 80, "end": 200}]
    session.commit()
    version = review_version(client.get(f"/feedback/{ref}").text)
    outside = post(client, f"/feedback/{ref}/redact", version=version)
    assert outside.status_code == 409
    assert "outside the text" in outside.text
    assert stored(session, ref).body == PERSONAL and stored(session, ref).held is True

    # Nothing held: nothing to redact or clear.
    other = make_feedback(app, ALICE.email, body="The chronology tab takes a minute to load")
    assert post(client, f"/feedback/{other}/redact", version="x").status_code == 409
    assert post(client, f"/feedback/{other}/clear-flag", version="x", reason="r").status_code == 409
    assert post(client, "/feedback/FB-999999/redact", version="x").status_code == 404


def test_only_business_support_and_admins_can_redact_or_clear(app, client, session):
    ref = make_feedback(app, ALICE.email, body=PERSONAL)
    sign_in(client, BOB)
    version = review_version(client.get(f"/feedback/{ref}").text)
    for persona in (ALICE, CAROL):
        sign_in(client, persona)
        assert post(client, f"/feedback/{ref}/redact", version=version).status_code == 403
        assert post(client, f"/feedback/{ref}/clear-flag", version=version, reason="no").status_code == 403
        page = client.get(f"/feedback/{ref}")
        if persona is ALICE:  # her own: she sees it is held, without the review tools
            assert page.status_code == 200
            assert "Held for business support to check" in page.text and "Clear the flag" not in page.text
        else:  # held feedback is not for the board until it has been checked
            assert page.status_code == 403
    assert stored(session, ref).held is True
    sign_in(client, DAN)
    assert post(client, f"/feedback/{ref}/redact", version=version).status_code == 303


def test_exports_carry_held_feedback_redacted(app, session):
    held = make_feedback(app, ALICE.email, body=PERSONAL)
    plain = make_feedback(app, ALICE.email, body="The chronology tab takes a minute to load")
    session.rollback()
    buffer = io.BytesIO()
    assert exporting.export_feedback(session, "json", buffer) == 2
    records = {record["ref"]: record for record in json.loads(buffer.getvalue())}
    assert records[held]["body"] == REDACTED
    assert records[plain]["body"] == "The chronology tab takes a minute to load"
    assert "Jayden" not in buffer.getvalue().decode()
