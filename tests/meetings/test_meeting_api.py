"""The meetings API: create, build, read the agenda in order, actions and decisions; 422 per field, 404, 409."""

from __future__ import annotations

import pytest
from litestar.testing import TestClient

from tests.conftest import ALICE, CAROL, api_token
from tests.meetings.conftest import make_issue


# Runs on SQLite and again on PostgreSQL.
pytestmark = pytest.mark.postgres


@pytest.fixture
def api(app, client: TestClient) -> TestClient:
    client.headers["Authorization"] = f"Bearer {api_token(app, CAROL)}"
    return client


def test_create_build_and_read_the_agenda(app, api: TestClient) -> None:
    ref = make_issue(app, "Case notes lost", count=3, severity=1)
    created = api.post(
        "/api/v1/meetings",
        json={"title": "Board", "scheduled_for": "2030-01-10T10:00", "duration_minutes": 60},
    )
    assert created.status_code == 201, created.text
    meeting = created.json()
    assert (
        meeting["id"]
        and meeting["scheduled_for"] == "2030-01-10T10:00:00+00:00"
        and meeting["state"] == "planning"
    )
    built = api.post(f"/api/v1/meetings/{meeting['id']}/agenda/build", json={"version": meeting["version"]})
    assert built.status_code == 200, built.text
    agenda = api.get(f"/api/v1/meetings/{meeting['id']}/agenda").json()
    kinds = [item["kind"] for item in agenda["items"]]
    assert kinds[:3] == ["apologies", "last-minutes", "action-log"] and kinds[-1] == "aob"
    issue_items = [item for item in agenda["items"] if item["kind"] == "issue"]
    assert issue_items[0]["issue_ref"] == ref and issue_items[0]["outcome"] is None
    assert [item["position"] for item in agenda["items"]] == list(range(1, len(kinds) + 1))
    assert sum(item["minutes"] for item in agenda["items"]) <= 60
    assert api.get(f"/api/v1/meetings/{meeting['id']}").json()["items"] == len(kinds)
    # A stale version is a conflict.
    stale = api.post(f"/api/v1/meetings/{meeting['id']}/agenda/build", json={"version": meeting["version"]})
    assert stale.status_code == 409
    assert api.get("/api/v1/actions").json() == {"actions": []}
    assert api.get("/api/v1/decisions").json() == {"decisions": []}


def test_bad_input_is_422_per_field(api: TestClient) -> None:
    response = api.post(
        "/api/v1/meetings", json={"title": "", "scheduled_for": "tomorrow", "duration_minutes": 1}
    )
    assert response.status_code == 422
    assert set(response.json()["errors"]) == {"title", "scheduled_for", "duration_minutes"}


def test_building_with_no_evidence_is_422(api: TestClient) -> None:
    meeting = api.post(
        "/api/v1/meetings",
        json={"title": "Board", "scheduled_for": "2030-01-10T10:00:00+00:00", "duration_minutes": 30},
    ).json()
    response = api.post(f"/api/v1/meetings/{meeting['id']}/agenda/build")
    assert response.status_code == 422 and "no evidence" in response.json()["errors"]["build"]


def test_unknown_meeting_is_404(api: TestClient) -> None:
    assert api.get("/api/v1/meetings/999").status_code == 404
    assert api.get("/api/v1/meetings/999/agenda").status_code == 404
    assert api.post("/api/v1/meetings/999/agenda/build").status_code == 404


def test_frontline_tokens_are_refused(app, client: TestClient) -> None:
    client.headers["Authorization"] = f"Bearer {api_token(app, ALICE)}"
    assert client.get("/api/v1/actions").status_code == 403


def test_actions_and_decisions_after_a_meeting(app, api: TestClient) -> None:
    import datetime as dt

    from feedback_portal.meetings.services import MeetingService
    from tests.meetings.conftest import load_user, make_meeting, meeting_version

    ref = make_issue(app, "Letters lost", count=2)
    meeting_id = make_meeting(app)
    carol = load_user(app, CAROL)
    with app.state.session_factory() as session:
        service = MeetingService(session)
        service.build_agenda(meeting_id, meeting_version(app, meeting_id), carol)
        item = next(i for i in service.get(meeting_id).items if i.kind == "issue")
        service.record_outcome(meeting_id, item.id, outcome="escalated", notes="To the director", actor=carol)
        service.add_action(
            meeting_id,
            item.id,
            description="Brief the director",
            owner=carol.email,
            due_on=(dt.date.today() + dt.timedelta(days=3)).isoformat(),
            actor=carol,
        )
    actions = api.get("/api/v1/actions", params={"show": "due", "mine": "true"}).json()["actions"]
    assert [(a["description"], a["owner"], a["issue_ref"]) for a in actions] == [
        ("Brief the director", CAROL.email, ref)
    ]
    assert api.get("/api/v1/actions", params={"show": "sometimes"}).status_code == 422
    decisions = api.get("/api/v1/decisions", params={"q": "director"}).json()["decisions"]
    assert [(d["issue_ref"], d["outcome"], d["minutes_published"]) for d in decisions] == [
        (ref, "escalated", False)
    ]
    assert api.get("/api/v1/decisions", params={"q": "nothing like it"}).json() == {"decisions": []}
