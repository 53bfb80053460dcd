"""A meeting run end to end in a real browser (issue 5): create it, build the agenda from the evidence, reorder
it with the keyboard (the Move buttons), add an issue by its ref, record an outcome and an action in live mode,
publish the minutes, and the member of staff who raised the issue reads what was decided in Notifications."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from tests.browser.conftest import LOGINS
from tests.browser.helpers import LiveServer, PageFactory

pytestmark = pytest.mark.browser

TITLE = "Chronology cannot be filtered by type of entry"


@pytest.fixture(scope="module")
def frontline_issue(live_server: LiveServer, api_token: Callable[[str], str]) -> str:
    """An issue made from untriaged feedback that the frontline demo login sent (so they are a contributor)."""
    from feedback_portal.accounts.models import User
    from feedback_portal.feedback.models import Feedback

    with live_server.db_session() as session:
        ref = session.scalar(
            sa.select(Feedback.ref)
            .join(User, Feedback.submitter_id == User.id)
            .where(
                User.email == LOGINS["frontline"].email,
                Feedback.issue_id.is_(None),
                Feedback.anonymity != "anonymous",
            )
            .order_by(Feedback.id)
            .limit(1)
        )
    assert ref, "the frontline demo login should have sent some feedback"
    response = httpx.post(
        live_server.url + "/api/v1/issues",
        json={"title": TITLE, "feedback": [ref]},
        headers={"Authorization": f"Bearer {api_token(LOGINS['business_support'].email)}"},
        trust_env=False,
        timeout=10,
    )
    assert response.status_code == 201, response.text
    return response.json()["ref"]


def _agenda_headings(page: Any) -> list[str]:
    return [text.strip() for text in page.locator("#agenda .app-agenda__title").all_inner_texts()]


def test_a_meeting_from_agenda_to_minutes_and_back_to_the_contributor(
    open_page: PageFactory, frontline_issue: str
) -> None:
    page = open_page("board")
    page.goto("/meetings")
    # Far enough ahead not to be the demo's next meeting (other tests open that one).
    day = dt.date.today() + dt.timedelta(days=60)
    page.get_by_label("Title", exact=True).fill("Extra board meeting")
    page.get_by_label("Date", exact=True).fill(day.isoformat())
    page.get_by_label("Start time (London)").fill("14:00")
    page.get_by_label("Length in minutes", exact=True).fill("45")
    page.get_by_role("button", name="Create meeting").click()
    page.get_by_role("heading", level=1, name="Extra board meeting").wait_for()

    page.get_by_role("button", name="Build the agenda from the evidence").click()
    page.get_by_text("Rebuild the agenda from the evidence").wait_for()
    before = _agenda_headings(page)
    assert before[0].endswith("Apologies") and len(before) > 4

    # Reorder with the keyboard: focus "Move down" on the first item and press Enter (a real form; htmx
    # replaces the agenda and puts the focus back on the moved item's button).
    page.locator("#agenda li[data-item-id]").first.get_by_role("button", name="Move down").focus()
    page.keyboard.press("Enter")
    page.wait_for_function(
        "() => document.querySelector('#agenda .app-agenda__title').innerText.includes('Minutes of')"
    )
    after = _agenda_headings(page)
    assert after[1].endswith("Apologies") and after[0].endswith("Minutes of the last meeting")
    assert page.evaluate("() => document.activeElement.textContent").startswith("Move")

    # The chair adds the frontline member's issue by its ref, if the builder did not already propose it.
    if not any(frontline_issue in heading for heading in after):
        page.get_by_label("Issue reference (for an issue)").fill(frontline_issue)
        page.get_by_label("Minutes", exact=True).fill("3")
        page.get_by_role("button", name="Add to the agenda").click()
        # The built agenda fills the meeting: the message says so beside the field; make room and add it.
        page.locator("#minutes-error").wait_for()
        assert "longer than the meeting" in page.locator("#minutes-error").inner_text()
        page.locator("#agenda li[data-item-id]", has_text="ISS-").last.get_by_role(
            "button", name="Remove"
        ).click()
        page.wait_for_function(
            "(n) => document.querySelectorAll('#agenda li[data-item-id]').length < n", arg=len(after)
        )
        page.get_by_label("Issue reference (for an issue)").fill(frontline_issue)
        page.get_by_label("Minutes", exact=True).fill("3")
        page.get_by_role("button", name="Add to the agenda").click()
        page.locator("#agenda .app-agenda__title", has_text=frontline_issue).wait_for()

    # Live mode: go from item to item to the issue, record its outcome and an action.
    page.get_by_role("link", name="Start the meeting in live mode").click()
    for _ in range(30):
        if frontline_issue in page.locator("h1").inner_text():
            break
        page.get_by_role("button", name="Next item").click()
        page.wait_for_load_state()
    assert frontline_issue in page.locator("h1").inner_text()
    # "Next item" started this item's clock: the server shows when, and the script counts the minutes used.
    page.get_by_text("minutes used").wait_for()
    page.get_by_role("radio", name="Change request to supplier").check()
    page.get_by_label("Decision notes").fill("Ask the supplier to add a filter by entry type.")
    page.get_by_role("button", name="Record the outcome").click()
    page.get_by_text("Outcome recorded").wait_for()
    page.get_by_label("What needs to be done").fill("Send the change request for the chronology filter")
    page.get_by_label("Owner").select_option(label=f"{LOGINS['board'].name} (Implementation board)")
    page.get_by_label("Due date").fill((dt.date.today() + dt.timedelta(days=14)).isoformat())
    page.get_by_role("button", name="Add the action").click()
    page.get_by_text("Action added").wait_for()

    page.get_by_role("link", name="Extra board meeting").click()
    page.get_by_role("button", name="Publish the minutes").click()
    page.get_by_text("Minutes published. The people who raised each issue have been told").wait_for()
    assert "Send the change request for the chronology filter" in page.locator("#minutes").inner_text()

    staff = open_page("frontline")
    staff.goto("/notifications")
    text = staff.locator("main").inner_text()
    assert f"You said: {TITLE}" in text
    assert "The implementation board decided: Change request to supplier" in text


def test_dragging_an_item_saves_the_new_order(open_page: PageFactory, frontline_issue: str) -> None:
    """Drag and drop (HTML5, progressive enhancement) posts the whole order with the agenda's version."""
    page = open_page("board")
    page.goto("/meetings")
    page.get_by_label("Title", exact=True).fill("Drag and drop meeting")
    page.get_by_label("Date", exact=True).fill((dt.date.today() + dt.timedelta(days=90)).isoformat())
    page.get_by_label("Length in minutes", exact=True).fill("30")
    page.get_by_role("button", name="Create meeting").click()
    page.get_by_role("button", name="Build the agenda from the evidence").click()
    page.get_by_text("Rebuild the agenda from the evidence").wait_for()
    before = _agenda_headings(page)
    items = page.locator("#agenda li[data-item-id]")
    page.evaluate("() => document.querySelector('#agenda ol').scrollIntoView()")  # all three items in view
    # Grab the item by its heading (not its form fields), drop it on the lower half of the third item.
    height = items.nth(2).bounding_box()["height"]
    items.nth(0).drag_to(
        items.nth(2), source_position={"x": 8, "y": 8}, target_position={"x": 8, "y": height - 8}
    )
    page.wait_for_function(
        "(first) => !document.querySelector('#agenda .app-agenda__title').innerText.includes(first)",
        arg=before[0].split(". ", 1)[-1],
    )
    page.wait_for_load_state("networkidle")
    page.reload()
    after = _agenda_headings(page)
    assert after[0].endswith(before[1].split(". ", 1)[-1])
    assert sorted(h.split(". ", 1)[-1] for h in after) == sorted(h.split(". ", 1)[-1] for h in before)
