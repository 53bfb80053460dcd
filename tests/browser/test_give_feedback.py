"""A frontline worker gives feedback through the real form, on a phone and a desktop, with and without JavaScript."""

from __future__ import annotations

import re
import uuid
from pathlib import Path

import httpx
import pytest

from tests.browser.helpers import (
    REF,
    LiveServer,
    PageFactory,
    assert_no_horizontal_scroll,
    fill_feedback_form,
    make_png,
    submit_feedback_form,
)

pytestmark = pytest.mark.browser

SEEDED_ITEMS = 300  # the demo data's refs are FB-000001 to FB-000300

FLOWS = [
    pytest.param("phone", True, "Use my name", id="js-on-320px"),
    pytest.param("phone", False, "Use my name", id="js-off-320px"),
    pytest.param("desktop", True, "Use my name", id="js-on-desktop"),
    pytest.param("desktop", False, "Only business support can see my name", id="js-off-desktop"),
]
BOTH_JS = [pytest.param(True, id="js-on"), pytest.param(False, id="js-off")]


def _unique_title(label: str) -> str:
    return f"Save button greyed out ({label} {uuid.uuid4().hex[:6]})"


def _confirmed_ref(page) -> str:  # noqa: ANN001
    """The reference on the confirmation page, checked to be a new one like FB-000301."""
    assert "/feedback/thanks?receipt=" in page.url
    assert page.get_by_role("heading", level=1).inner_text().strip() == "Feedback sent"
    ref = page.locator(".govuk-panel__body strong").inner_text().strip()
    assert REF.fullmatch(ref), f"not a reference like FB-000301: {ref!r}"
    assert int(ref.removeprefix("FB-")) > SEEDED_ITEMS
    return ref


@pytest.mark.parametrize(("viewport", "javascript", "anonymity"), FLOWS)
def test_frontline_gives_feedback_and_sees_it_in_my_feedback(
    open_page: PageFactory, viewport: str, javascript: bool, anonymity: str
) -> None:
    page = open_page("frontline", viewport=viewport, javascript=javascript)
    page.goto("/")
    page.get_by_role("button", name="Give feedback").click()  # the start button (a link styled as a button)
    page.wait_for_url("**/feedback/new")
    if viewport == "phone":
        assert_no_horizontal_scroll(page)
    # The team comes from the person's profile.
    assert page.get_by_label("Your team").input_value() == "cp-west"

    title = _unique_title(f"{viewport}, JavaScript {'on' if javascript else 'off'}")
    fill_feedback_form(
        page,
        body="I pressed Save on the assessment and the button stayed grey, so I had to retype it.",
        title=title,
        module="Assessments",
        kind="Something is broken",
        impact="I can work around it",
        anonymity=anonymity,
    )
    response = submit_feedback_form(page)
    assert response.status == 200
    ref = _confirmed_ref(page)
    # The reference is on one line (an inline element that wraps has a box per line), inside the panel's padding.
    assert page.locator(".govuk-panel__body strong").evaluate(
        """(ref) => {
            const body = ref.closest('.govuk-panel__body').getBoundingClientRect();
            const box = ref.getBoundingClientRect();
            return ref.getClientRects().length === 1 && box.left >= body.left && box.right <= body.right;
        }"""
    )
    if viewport == "phone":
        assert_no_horizontal_scroll(page)

    page.get_by_role("link", name="My feedback").last.click()
    page.wait_for_url("**/my-feedback")
    card = page.locator(".app-card", has=page.get_by_role("link", name=title))
    assert card.count() == 1, f"{title!r} is not in My feedback"
    assert ref in card.inner_text()
    assert "Received" in card.inner_text()
    if viewport == "phone":
        assert_no_horizontal_scroll(page)

    card.get_by_role("link", name=title).click()
    page.wait_for_url(f"**/feedback/{ref}")
    assert page.get_by_role("heading", level=1).inner_text().strip() == title


def test_anonymous_feedback_gets_a_reference_but_is_not_in_my_feedback(open_page: PageFactory) -> None:
    page = open_page("frontline", viewport="phone", javascript=True)
    page.goto("/feedback/new")
    title = _unique_title("anonymous")
    fill_feedback_form(page, body="Nobody told us the training dates.", title=title, kind="I need training or guidance",
                       anonymity="Anonymous: my name is not stored at all")
    submit_feedback_form(page)
    _confirmed_ref(page)
    assert "will not appear in My feedback" in page.locator("main").inner_text()
    page.goto("/my-feedback")
    assert page.get_by_role("link", name=title).count() == 0


@pytest.mark.parametrize("javascript", BOTH_JS)
def test_an_empty_what_happened_is_shown_beside_the_field_and_in_the_error_summary(
    open_page: PageFactory, javascript: bool
) -> None:
    page = open_page("frontline", viewport="phone", javascript=javascript)
    page.goto("/feedback/new")
    fill_feedback_form(page, body="", title="Forgot to say what happened", module="Search")
    response = submit_feedback_form(page)
    assert response.status == 422
    assert page.title().startswith("Error:")

    field_error = page.locator("#body-error")
    assert field_error.is_visible()
    assert field_error.inner_text().replace("Error:", "").strip() == "Enter what happened"
    # Beside the field: in the field's form group, and read out with it.
    textarea = page.get_by_label("What happened?")
    assert "body-error" in (textarea.get_attribute("aria-describedby") or "").split()
    assert page.locator(".govuk-form-group--error", has=textarea).locator("#body-error").count() == 1

    summary = page.locator(".govuk-error-summary")
    assert summary.is_visible()
    assert summary.get_by_role("heading").inner_text().strip() == "There is a problem"
    summary_link = summary.get_by_role("link", name="Enter what happened")
    assert summary_link.get_attribute("href") == "#body"
    # What was typed is kept.
    assert page.get_by_label("Short title (optional)").input_value() == "Forgot to say what happened"
    assert page.get_by_label("Which part of the CMS?").input_value() == "search"
    assert_no_horizontal_scroll(page)

    if javascript:
        # GOV.UK Frontend moves focus to the summary, and its links move focus to the field.
        assert page.evaluate("() => document.activeElement.classList.contains('govuk-error-summary')")
        summary_link.click()
        assert page.evaluate("() => document.activeElement.id") == "body"
    else:
        summary_link.click()
        assert page.url.endswith("#body")

    # Correcting it sends the feedback (the form kept its idempotency key and CSRF token).
    textarea.fill("Search found nothing for a case I know exists.")
    assert submit_feedback_form(page).status == 200
    _confirmed_ref(page)


def test_a_screenshot_sent_with_feedback_is_shown_to_business_support(
    open_page: PageFactory, live_server: LiveServer, tmp_path: Path
) -> None:
    page = open_page("frontline", viewport="phone", javascript=True)
    page.goto("/feedback/new")
    title = _unique_title("with a screenshot")
    fill_feedback_form(
        page,
        body="The documents tab shows this error when I upload a court bundle.",
        title=title,
        module="Documents",
        screenshot=make_png(tmp_path / "documents-error.png", size=(200, 120)),
    )
    submit_feedback_form(page)
    ref = _confirmed_ref(page)

    support = open_page("business_support", viewport="phone", javascript=True)
    support.goto("/feedback")
    assert_no_horizontal_scroll(support)
    support.get_by_role("link", name=title).click()
    support.wait_for_url(f"**/feedback/{ref}")
    assert_no_horizontal_scroll(support)
    image = support.get_by_role("img", name=f"Screenshot 1 sent with {ref}")
    image.scroll_into_view_if_needed()
    support.wait_for_function(
        "(img) => img.complete && img.naturalWidth > 0", arg=image.element_handle()
    )
    assert support.evaluate("(img) => [img.naturalWidth, img.naturalHeight]", image.element_handle()) == [200, 120]
    link = support.get_by_role("link", name=re.compile("documents-error.png"))
    response = support.request.get(link.get_attribute("href"))
    assert response.status == 200
    assert response.headers["content-type"] == "image/png"
    assert response.body().startswith(b"\x89PNG")

    # Not for anyone else: the board sees that a screenshot exists, not the screenshot.
    board = open_page("board", viewport="desktop")
    board.goto(f"/feedback/{ref}")
    assert board.get_by_role("img").count() == 0
    assert "Only business support can see screenshots" in board.locator("main").inner_text()
    assert board.request.get(link.get_attribute("href")).status == 403
    # And nobody signed out.
    assert httpx.get(live_server.url + link.get_attribute("href"), follow_redirects=False, trust_env=False).status_code in (
        303, 401
    )


@pytest.mark.parametrize("javascript", BOTH_JS)
def test_business_support_pages_do_not_scroll_sideways_at_320px(
    open_page: PageFactory, ref_with_public_reply: str, javascript: bool
) -> None:
    page = open_page("business_support", viewport="phone", javascript=javascript)
    for path in ("/feedback", "/feedback?module=case-notes&impact=blocks-work", "/feedback?page=2"):
        page.goto(path)
        assert page.locator("#results tbody tr").count() > 0
        assert_no_horizontal_scroll(page)
    page.goto(f"/feedback/{ref_with_public_reply}")
    assert page.get_by_role("heading", name="Replies").is_visible()
    assert_no_horizontal_scroll(page)
