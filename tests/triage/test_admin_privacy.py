"""/admin/privacy: admins add CMS ID patterns, names, ignored words and safeguarding phrases; intake and the
privacy check use them at once; bad patterns are refused beside their box; every change is audited."""

from __future__ import annotations

import sqlalchemy as sa

from feedback_portal.audit.models import AuditEvent
from tests.conftest import ALICE, BOB, DAN, field_error, give_feedback, sign_in
from tests.issues.triage_helpers import post, text_of
from tests.triage.conftest import feedback_row



def _save(client, **values):
    data = {
        "case_id_patterns": "",
        "extra_names": "",
        "ignore_words": "",
        "safeguarding_phrases": "",
        **values,
    }
    return post(client, "/admin/privacy", **data)


def test_only_admins(client):
    sign_in(client, BOB)
    assert client.get("/admin/privacy").status_code == 403
    assert _save(client, case_id_patterns=r"\bMOS-\d{6}\b").status_code == 403


def test_a_new_pattern_is_used_by_the_privacy_check_and_intake(app, client, session):
    sign_in(client, ALICE)
    check = post(client, "/feedback/privacy-check", body="The record MOS-123456 would not open")
    assert "case ID" not in text_of(check.text)
    sign_in(client, DAN)
    response = _save(client, case_id_patterns="# Mosaic numbers\n\\bMOS-\\d{6}\\b")
    assert response.status_code == 303
    assert "Saved" in text_of(client.get(response.headers["location"]).text)
    sign_in(client, ALICE)
    check = post(client, "/feedback/privacy-check", body="The record MOS-123456 would not open")
    assert check.status_code == 200 and text_of(check.text)
    sent = give_feedback(client, body="The record MOS-123456 would not open on Tuesday")
    thanks = client.get(sent.headers["location"])
    assert "held your feedback for checking" in text_of(thanks.text)
    event = session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "privacy.settings_changed"))
    assert event.after["case_id_patterns"] == ["# Mosaic numbers", r"\bMOS-\d{6}\b"] and event.before is None


def test_extra_names_ignore_words_and_phrases(app, client):
    sign_in(client, DAN)
    assert (
        _save(client, extra_names="Zorblax", safeguarding_phrases="locked in the cupboard").status_code == 303
    )
    sign_in(client, ALICE)
    sent = give_feedback(client, body="Zorblax could not find the save button on the chronology page")
    ref = text_of(client.get(sent.headers["location"]).text).split("Your reference is ")[1].split()[0]
    assert feedback_row(app, ref).held
    sent = give_feedback(
        client, body="A child is locked in the cupboard and I could not record it on the CMS"
    )
    ref = text_of(client.get(sent.headers["location"]).text).split("Your reference is ")[1].split()[0]
    assert feedback_row(app, ref).restricted


def test_bad_patterns_are_refused_beside_the_box_and_nothing_is_saved(app, client, session):
    sign_in(client, DAN)
    cases = {
        "(unclosed": "not a valid regular expression",
        "x*": "matches empty text",
        "a" * 501: "longer than 500 characters",
        r"(\d+)+X": "repeats a repeated group",
        r"\d{3}": "too broad",
    }
    for pattern, message in cases.items():
        response = _save(client, case_id_patterns=f"\\bOK-\\d{{6}}\\b\n{pattern}")
        assert response.status_code == 422, pattern
        assert message in field_error(response.text, "case_id_patterns"), pattern
        assert "line 2" in field_error(response.text, "case_id_patterns") or "repeat" in message
    response = _save(client, extra_names="R2-D2")
    assert response.status_code == 422 and "is not a name" in field_error(response.text, "extra_names")
    assert (
        session.scalar(
            sa.select(sa.func.count(AuditEvent.id)).where(AuditEvent.action == "privacy.settings_changed")
        )
        == 0
    )


def test_every_worker_sees_a_change(app, settings, client):
    """A second app (another worker) on the same database picks the change up on its next request."""
    from litestar.testing import TestClient

    from feedback_portal.app import create_app

    other = create_app(settings)
    with TestClient(other, base_url="http://portal.test", raise_server_exceptions=False) as second:
        sign_in(second, ALICE)
        assert not text_of(post(second, "/feedback/privacy-check", body="Record QQ-998877 failed").text)
        sign_in(client, DAN)
        _save(client, case_id_patterns=r"\bQQ-\d{6}\b")
        assert text_of(post(second, "/feedback/privacy-check", body="Record QQ-998877 failed").text)
