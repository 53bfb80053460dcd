"""Personal data and safeguarding at intake: flagged, held and restricted, but always stored and acknowledged."""

from __future__ import annotations

import sqlalchemy as sa

from feedback_portal.audit.models import AuditEvent
from feedback_portal.feedback.models import Feedback
from feedback_portal.settings import DEFAULT_SAFEGUARDING_TEXT
from tests.conftest import ALICE, BOB, CAROL, DAN, ERIN, api_token, csrf_token, give_feedback, sign_in
from tests.factories import make_feedback

PERSONAL = "I tried to record a visit for Jayden Smith at 14 Elm Road, SW1A 1AA but the form froze"
LIVE_RISK = "The child told me she is not safe tonight and the CMS would not let me save the referral"
ORDINARY = "The chronology tab takes a minute to load every time I open a case"


def stored(session, ref: str) -> Feedback:  # noqa: ANN001
    session.rollback()
    return session.scalar(sa.select(Feedback).where(Feedback.ref == ref))


def ref_of(response, client):  # noqa: ANN001, ANN201
    page = client.get(response.headers["location"])
    assert page.status_code == 200
    return page, page.text.split('<strong class="app-ref">', 1)[1].split("</strong>", 1)[0]


def test_personal_data_is_flagged_and_held_but_still_stored_and_acknowledged(as_alice, session):
    response = give_feedback(as_alice, title="Visit for Jayden", body=PERSONAL)
    assert response.status_code == 303
    page, ref = ref_of(response, as_alice)
    feedback = stored(session, ref)
    assert feedback.body == PERSONAL  # nothing is lost
    assert feedback.held is True and feedback.restricted is False
    assert {(item["kind"], item["field"]) for item in feedback.personal_data} == {
        ("name", "title"),
        ("name", "body"),
        ("address", "body"),
        ("postcode", "body"),
    }
    for item in feedback.personal_data:
        text = feedback.title if item["field"] == "title" else feedback.body
        assert text[item["start"] : item["end"]] in {"Jayden", "Jayden Smith", "14 Elm Road", "SW1A 1AA"}
    # The confirmation works without JavaScript and says plainly why it was held.
    assert "Feedback sent" in page.text
    assert "held for business support to check because it may identify someone" in page.text
    assert DEFAULT_SAFEGUARDING_TEXT not in page.text


def test_the_submission_audit_event_keeps_no_personal_data(as_alice, session):
    response = give_feedback(as_alice, title="Visit for Jayden", body=PERSONAL)
    _, ref = ref_of(response, as_alice)
    session.rollback()
    [event] = session.scalars(sa.select(AuditEvent).where(AuditEvent.record_ref == ref))
    text = str(event.after)
    assert "Jayden" not in text and "Elm Road" not in text and "SW1A" not in text
    assert "[name removed]" in event.after["body"]
    assert event.after["personal_data"] == {"name": 2, "address": 1, "postcode": 1}


def test_ordinary_feedback_is_not_held(as_alice, session):
    response = give_feedback(as_alice, body=ORDINARY)
    page, ref = ref_of(response, as_alice)
    feedback = stored(session, ref)
    assert feedback.personal_data == [] and not feedback.held and not feedback.restricted
    assert "held for business support" not in page.text


def test_the_inline_warning_as_someone_types(as_alice):
    headers = {"x-csrftoken": csrf_token(as_alice), "HX-Request": "true"}
    flagged = as_alice.post("/feedback/privacy-check", data={"title": "", "body": PERSONAL}, headers=headers)
    assert flagged.status_code == 200
    assert "govuk-warning-text" in flagged.text
    assert "Jayden Smith" in flagged.text and "identify" in flagged.text
    assert "<html" not in flagged.text  # a fragment
    clean = as_alice.post("/feedback/privacy-check", data={"title": "Slow", "body": ORDINARY}, headers=headers)
    assert clean.status_code == 200
    assert clean.text.strip() == ""
    risk = as_alice.post("/feedback/privacy-check", data={"body": LIVE_RISK}, headers=headers)
    assert DEFAULT_SAFEGUARDING_TEXT.split(" — ")[0] in risk.text


def test_the_privacy_check_needs_signing_in(client):
    response = client.post(
        "/feedback/privacy-check", data={"body": PERSONAL}, headers={"x-csrftoken": csrf_token(client)},
        follow_redirects=False,
    )
    assert response.status_code in {302, 303, 401}


def test_the_form_has_the_warning_panel_under_what_happened(as_alice):
    page = as_alice.get("/feedback/new").text
    panel = page.index('id="privacy-warning"')
    assert page.index('id="body"') < panel < page.index('id="title"')
    tag = page[page.rindex("<div", 0, panel) : page.index(">", panel)]
    assert 'aria-live="polite"' in tag
    assert 'data-hx-post="/feedback/privacy-check"' in tag and 'data-hx-params="title,body"' in tag
    assert " hx-" not in page


def test_a_form_with_errors_shows_the_warning_without_javascript(as_alice):
    response = give_feedback(as_alice, body=PERSONAL, module="")
    assert response.status_code == 422
    warning = response.text.split('id="privacy-warning"', 1)[1].split('id="similar"', 1)[0]
    assert "govuk-warning-text" in warning and "Jayden Smith" in warning


def test_a_live_risk_shows_the_safeguarding_route_and_restricts_the_feedback(as_alice, session):
    response = give_feedback(as_alice, body=LIVE_RISK)
    page, ref = ref_of(response, as_alice)
    assert DEFAULT_SAFEGUARDING_TEXT in page.text.replace("&#39;", "'")
    assert "999" in page.text
    feedback = stored(session, ref)
    assert feedback.restricted and feedback.held


def test_the_safeguarding_text_is_a_setting(settings, tmp_path):
    from feedback_portal.settings import Settings

    configured = Settings.from_env(
        {
            "FEEDBACK_PORTAL_DATA_DIR": str(tmp_path / "x"),
            "FEEDBACK_PORTAL_SAFEGUARDING_TEXT": "Call the duty desk on 01234 567890.",
            "FEEDBACK_PORTAL_ORIGINAL_TEXT_DAYS": "7",
        }
    )
    assert configured.safeguarding_text == "Call the duty desk on 01234 567890."
    assert configured.original_text_days == 7
    assert settings.safeguarding_text == DEFAULT_SAFEGUARDING_TEXT and settings.original_text_days == 30


def test_restricted_feedback_is_for_business_support_and_admins_only(app, client, session):
    risky = make_feedback(app, ALICE.email, title="Referral would not save", body=LIVE_RISK)
    ordinary = make_feedback(app, ALICE.email, title="Chronology slow", body=ORDINARY)
    app.state.indexer.rebuild()

    sign_in(client, CAROL)  # the board
    assert client.get(f"/feedback/{risky}").status_code == 403
    assert client.get(f"/feedback/{ordinary}").status_code == 200
    listing = client.get("/feedback").text
    assert ordinary in listing and risky not in listing
    found = client.get("/search?q=referral+save").text
    assert risky not in found
    board = {"Authorization": f"Bearer {api_token(app, CAROL)}"}
    items = client.get("/api/v1/feedback", headers=board).json()["items"]
    assert [item["ref"] for item in items] == [ordinary]
    assert client.get(f"/api/v1/feedback/{risky}", headers=board).status_code == 403

    sign_in(client, ERIN)  # another frontline worker
    assert client.get(f"/feedback/{risky}").status_code == 403

    for persona in (BOB, DAN):
        sign_in(client, persona)
        page = client.get(f"/feedback/{risky}")
        assert page.status_code == 200 and "Safeguarding" in page.text
        assert risky in client.get("/feedback").text
    sign_in(client, BOB)
    assert risky in client.get("/search?q=referral+save").text

    # Each opening of restricted feedback is recorded (and only restricted feedback).
    session.rollback()
    views = list(
        session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "record.viewed").order_by(AuditEvent.id))
    )
    assert {event.record_ref for event in views} == {risky}
    assert len(views) == 2


def test_held_feedback_is_not_offered_as_someone_already_said_this(app, as_alice):
    held = make_feedback(app, ERIN.email, body="The court bundle upload for Jayden Smith fails when it is over 5MB")
    other = make_feedback(app, ERIN.email, body="The court bundle upload fails when the file is over 5MB")
    app.state.indexer.rebuild()
    response = as_alice.post(
        "/feedback/similar",
        data={"body": "court bundle upload fails over 5MB", "title": ""},
        headers={"x-csrftoken": csrf_token(as_alice), "HX-Request": "true"},
    )
    assert other in response.text
    assert held not in response.text


def test_the_api_includes_personal_data_and_held(app, client):
    ref = make_feedback(app, ALICE.email, title="Visit for Jayden", body=PERSONAL)
    mine = client.get(f"/api/v1/feedback/{ref}", headers={"Authorization": f"Bearer {api_token(app, ALICE)}"})
    assert mine.status_code == 200
    document = mine.json()
    assert document["held"] is True
    assert {"kind": "postcode", "field": "body", "start": 59, "end": 67} in document["personal_data"]
    for item in document["personal_data"]:
        assert set(item) == {"kind", "field", "start", "end"}
        text = document[item["field"]]
        assert text[item["start"] : item["end"]]
    erin = {"Authorization": f"Bearer {api_token(app, ERIN)}"}
    assert client.get(f"/api/v1/feedback/{ref}", headers=erin).status_code == 403
    created = client.post(
        "/api/v1/feedback",
        json={"body": ORDINARY, "module": "case-notes", "kind": "bug", "impact": "minor"},
        headers={**erin, "x-csrftoken": csrf_token(client)},
    )
    assert created.status_code == 201
    assert created.json()["personal_data"] == [] and created.json()["held"] is False
