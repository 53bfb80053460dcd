"""The issues API: bearer tokens, 201 with a ref and version, lists and evidence, PATCH with a version (409 when
stale, 422 per field)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from feedback_portal.feedback.models import Feedback
from feedback_portal.issues.models import Issue
from tests.conftest import ALICE, BOB, CAROL, ERIN, api_token, sign_in
from tests.factories import make_feedback

pytestmark = pytest.mark.postgres


def bearer(app, persona) -> dict[str, str]:  # noqa: ANN001
    return {"Authorization": f"Bearer {api_token(app, persona)}"}


def create(app, client, title="From the API", refs=None):  # noqa: ANN001, ANN201
    refs = refs if refs is not None else [make_feedback(app, ALICE.email)]
    return client.post("/api/v1/issues", json={"title": title, "feedback": refs}, headers=bearer(app, BOB))


def test_creating_an_issue_returns_201_with_its_ref_and_version(app, client, session):
    refs = [
        make_feedback(app, ALICE.email, module="reports"),
        make_feedback(app, ERIN.email, module="reports"),
    ]
    response = create(app, client, refs=refs)
    assert response.status_code == 201, response.text
    document = response.json()
    assert document["ref"] == "ISS-0001" and document["version"] == 1
    assert (
        document["title"] == "From the API"
        and document["status"] == "new"
        and document["module"] == "reports"
    )
    assert sorted(document["feedback"]) == sorted(refs)
    assert document["counts"] == {"feedback": 2, "contributors": 2, "anonymous_feedback": 0, "me_toos": 0}
    assert document["moved_from"] == {}
    assert response.headers["location"] == "/api/v1/issues/ISS-0001"
    assert set(session.scalars(sa.select(Feedback.issue_id))) == {1}


def test_bad_fields_get_422_with_a_message_per_field_and_nothing_is_saved(app, client, session):
    response = client.post(
        "/api/v1/issues", json={"title": "", "feedback": ["FB-999999"]}, headers=bearer(app, BOB)
    )
    assert response.status_code == 422
    assert response.json()["errors"] == {
        "title": "Enter a title for the issue",
        "feedback": "There is no feedback FB-999999",
    }
    missing = client.post("/api/v1/issues", json={"title": "No feedback"}, headers=bearer(app, BOB))
    assert missing.status_code == 422 and "feedback" in missing.json()["errors"]
    assert session.scalar(sa.select(sa.func.count(Issue.id))) == 0


def test_malformed_json_gets_400(app, client):
    response = client.post(
        "/api/v1/issues", content=b"{nope", headers={**bearer(app, BOB), "Content-Type": "application/json"}
    )
    assert response.status_code == 400


def test_issues_are_listed_and_read_with_their_evidence(app, client):
    ref = make_feedback(app, ALICE.email, anonymity="anonymous")
    created = create(app, client, refs=[ref]).json()
    listing = client.get("/api/v1/issues", headers=bearer(app, CAROL)).json()
    assert listing["total"] == 1
    assert listing["items"][0]["ref"] == created["ref"] and listing["items"][0]["feedback"] == [ref]
    assert listing["items"][0]["counts"] == {"feedback": 1, "contributors": 1, "me_toos": 0}
    document = client.get(f"/api/v1/issues/{created['ref']}", headers=bearer(app, CAROL)).json()
    assert document["counts"]["anonymous_feedback"] == 1
    assert len(document["weekly_trend"]) == 12 and document["impacts"] == {"minor": 1}
    assert ALICE.name not in str(document) and ALICE.email not in str(document)
    assert client.get("/api/v1/issues/ISS-0404", headers=bearer(app, CAROL)).status_code == 404
    assert client.get("/api/v1/issues?status=asleep", headers=bearer(app, CAROL)).status_code == 422


def test_patch_changes_fields_when_the_version_is_current(app, client):
    ref = create(app, client).json()["ref"]
    response = client.patch(
        f"/api/v1/issues/{ref}",
        json={"version": 1, "title": "Renamed", "target_release": "3.1"},
        headers=bearer(app, BOB),
    )
    assert response.status_code == 200, response.text
    assert response.json()["title"] == "Renamed" and response.json()["version"] == 2
    assert response.json()["target_release"] == "3.1"


def test_patch_with_a_stale_version_answers_409_and_saves_nothing(app, client):
    ref = create(app, client).json()["ref"]
    client.patch(f"/api/v1/issues/{ref}", json={"version": 1, "title": "First"}, headers=bearer(app, BOB))
    stale = client.patch(
        f"/api/v1/issues/{ref}", json={"version": 1, "title": "Second"}, headers=bearer(app, BOB)
    )
    assert stale.status_code == 409
    assert "Someone else changed" in stale.json()["detail"]
    assert client.get(f"/api/v1/issues/{ref}", headers=bearer(app, BOB)).json()["title"] == "First"


def test_patch_needs_a_version_and_known_fields(app, client):
    ref = create(app, client).json()["ref"]
    for body, field in (
        ({"title": "No version"}, "version"),
        ({"version": "one", "title": "x"}, "version"),
        ({"version": 1, "status": "closed"}, "status"),  # new → closed is not a move the workflow allows
        ({"version": 1, "status": "asleep"}, "status"),
        ({"version": 1, "title": ""}, "title"),
        ({"version": 1, "module": "nowhere"}, "module"),
        ({"version": 1, "summary": 12.5, "title": {"nested": True}}, "title"),
    ):
        response = client.patch(f"/api/v1/issues/{ref}", json=body, headers=bearer(app, BOB))
        assert response.status_code == 422, body
        assert field in response.json()["errors"], body
    assert client.get(f"/api/v1/issues/{ref}", headers=bearer(app, BOB)).json()["version"] == 1


def test_only_business_support_change_issues_and_frontline_cannot_read_them(app, client):
    ref = create(app, client).json()["ref"]
    assert (
        client.post(
            "/api/v1/issues", json={"title": "x", "feedback": []}, headers=bearer(app, CAROL)
        ).status_code
        == 403
    )
    assert (
        client.patch(f"/api/v1/issues/{ref}", json={"version": 1}, headers=bearer(app, CAROL)).status_code
        == 403
    )
    assert client.get("/api/v1/issues", headers=bearer(app, ALICE)).status_code == 403
    assert client.get(f"/api/v1/issues/{ref}", headers=bearer(app, ERIN)).status_code == 403


def test_without_a_token_the_issues_api_answers_401(client):
    assert client.get("/api/v1/issues").status_code == 401
    assert client.post("/api/v1/issues", json={}).status_code == 401
    sign_in(client, BOB)
    assert client.get("/api/v1/issues").status_code == 401  # a browser's cookie is not enough


def test_the_openapi_schema_lists_the_issues_api(client):
    paths = client.get("/schema/openapi.json").json()["paths"]
    assert {"get", "post"} <= set(paths["/api/v1/issues"]) and {"get", "patch"} <= set(
        paths["/api/v1/issues/{ref}"]
    )
