"""'Has someone already said this?': while a frontline worker types, htmx offers similar feedback to say "me too" to."""

from __future__ import annotations

import re

import pytest

from tests.browser.helpers import (
    REF,
    LiveServer,
    PageFactory,
    fill_feedback_form,
    others_similar_items,
    submit_feedback_form,
)

pytestmark = pytest.mark.browser

SENTENCE = "my case note vanished when the system timed out"
PANEL_HEADING = "Has someone already said this?"
FRONTLINE_EMAIL = "frontline@demo.example"


def _confirmed_ref(page) -> str:  # noqa: ANN001
    assert "/feedback/thanks?receipt=" in page.url, page.url
    assert page.get_by_role("heading", level=1).inner_text().strip() == "Feedback sent"
    ref = page.locator(".govuk-panel__body strong").inner_text().strip()
    assert REF.fullmatch(ref), ref
    return ref


def test_similar_feedback_appears_while_typing_and_me_too_thanks_in_place(
    open_page: PageFactory, live_server: LiveServer, search_ready: None
) -> None:
    page = open_page("frontline", viewport="desktop", javascript=True)
    page.goto("/feedback/new")
    page.evaluate("() => { window.__samePage = true; }")  # gone if anything below loads a new page

    page.get_by_label("What happened?").press_sequentially(SENTENCE, delay=10)
    panel = page.locator("#similar")
    panel.get_by_role("heading", name=PANEL_HEADING).wait_for(timeout=5_000)  # "within a few seconds"
    items = panel.locator(".app-similar__item")
    assert 1 <= items.count() <= 5, f"{items.count()} similar items"
    for index in range(items.count()):
        assert items.nth(index).get_by_role("button", name=re.compile(r"^Me too")).count() == 1

    others = others_similar_items(page, live_server, FRONTLINE_EMAIL)
    assert len(others) >= 2, f"too few similar items sent by someone else: {others}"
    first_id, second_id = others[:2]

    # Without an impact the server says what is missing, in place, with a way on without the panel.
    page.locator(f"#{second_id}").get_by_role("button", name=re.compile(r"^Me too")).click()
    unanswered = page.locator(f"#{second_id}")
    unanswered.get_by_text("Choose how much it affects your work").wait_for()
    assert "next=%2Ffeedback%2Fnew" in unanswered.get_by_role("link").get_attribute("href")

    # With one, the item becomes a thank-you, and keyboard focus moves to it (its button is gone).
    page.get_by_role("radio", name="It stops me working", exact=True).check()
    page.locator(f"#{first_id}").get_by_role("button", name=re.compile(r"^Me too")).click()
    answered = page.locator(f"#{first_id}")
    answered.get_by_text("Thanks — your voice has been added").wait_for()
    assert answered.get_by_role("button").count() == 0
    assert page.evaluate("(id) => document.activeElement.closest('#' + id) !== null", first_id)
    assert page.evaluate("() => window.__samePage === true"), "the page was reloaded"
    assert page.get_by_label("What happened?").input_value() == SENTENCE  # nothing typed was lost

    # They can still send their own.
    fill_feedback_form(page, body=SENTENCE + ", and I had to write it again from memory", module="Case notes")
    response = submit_feedback_form(page)
    assert response.status == 200
    _confirmed_ref(page)


def test_without_javascript_no_panel_appears_and_the_form_still_sends(open_page: PageFactory) -> None:
    # Not SENTENCE: feedback sent here would be offered to the test above as "similar", and it is this person's own.
    sentence = "the chronology filter forgets what I chose when I go back a page"
    page = open_page("frontline", viewport="phone", javascript=False)
    page.goto("/feedback/new")
    page.get_by_label("What happened?").press_sequentially(sentence, delay=5)
    page.wait_for_timeout(1_500)  # well past the 600ms the panel waits for when scripts run
    assert page.get_by_role("heading", name=PANEL_HEADING).count() == 0
    assert page.locator("#similar").inner_html().strip() == ""
    fill_feedback_form(page, body=sentence, module="Chronology", impact="I can work around it")
    response = submit_feedback_form(page)
    assert response.status == 200
    _confirmed_ref(page)
