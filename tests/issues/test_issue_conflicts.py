"""No lost updates: a second officer saving a stale version gets a conflict page (409) with both versions
side by side, who changed it and when, and a way to re-apply only their own changes; the API answers 409 with
the issue as it is now. Nothing is ever overwritten silently."""

from __future__ import annotations

import pytest
import re

import sqlalchemy as sa

from feedback_portal.audit.models import AuditEvent
from tests.conftest import ALICE, BOB, CAROL, DAN, ERIN, api_token, sign_in
from tests.factories import make_feedback
from tests.issues.triage_helpers import create_issue, issue_row, post, text_of

pytestmark = pytest.mark.postgres


def full_form(**changes):  # noqa: ANN003, ANN201
    """The whole edit form as the issue page sends it, for a new issue nobody has triaged yet."""
    values = {
        "version": "1",
        "status": "new",
        "status_reason": "",
        "severity": "",
        "owner": "",
        "title": "Original",
        "summary": "",
        "module": "case-notes",
        "supplier_ref": "",
        "target_release": "",
        "public_response": "",
    }
    return {**values, **changes}


def test_the_whole_form_saves_only_what_changed(app, as_bob, session):
    issue = create_issue(as_bob, "Original", make_feedback(app, ALICE.email))
    response = post(
        as_bob, f"/issues/{issue}/edit", **full_form(status="investigating", severity="2", owner=DAN.email)
    )
    assert response.status_code == 303, response.text
    saved = issue_row(session, issue)
    assert (saved.status, saved.severity, saved.owner.email, saved.title, saved.version) == (
        "investigating",
        2,
        DAN.email,
        "Original",
        2,
    )
    event = session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "issue.updated"))
    assert set(event.after) == {"version", "status", "severity", "owner"}


def test_a_stale_save_gets_a_conflict_page_with_both_versions_and_nothing_is_overwritten(
    app, client, session
):
    issue_ref = None
    sign_in(client, DAN)
    issue_ref = create_issue(client, "Original", make_feedback(app, ALICE.email))
    # Dan saves first: a new status, a severity and a title.
    dan = post(
        client,
        f"/issues/{issue_ref}/edit",
        **full_form(status="investigating", severity="1", title="Dan's title"),
    )
    assert dan.status_code == 303
    client.cookies.clear()
    sign_in(client, BOB)
    # Bob had the page open at version 1: he changes the title too, and the target release.
    response = post(
        client, f"/issues/{issue_ref}/edit", **full_form(title="Bob's title", target_release="2.4")
    )
    assert response.status_code == 409
    page = response.text
    assert "Someone else changed this issue while you were editing it" in page
    assert '<a href="#conflict">' in page and 'id="conflict"' in page
    assert "Your changes have not been saved, and nothing anyone else saved has been overwritten." in text_of(
        page
    )

    # Who changed it and when, from the audit trail.
    changed = re.search(r"What changed since you opened it</h2>(.*?)</ul>", page, re.S).group(1)
    lines = [text_of(item) for item in re.findall(r"<li>(.*?)</li>", changed, re.S)]
    assert any(line.endswith("— Dan Admin changed status from New to Investigating") for line in lines)
    assert any("Dan Admin set severity to 1 – Blocks work" in line for line in lines)
    assert any("Dan Admin changed title from “Original” to “Dan's title”" in line for line in lines)
    assert re.match(r"^\d{1,2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2} — ", lines[0])

    # Both versions side by side: what Bob tried to save and what is there now.
    table = text_of(re.search(r"<table.*?</table>", page, re.S).group(0))
    assert "What you tried to save" in table and "What is there now (version 2)" in table
    assert "Title Changed by both Bob's title Dan's title" in table
    assert "Target release 2.4 You did not change this" not in table
    assert "Target release 2.4 Not set Not changed since you opened it" in table
    assert "Status New You did not change this Investigating" in table
    assert "Severity Not set You did not change this 1 – Blocks work" in table

    # The re-apply form carries only Bob's changes, against the latest version.
    form = re.search(
        r'<form method="post" action="/issues/' + issue_ref + r'/edit".*?</form>', page, re.S
    ).group(0)
    hidden = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)">', form))
    hidden.pop("_csrf_token", None)
    assert hidden == {"version": "2", "title": "Bob&#39;s title", "target_release": "2.4"}
    assert "Where you both changed a field, yours will replace theirs: Title." in text_of(page)
    assert f'href="/issues/{issue_ref}">Discard my changes' in page

    # Nothing of Bob's was saved.
    saved = issue_row(session, issue_ref)
    assert (saved.title, saved.status, saved.severity, saved.target_release, saved.version) == (
        "Dan's title",
        "investigating",
        1,
        None,
        2,
    )

    # Re-applying puts Bob's two fields on top of Dan's version, keeping Dan's status and severity.
    again = post(client, f"/issues/{issue_ref}/edit", version="2", title="Bob's title", target_release="2.4")
    assert again.status_code == 303, again.text
    saved = issue_row(session, issue_ref)
    assert (saved.title, saved.status, saved.severity, saved.target_release, saved.version) == (
        "Bob's title",
        "investigating",
        1,
        "2.4",
        3,
    )


def test_re_applying_is_checked_against_the_latest_status(app, client, session):
    sign_in(client, BOB)
    issue_ref = create_issue(client, "Original", make_feedback(app, ALICE.email))
    post(client, f"/issues/{issue_ref}/edit", version="1", status="fixed")
    post(client, f"/issues/{issue_ref}/edit", version="2", status="closed")
    # Someone with the page open at version 1 moves it to fix scheduled: stale, so a conflict page first.
    stale = post(client, f"/issues/{issue_ref}/edit", **full_form(status="fix-scheduled"))
    assert stale.status_code == 409
    assert "Status New Closed" not in text_of(stale.text)
    assert "Status Changed by both Fix scheduled Closed" in text_of(stale.text)
    # Re-applying it onto "closed" is a move the workflow refuses: said beside the field, nothing saved.
    refused = post(client, f"/issues/{issue_ref}/edit", version="3", status="fix-scheduled")
    assert refused.status_code == 422
    assert "This issue is Closed, so it cannot go straight to Fix scheduled" in refused.text
    assert '<a href="#status">' in refused.text
    assert issue_row(session, issue_ref).status == "closed"


def test_the_conflict_page_when_only_the_other_person_changed_something(app, client):
    sign_in(client, BOB)
    issue_ref = create_issue(client, "Original", make_feedback(app, ALICE.email))
    post(client, f"/issues/{issue_ref}/edit", version="1", owner=CAROL.email)
    response = post(client, f"/issues/{issue_ref}/edit", **full_form())  # they changed nothing
    assert response.status_code == 409
    page = text_of(response.text)
    assert "Owner Not set You did not change this Carol Board" in page
    assert "Apply my changes to the latest version" not in page and "See the latest version" in page


def bearer(app, persona) -> dict[str, str]:  # noqa: ANN001
    return {"Authorization": f"Bearer {api_token(app, persona)}"}


def test_the_api_answers_409_with_the_current_version_and_values(app, client):
    ref = make_feedback(app, ALICE.email)
    issue = client.post(
        "/api/v1/issues", json={"title": "API", "feedback": [ref]}, headers=bearer(app, BOB)
    ).json()
    first = client.patch(
        f"/api/v1/issues/{issue['ref']}",
        json={"version": 1, "status": "investigating", "severity": 2, "owner": DAN.email},
        headers=bearer(app, DAN),
    )
    assert first.status_code == 200, first.text
    assert first.json()["owner"] == DAN.email and first.json()["severity"] == 2
    stale = client.patch(
        f"/api/v1/issues/{issue['ref']}",
        json={"version": 1, "status": "wont-fix", "status_reason": "No"},
        headers=bearer(app, BOB),
    )
    assert stale.status_code == 409
    body = stale.json()
    assert body["status_code"] == 409 and "Someone else changed" in body["detail"]
    assert body["version"] == 2
    current = body["current"]
    assert (current["version"], current["status"], current["severity"], current["owner"]) == (
        2,
        "investigating",
        2,
        DAN.email,
    )
    assert current["status_reason"] is None
    assert any(
        line["text"] == "Dan Admin changed status from New to Investigating" for line in body["changed_by"]
    )
    after = client.get(f"/api/v1/issues/{issue['ref']}", headers=bearer(app, BOB)).json()
    assert (after["status"], after["version"]) == ("investigating", 2)


def test_the_api_takes_every_triage_field(app, client):
    ref = make_feedback(app, ERIN.email)
    issue = client.post(
        "/api/v1/issues", json={"title": "API", "feedback": [ref]}, headers=bearer(app, BOB)
    ).json()
    response = client.patch(
        f"/api/v1/issues/{issue['ref']}",
        json={
            "version": 1,
            "status": "training-arranged",
            "status_reason": "Sessions every Tuesday in March.",
            "severity": 3,
            "owner": CAROL.email,
            "supplier_ref": "SUP-1",
            "target_release": "n/a",
        },
        headers=bearer(app, BOB),
    )
    assert response.status_code == 200, response.text
    document = response.json()
    assert document["status"] == "training-arranged" and document["status_label"] == "Training arranged"
    assert document["status_reason"] == "Sessions every Tuesday in March."
    assert (document["severity"], document["owner"], document["supplier_ref"]) == (3, CAROL.email, "SUP-1")


def test_bad_api_input_is_422_per_field_and_nothing_is_half_applied(app, client):
    ref = make_feedback(app, ERIN.email)
    issue = client.post(
        "/api/v1/issues", json={"title": "API", "feedback": [ref]}, headers=bearer(app, BOB)
    ).json()
    response = client.patch(
        f"/api/v1/issues/{issue['ref']}",
        json={"version": 1, "title": "Changed", "status": "wont-fix", "severity": 7, "owner": ALICE.email},
        headers=bearer(app, BOB),
    )
    assert response.status_code == 422
    errors = response.json()["errors"]
    assert set(errors) == {"severity", "owner", "status_reason"}  # every problem at once
    response = client.patch(
        f"/api/v1/issues/{issue['ref']}",
        json={"version": 1, "title": "Changed", "status": "wont-fix"},
        headers=bearer(app, BOB),
    )
    assert response.status_code == 422 and set(response.json()["errors"]) == {"status_reason"}
    after = client.get(f"/api/v1/issues/{issue['ref']}", headers=bearer(app, BOB)).json()
    assert (after["title"], after["status"], after["version"]) == ("API", "new", 1)


def test_frontline_and_the_board_cannot_change_issues(app, client):
    ref = make_feedback(app, ALICE.email)
    issue = client.post(
        "/api/v1/issues", json={"title": "API", "feedback": [ref]}, headers=bearer(app, BOB)
    ).json()
    for persona in (ALICE, CAROL):
        response = client.patch(
            f"/api/v1/issues/{issue['ref']}",
            json={"version": 1, "status": "investigating"},
            headers=bearer(app, persona),
        )
        assert response.status_code == 403, persona
    sign_in(client, ALICE)
    assert (
        post(client, f"/issues/{issue['ref']}/edit", version="1", status="investigating").status_code == 403
    )
