"""The Notifications page (newest first, unread marked, read once seen), "mark all as read", the header
count, and valid HTML."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator

import pytest

from feedback_portal import db
from feedback_portal.notifications.models import Notification
from tests.conftest import ALICE, BOB, CAROL, ERIN, csrf_token, sign_in, user_id
from tests.factories import make_feedback
from tests.notifications.conftest import make_issue, me_too, notifications_of, notify
from tests.support.html_checker import HtmlChecker, ensure_vnu_jar, format_messages


@pytest.fixture(scope="module")
def checker() -> Iterator[HtmlChecker]:
    try:
        jar = ensure_vnu_jar()
    except RuntimeError as problem:
        pytest.skip(f"the Nu HTML checker could not be fetched: {problem}")
    if jar is None:
        pytest.skip("the Nu HTML checker needs java (and npm the first time)")
    with HtmlChecker(jar) as html_checker:
        yield html_checker


def add_notifications(app, persona, count: int) -> None:  # noqa: ANN001
    """`count` notifications, one minute apart, the last one newest."""
    owner = user_id(app, persona)
    start = db.utcnow() - dt.timedelta(hours=1)
    with db.write_session(app.state.session_factory) as session:
        session.add_all(
            Notification(user_id=owner, created_at=start + dt.timedelta(minutes=n), subject=f"Update {n}",
                         body=f"You said: Issue {n}\n\nWe did: Fixed.", link=None)
            for n in range(1, count + 1)
        )


def header_link(html: str) -> str:
    match = re.search(r'<a href="/notifications" class="app-link-button"[^>]*>(.*?)</a>', html, re.S)
    assert match, "no Notifications link in the header"
    return re.sub(r"<[^>]+>", "", match.group(1))


def unread(app, persona) -> int:  # noqa: ANN001
    return sum(1 for n in notifications_of(app, persona) if n.read_at is None)


def an_issue_alice_and_carol_spoke_about(app) -> tuple[str, str]:  # noqa: ANN001
    ref = make_feedback(app, ALICE.email)
    issue_ref = make_issue(app, "Case notes are lost when the CMS times out", [ref], BOB)
    me_too(app, CAROL, issue_ref=issue_ref)
    notify(app, issue_ref, {"status": "investigating"})
    notify(app, issue_ref, {"status": "fixed", "reason": "The supplier fixed it.", "reply": "Thanks!"})
    return issue_ref, ref


def test_signed_out_people_are_sent_to_sign_in(client):
    response = client.get("/notifications", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/sign-in?next=%2Fnotifications")
    assert "Notifications" not in client.get("/sign-in").text


def test_the_header_counts_unread_and_the_page_shows_them_newest_first_then_marks_them_read(app, client):
    _, ref = an_issue_alice_and_carol_spoke_about(app)
    sign_in(client, ALICE)
    home = client.get("/").text
    assert header_link(home) == "Notifications (2 unread)"
    assert '(2<span class="govuk-visually-hidden"> unread</span>)' in home

    page = client.get("/notifications")
    assert page.status_code == 200
    html = page.text
    assert html.index("Fixed: Case notes are lost") < html.index("Investigating: Case notes are lost")
    assert len(re.findall(r'govuk-tag--blue">\s*Unread\s*</strong>', html)) == 2
    assert f'<a class="govuk-link" href="/feedback/{ref}">Fixed: Case notes are lost' in html
    assert "Why: The supplier fixed it." in html and "Thanks!" in html
    assert 'aria-current="page">Notifications</a>' in html  # already read by the time the header is drawn
    assert unread(app, ALICE) == 0

    assert header_link(client.get("/").text) == "Notifications"
    again = client.get("/notifications").text
    assert "Unread" not in again  # seen now
    assert client.get(f"/feedback/{ref}").status_code == 200  # the link opens


def test_people_see_only_their_own_notifications(app, client):
    an_issue_alice_and_carol_spoke_about(app)
    sign_in(client, ERIN)
    html = client.get("/notifications").text
    assert "Case notes are lost" not in html and "You have no notifications yet" in html
    assert unread(app, ALICE) == 2 and unread(app, CAROL) == 2  # Erin's visit marked nobody else's as read


def test_the_board_is_linked_to_the_issue(app, client):
    issue_ref, _ = an_issue_alice_and_carol_spoke_about(app)
    sign_in(client, CAROL)
    html = client.get("/notifications").text
    assert f'<a class="govuk-link" href="/issues/{issue_ref}">' in html
    assert client.get(f"/issues/{issue_ref}").status_code == 200


def test_mark_all_as_read_covers_notifications_on_other_pages(app, client):
    add_notifications(app, ALICE, 25)
    sign_in(client, ALICE)
    assert header_link(client.get("/").text) == "Notifications (25 unread)"
    html = client.get("/notifications").text
    assert "Update 25" in html and "Update 6" in html and "Update 5" not in html  # page 1: the 20 newest
    assert "5 unread notifications are on other pages." in html and "Mark all as read" in html
    assert unread(app, ALICE) == 5
    assert 'aria-label="Page 2"' in html

    token = {"_csrf_token": csrf_token(client)}
    response = client.post("/notifications/read-all", data=token, follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/notifications?done=read"
    assert unread(app, ALICE) == 0
    done = client.get("/notifications?done=read").text
    assert "All your notifications are marked as read" in done and "Mark all as read" not in done
    assert header_link(done) == "Notifications"
    assert "Update 5" in client.get("/notifications?page=2").text


def test_mark_all_as_read_needs_the_form_token_and_a_signed_in_person(app, client):
    add_notifications(app, ALICE, 1)
    assert client.post("/notifications/read-all", data={"_csrf_token": csrf_token(client)}).status_code == 401
    sign_in(client, ALICE)
    assert client.post("/notifications/read-all", data={}).status_code == 403
    assert unread(app, ALICE) == 1


def test_a_bad_page_number_shows_the_first_page(app, client):
    add_notifications(app, ALICE, 3)
    sign_in(client, ALICE)
    for page in ("x", "0", "99"):
        response = client.get(f"/notifications?page={page}")
        assert response.status_code == 200 and "Update 3" in response.text


def test_notification_pages_are_valid_html(app, client, checker):
    an_issue_alice_and_carol_spoke_about(app)
    add_notifications(app, ALICE, 25)
    sign_in(client, ALICE)
    pages = {
        "home with an unread count": client.get("/"),
        "notifications, unread and more on page 2": client.get("/notifications"),
        "notifications, page 2": client.get("/notifications?page=2"),
        "after mark all as read": client.post(
            "/notifications/read-all", data={"_csrf_token": csrf_token(client)}, follow_redirects=True
        ),
    }
    sign_in(client, ERIN)
    pages["no notifications"] = client.get("/notifications")
    for name, response in pages.items():
        assert response.status_code == 200, name
        assert 'hx-' not in response.text.replace("data-hx-", ""), name
        errors = checker.check(response.text)
        assert not errors, f"{name}:\n{format_messages(errors)}"
