"""The private follow link of anonymous feedback: shown once, never in a URL we redirect to, hash only stored."""

from __future__ import annotations

import hashlib
import re

import sqlalchemy as sa

from feedback_portal.audit.models import AuditEvent
from tests.conftest import ALICE, BOB, api_token, give_feedback, sign_in
from tests.issues.triage_helpers import create_issue, post, text_of
from tests.triage.conftest import feedback_row



def _send_anonymously(client, **changes):
    response = give_feedback(client, anonymity="anonymous", **changes)
    assert response.status_code == 303
    assert "follow" not in response.headers["location"]  # the token is never in the redirect's URL
    return response


def test_the_link_is_shown_once_and_only_its_hash_is_stored(app, client, session):
    sign_in(client, ALICE)
    response = _send_anonymously(client)
    thanks = client.get(response.headers["location"])
    match = re.search(r'id="follow-link"[^>]*>(https?://[^<]+/follow/([\w-]+))<', thanks.text)
    assert match, thanks.text
    token = match.group(2)
    assert thanks.headers["cache-control"] == "no-store"
    ref = re.search(r'class="app-ref">(FB-\d+)<', thanks.text).group(1)
    row = feedback_row(app, ref)
    assert row.follow_token_hash == hashlib.sha256(token.encode()).hexdigest() and row.submitter_id is None
    assert token not in str([(e.before, e.after) for e in session.scalars(sa.select(AuditEvent))])
    again = client.get(response.headers["location"])
    assert "/follow/" not in again.text and "shown once" in again.text


def test_the_cookie_only_opens_its_own_receipt(app, client):
    sign_in(client, ALICE)
    first = _send_anonymously(client)
    second = give_feedback(client, anonymity="named")
    assert "/follow/" not in client.get(second.headers["location"]).text
    assert "/follow/" in client.get(first.headers["location"]).text


def test_named_feedback_has_no_link(app, client):
    sign_in(client, ALICE)
    response = give_feedback(client)
    assert "fp_follow" not in response.headers.get("set-cookie", "")
    assert "/follow/" not in client.get(response.headers["location"]).text


def test_the_follow_page_shows_progress_and_no_identity(app, client):
    sign_in(client, ALICE)
    thanks = client.get(_send_anonymously(client, title="Anonymous one").headers["location"])
    url = re.search(r'id="follow-link"[^>]*>https?://[^/]+(/follow/[\w-]+)<', thanks.text).group(1)
    ref = re.search(r'class="app-ref">(FB-\d+)<', thanks.text).group(1)
    sign_in(client, BOB)
    issue = create_issue(client, "Tracked problem", ref)
    post(
        client, f"/issues/{issue}/edit", version="1", status="wont-fix", status_reason="The supplier says no"
    )
    post(client, f"/issues/{issue}/replies", reply="We asked the supplier")
    post(client, f"/issues/{issue}/notes", note="Internal only: do not show")
    client.post("/sign-out", data={"_csrf_token": client.cookies.get("fp_csrf", "")})
    client.cookies.clear()
    page = client.get(url)
    assert page.status_code == 200
    assert page.headers["referrer-policy"] == "no-referrer"
    text = text_of(page.text)
    assert "Anonymous one" in text and "Won't fix" in text and "The supplier says no" in text
    assert "We asked the supplier" in text and "Internal only" not in text
    assert "Alice" not in text and "Bob" not in text


def test_a_wrong_token_is_404(app, client):
    for token in ("nope", "a" * 43, "../etc", "x" * 200):
        assert client.get(f"/follow/{token}").status_code == 404


def test_the_api_returns_follow_url_once(app, client):
    token = api_token(app, ALICE)
    headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": "anon-1"}
    body = {
        "body": "The CMS logs me out",
        "module": "case-notes",
        "kind": "bug",
        "impact": "minor",
        "anonymity": "anonymous",
    }
    first = client.post("/api/v1/feedback", json=body, headers=headers)
    assert first.status_code == 201 and "/follow/" in first.json()["follow_url"]
    assert client.get(first.json()["follow_url"].split("portal.test")[1]).status_code == 200
    retry = client.post("/api/v1/feedback", json=body, headers=headers)
    assert retry.status_code == 201 and "follow_url" not in retry.json()
    named = client.post(
        "/api/v1/feedback", json={**body, "anonymity": "named"}, headers={"Authorization": f"Bearer {token}"}
    )
    assert "follow_url" not in named.json()
