"""Bulk actions on the queue: all or nothing, audited per item, a message saying what happened."""

from __future__ import annotations

import pytest
import re

import sqlalchemy as sa

from feedback_portal.audit.models import AuditEvent
from tests.conftest import ALICE, BOB, sign_in
from tests.factories import make_feedback
from tests.issues.triage_helpers import create_issue, post, text_of
from tests.triage.conftest import feedback_row

pytestmark = pytest.mark.postgres

EMAIL_BODY = "The CMS emailed jane.doe@example.com instead of the team inbox when I saved the plan"


def _error(html: str, field: str) -> str:
    match = re.search(rf'<p id="{field}-error" class="govuk-error-message">(.*?)</p>', html, re.DOTALL)
    return text_of(match.group(1)) if match else ""


def _events(session, action: str) -> list[AuditEvent]:
    session.rollback()
    return list(session.scalars(sa.select(AuditEvent).where(AuditEvent.action == action)))


def test_bulk_link_selected_items(app, client, session):
    a, b, c = (make_feedback(app, ALICE.email) for _ in range(3))
    sign_in(client, BOB)
    issue = create_issue(client, "Grouped", c)
    response = post(
        client, "/triage/bulk", items=[a, b], bulk_action="link", bulk_issue=issue, scope="selected", queue=""
    )
    assert response.status_code == 200
    assert f"2 feedback items linked to {issue}: {a}, {b}." in text_of(response.text)
    assert feedback_row(app, a).issue.ref == issue and feedback_row(app, b).triaged_at
    assert {e.record_ref for e in _events(session, "feedback.linked")} >= {a, b}


def test_bulk_all_matching_the_filters(app, client):
    reports = [make_feedback(app, ALICE.email, module="reports") for _ in range(3)]
    other = make_feedback(app, ALICE.email, module="search")
    sign_in(client, BOB)
    response = post(
        client,
        "/triage/bulk",
        scope="all",
        bulk_action="classify",
        bulk_impact="blocks-work",
        queue="module=reports",
    )
    assert response.status_code == 200 and "3 feedback items updated" in text_of(response.text)
    assert all(feedback_row(app, ref).impact == "blocks-work" for ref in reports)
    assert feedback_row(app, other).impact == "minor"


def test_bulk_not_cms(app, client, session):
    a, b = make_feedback(app, ALICE.email), make_feedback(app, ALICE.email)
    sign_in(client, BOB)
    response = post(
        client,
        "/triage/bulk",
        items=[a, b],
        bulk_action="not-cms",
        bulk_reason="About the printers",
        queue="",
    )
    assert response.status_code == 200 and "2 feedback items marked not about the CMS" in text_of(
        response.text
    )
    assert {feedback_row(app, ref).status for ref in (a, b)} == {"not-cms"}
    assert len(_events(session, "feedback.not_cms")) == 2


def test_bulk_bad_input_applies_nothing(app, client, session):
    a, b = make_feedback(app, ALICE.email), make_feedback(app, ALICE.email)
    held = make_feedback(app, ALICE.email, body=EMAIL_BODY)
    sign_in(client, BOB)
    cases = [
        ({"bulk_action": "link", "bulk_issue": "ISS-0001"}, "items", "Select at least one feedback"),
        (
            {"items": [a, b], "bulk_action": "link", "bulk_issue": "ISS-0042"},
            "bulk_issue",
            "There is no issue ISS-0042",
        ),
        (
            {"items": [a, b], "bulk_action": "link", "bulk_issue": ""},
            "bulk_issue",
            "Enter the issue to link them to",
        ),
        (
            {"items": [a, b], "bulk_action": "not-cms", "bulk_reason": ""},
            "bulk_reason",
            "Enter why this is not about",
        ),
        (
            {"items": [a, held], "bulk_action": "not-cms", "bulk_reason": "Printers"},
            "bulk_reason",
            "Redact or clear the personal data before replying",
        ),
        (
            {"items": [a, "FB-999999"], "bulk_action": "classify", "bulk_kind": "bug"},
            "items",
            "There is no feedback FB-999999",
        ),
        ({"items": [a], "bulk_action": "classify", "bulk_kind": "wrong"}, "bulk_kind", "Choose the kind"),
        ({"items": [a], "bulk_action": "explode"}, "bulk_action", "Choose what to do"),
    ]
    for data, field, message in cases:
        response = post(client, "/triage/bulk", queue="", **data)
        assert response.status_code == 422, data
        shown = _error(response.text, field) if field != "bulk_action" else text_of(response.text)
        assert message in shown, (data, shown)
    assert {feedback_row(app, ref).status for ref in (a, b, held)} == {"received"}
    assert not _events(session, "feedback.not_cms") and not _events(session, "feedback.classified")


def test_bulk_not_cms_refuses_feedback_already_on_an_issue(app, client):
    a, b = make_feedback(app, ALICE.email), make_feedback(app, ALICE.email)
    sign_in(client, BOB)
    issue = create_issue(client, "Grouped", b)
    response = post(
        client, "/triage/bulk", items=[a, b], bulk_action="not-cms", bulk_reason="Printers", queue=""
    )
    assert response.status_code == 422 and f"{b} ({issue})" in _error(response.text, "items")
    assert feedback_row(app, a).status == "received"


def test_frontline_cannot_bulk(app, client):
    a = make_feedback(app, ALICE.email)
    sign_in(client, ALICE)
    response = post(client, "/triage/bulk", items=[a], bulk_action="not-cms", bulk_reason="x", queue="")
    assert response.status_code == 403
    assert feedback_row(app, a).status == "received"


def test_sending_the_bulk_form_again_changes_nothing_more(app, client, session):
    a, b = make_feedback(app, ALICE.email), make_feedback(app, ALICE.email)
    sign_in(client, BOB)
    data = {"items": [a, b], "bulk_action": "not-cms", "bulk_reason": "About the printers", "queue": ""}
    post(client, "/triage/bulk", **data)
    again = post(client, "/triage/bulk", **data)
    assert again.status_code == 200 and "0 feedback items marked" in text_of(again.text)
    assert "2 feedback items already were" in text_of(again.text)
    assert len(_events(session, "feedback.not_cms")) == 2
