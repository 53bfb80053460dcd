"""Suggested groups of untriaged feedback and likely issues, accepted in one action."""

from __future__ import annotations

import json

import sqlalchemy as sa
from click.testing import CliRunner

from feedback_portal import cli
from feedback_portal.feedback.models import Feedback
from tests.conftest import ALICE, BOB, ERIN, api_token, cli_env, csrf_token, sign_in
from tests.factories import make_feedback


TIMEOUT_REPORTS = [
    "My case note vanished when the CMS timed out after a long home visit",
    "Lost a whole case recording, the system logged me out before I pressed save",
    "CN disappeared after the session timed out, had to type it all again",
]
UPLOAD_REPORTS = [
    "Cannot upload the court bundle, anything over 5MB fails to attach",
    "Documents bigger than 5 MB will not upload to the documents tab",
]


def seed(app):  # noqa: ANN001, ANN201
    timeouts = [make_feedback(app, ALICE.email, body=body) for body in TIMEOUT_REPORTS]
    uploads = [make_feedback(app, ERIN.email, body=body, module="documents") for body in UPLOAD_REPORTS]
    return timeouts, uploads


def test_similar_untriaged_feedback_is_suggested_as_a_group(app, client):
    timeouts, uploads = seed(app)
    sign_in(client, BOB)
    page = client.get("/triage/suggestions")
    assert page.status_code == 200
    for ref in timeouts + uploads:
        assert ref in page.text
    assert page.text.count("Create an issue from this group") >= 2


def test_accepting_a_group_creates_the_issue_in_one_action(app, client, session):
    timeouts, _ = seed(app)
    sign_in(client, BOB)
    response = client.post(
        "/issues",
        data={"title": "Case notes lost on timeout", "feedback": timeouts, "_csrf_token": csrf_token(client)},
        follow_redirects=False,
    )
    assert response.status_code == 303
    session.rollback()  # see the new commit
    linked = session.scalars(sa.select(Feedback).where(Feedback.ref.in_(timeouts))).all()
    assert {item.issue.ref for item in linked} == {response.headers["location"].rsplit("/", 1)[-1].split("?")[0]}


def test_new_feedback_is_matched_to_the_issue_it_belongs_to_with_a_confidence(app, client):
    timeouts, _ = seed(app)
    sign_in(client, BOB)
    client.post("/issues", data={"title": "Case notes lost on timeout", "feedback": timeouts,
                                 "_csrf_token": csrf_token(client)})
    newcomer = make_feedback(app, ERIN.email, body="Timed out mid case note and the recording was gone")
    page = client.get("/triage/suggestions")
    assert newcomer in page.text
    assert "Case notes lost on timeout" in page.text
    assert "%" in page.text


def test_frontline_cannot_see_suggestions(client):
    sign_in(client, ALICE)
    assert client.get("/triage/suggestions").status_code == 403


def test_cluster_command_prints_the_same_groups_as_json(app, settings):
    timeouts, uploads = seed(app)
    result = CliRunner().invoke(
        cli.main, ["cluster", "--json"], env=cli_env(settings),
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    groups = json.loads(result.output)
    assert sorted(map(sorted, groups)) == sorted([sorted(timeouts), sorted(uploads)])


def test_similar_api_includes_likely_issues(app, client):
    timeouts, _ = seed(app)
    sign_in(client, BOB)
    client.post("/issues", data={"title": "Case notes lost on timeout", "feedback": timeouts[:2],
                                 "_csrf_token": csrf_token(client)})
    app.state.indexer.rebuild()
    response = client.get(
        f"/api/v1/feedback/{timeouts[2]}/similar", headers={"Authorization": f"Bearer {api_token(app, BOB)}"}
    )
    assert response.status_code == 200
    body = response.json()
    assert body["suggested_issues"] and body["suggested_issues"][0]["confidence"] > 0
