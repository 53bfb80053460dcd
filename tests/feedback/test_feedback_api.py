"""The JSON API: bearer tokens, 201 with a ref, field-level 4xx, lists and single items."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from feedback_portal.feedback.models import Feedback
from tests.conftest import ALICE, BOB, ERIN, api_token, sign_in
from tests.factories import make_feedback

pytestmark = pytest.mark.postgres


def bearer(app, persona) -> dict[str, str]:  # noqa: ANN001
    return {"Authorization": f"Bearer {api_token(app, persona)}"}


def test_posting_feedback_returns_201_with_its_ref(app, client, session):
    response = client.post(
        "/api/v1/feedback",
        json={"body": "CN not saving on the iPad", "module": "Case notes", "kind": "BUG", "impact": "workaround"},
        headers=bearer(app, ALICE),
    )
    assert response.status_code == 201, response.text
    document = response.json()
    assert document["ref"] == "FB-000001"
    assert document["module"] == "case-notes" and document["kind"] == "bug"
    assert response.headers["location"] == "/api/v1/feedback/FB-000001"
    assert session.scalar(sa.select(sa.func.count(Feedback.id))) == 1


def test_the_idempotency_key_header_makes_retries_safe(app, client, session):
    headers = {**bearer(app, ALICE), "Idempotency-Key": "retry-me"}
    body = {"body": "Retry", "module": "other", "kind": "bug", "impact": "minor"}
    first = client.post("/api/v1/feedback", json=body, headers=headers)
    second = client.post("/api/v1/feedback", json=body, headers=headers)
    assert first.json()["ref"] == second.json()["ref"]
    assert session.scalar(sa.select(sa.func.count(Feedback.id))) == 1


def test_bad_fields_get_422_with_a_message_per_field(app, client, session):
    response = client.post(
        "/api/v1/feedback", json={"body": "", "module": "nowhere", "kind": "bug"}, headers=bearer(app, ALICE)
    )
    assert response.status_code == 422
    errors = response.json()["errors"]
    assert errors["body"] == "Enter what happened"
    assert "module" in errors and "impact" in errors
    assert session.scalar(sa.select(sa.func.count(Feedback.id))) == 0


def test_malformed_json_gets_400(app, client):
    response = client.post(
        "/api/v1/feedback", content=b"{not json", headers={**bearer(app, ALICE), "Content-Type": "application/json"}
    )
    assert response.status_code == 400


def test_a_json_list_instead_of_an_object_gets_400(app, client):
    response = client.post("/api/v1/feedback", json=["body"], headers=bearer(app, ALICE))
    assert response.status_code == 400


def test_a_non_string_body_gets_422(app, client):
    response = client.post(
        "/api/v1/feedback", json={"body": 12, "module": "other", "kind": "bug", "impact": "minor"},
        headers=bearer(app, ALICE),
    )
    assert response.status_code == 422


def test_without_a_token_the_api_answers_401(client):
    assert client.get("/api/v1/feedback").status_code == 401
    assert client.post("/api/v1/feedback", json={}).status_code == 401
    assert client.get("/api/v1/feedback", headers={"Authorization": "Bearer wrong"}).status_code == 401


def test_a_browser_session_cookie_does_not_authenticate_the_api(client):
    sign_in(client, BOB)
    assert client.get("/api/v1/feedback").status_code == 401


def test_listing_is_for_business_support_and_filters_work(app, client):
    make_feedback(app, ALICE.email, module="chronology")
    make_feedback(app, ERIN.email, module="search")
    assert client.get("/api/v1/feedback", headers=bearer(app, ALICE)).status_code == 403
    listing = client.get("/api/v1/feedback?module=chronology", headers=bearer(app, BOB)).json()
    assert listing["total"] == 1 and listing["items"][0]["module"] == "chronology"
    assert client.get("/api/v1/feedback?module=nope", headers=bearer(app, BOB)).status_code == 422


def test_one_feedback_in_full_respects_who_may_see_it(app, client):
    ref = make_feedback(app, ALICE.email, anonymity="business-support-only")
    as_bob = client.get(f"/api/v1/feedback/{ref}", headers=bearer(app, BOB)).json()
    assert as_bob["submitted_by"] == ALICE.name
    assert client.get(f"/api/v1/feedback/{ref}", headers=bearer(app, ERIN)).status_code == 403
    assert client.get("/api/v1/feedback/FB-424242", headers=bearer(app, BOB)).status_code == 404


def test_openapi_schema_and_health_check_are_served(client):
    schema = client.get("/schema/openapi.json")
    assert schema.status_code == 200
    assert "/api/v1/feedback" in schema.json()["paths"]
    assert client.get("/healthz").json() == {"status": "ok"}
