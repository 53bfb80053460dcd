"""Every page passes axe-core (WCAG 2.2 A and AA) and the Nu HTML checker, at desktop and phone widths.

The HTML checked by vnu is exactly what the server sent (the navigation response's body), not the DOM
after scripts ran. axe runs on the live page with JavaScript on, once at 1280px and once at 320px,
since GOV.UK components change at narrow widths (the service navigation becomes a menu button), and
at 320px the page must not scroll sideways (WCAG 1.4.10 Reflow). Scenarios whose page changes after
it loads (htmx panels) also have the DOM as scripts left it checked by vnu.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import pytest

from tests.browser.helpers import (
    PHONE,
    assert_no_horizontal_scroll,
    LiveServer,
    PageFactory,
    fill_feedback_form,
    make_png,
    others_similar_items,
    submit_feedback_form,
)
from tests.support.axe import format_violations, run_axe
from tests.support.html_checker import HtmlChecker, format_messages
from tests.meetings import a11y_pages as meeting_pages

pytestmark = pytest.mark.browser


@dataclasses.dataclass(frozen=True)
class KnownFeedback:
    with_public_reply: str  # a ref from the demo data with a reply from business support
    with_screenshot: str  # a ref the frontline demo login sent with a screenshot
    receipt_path: str  # the confirmation page of that submission
    issue_ref: str  # an issue business support made through the API
    follow_link: str  # the private link an anonymous sender was shown once


@pytest.fixture(scope="module")
def known(
    browser: Any,
    live_server: LiveServer,
    signed_in_state,  # noqa: ANN001
    ref_with_public_reply: str,
    issue_ref: str,
    tmp_path_factory,  # noqa: ANN001
) -> KnownFeedback:
    context = browser.new_context(base_url=live_server.url, storage_state=signed_in_state("frontline"))
    try:
        page = context.new_page()
        page.goto("/feedback/new")
        fill_feedback_form(
            page,
            body="The chronology page showed an error when I added an entry. Screenshot attached.",
            title="Chronology error when adding an entry",
            module="Chronology",
            screenshot=make_png(tmp_path_factory.mktemp("png") / "chronology-error.png"),
        )
        response = submit_feedback_form(page)
        assert response.status == 200 and "/feedback/thanks?receipt=" in page.url, page.url
        ref = page.locator(".app-ref").inner_text()
        receipt_path = page.url.removeprefix(live_server.url)
        _, follow_link = _send_anonymously(page)
    finally:
        context.close()
    return KnownFeedback(ref_with_public_reply, ref, receipt_path, issue_ref, follow_link)


def _goto(path: str) -> Callable[[Any, KnownFeedback], Any]:
    return lambda page, known: page.goto(path)


def _sign_in_with_errors(page: Any, known: KnownFeedback) -> Any:
    page.goto("/sign-in")
    with page.expect_navigation() as navigation:
        page.get_by_role("button", name="Sign in").click()
    return navigation.value


def _give_feedback_with_errors(page: Any, known: KnownFeedback) -> Any:
    page.goto("/feedback/new")
    page.get_by_label("Short title (optional)").fill("Nothing else filled in")
    return submit_feedback_form(page)


def _search_facet(page: Any, known: KnownFeedback) -> Any:
    """Search, then narrow the results by the first value of the Team facet, as a person would."""
    page.goto("/search?q=case+note")
    facet = page.locator("details.app-facet", has=page.get_by_text("Team", exact=True))
    facet.locator("summary").click()
    with page.expect_navigation() as navigation:
        facet.get_by_role("link").first.click()
    assert "team=" in page.url, page.url
    return navigation.value


SIMILAR_SENTENCE = "my case note vanished when the system timed out"


def _give_feedback_with_similar_panel(page: Any, known: KnownFeedback) -> Any:
    response = page.goto("/feedback/new")
    page.get_by_label("What happened?").press_sequentially(SIMILAR_SENTENCE, delay=10)
    page.get_by_role("heading", name="Has someone already said this?").wait_for()
    return response


def _open_or_skip_if_missing(path: str) -> Callable[[Any, KnownFeedback], Any]:
    """For pages another change is still adding: a 404 skips the scenario, saying so."""

    def open_(page: Any, known: KnownFeedback) -> Any:
        response = page.goto(path)
        if response is not None and response.status == 404:
            pytest.skip(f"{path} answers 404: the page does not exist in this build yet")
        return response

    return open_


def _first_triage_item(page: Any) -> Any:
    page.goto("/triage")
    with page.expect_navigation() as navigation:
        page.locator("[data-triage-row]").first.click()
    return navigation.value


def _triage_item_with_errors(page: Any) -> Any:
    _first_triage_item(page)
    with page.expect_navigation() as navigation:
        page.get_by_role("button", name="Mark as not about the CMS").click()
    return navigation.value


def _held_triage_item(page: Any) -> Any:
    """Send feedback with an email address in it (so it is held), then open it in the triage queue."""
    page.goto("/feedback/new")
    fill_feedback_form(
        page,
        body="The CMS sent the plan to jane.doe@example.com instead of the team inbox when I saved it.",
        title="Plan emailed to the wrong address",
    )
    submit_feedback_form(page)
    ref = page.locator(".app-ref").inner_text()
    return page.goto(f"/triage/{ref}?flagged=1")


def _clear_flag_without_reason(page: Any) -> Any:
    _held_triage_item(page)
    with page.expect_navigation() as navigation:
        page.get_by_role("button", name="Clear the flag").click()
    return navigation.value


def _bulk_with_errors(page: Any) -> Any:
    page.goto("/triage")
    page.get_by_text("Link to an issue", exact=True).click()
    with page.expect_navigation() as navigation:
        page.get_by_role("button", name="Link to the issue").click()
    return navigation.value


def _submit_admin_form(page: Any, path: str, fill: Callable[[Any], None], button: str) -> Any:
    page.goto(path)
    fill(page)
    with page.expect_navigation() as navigation:
        page.get_by_role("button", name=button).click()
    return navigation.value


def _privacy_with_errors(page: Any) -> Any:
    return _submit_admin_form(
        page, "/admin/privacy", lambda p: p.get_by_label("CMS person and case ID patterns").fill("(unclosed"), "Save"
    )


def _retention_with_errors(page: Any) -> Any:
    return _submit_admin_form(page, "/admin/retention", lambda p: p.get_by_label("Keep feedback for").fill(""), "Save")


def _subject_access_with_errors(page: Any) -> Any:
    return _submit_admin_form(
        page, "/admin/subject-access", lambda p: p.get_by_label("Their email address").fill("nobody@council.example"),
        "Download the export",
    )


def _send_anonymously(page: Any) -> tuple[Any, str]:
    page.goto("/feedback/new")
    fill_feedback_form(
        page,
        body="The reports page timed out twice this morning before I could print the list.",
        title="Reports time out",
        module="Reports",
        anonymity="Anonymous: my name is not stored at all",
    )
    response = submit_feedback_form(page)
    return response, page.locator("#follow-link").inner_text()


@dataclasses.dataclass(frozen=True)
class Scenario:
    id: str
    role: str | None
    open: Callable[[Any, KnownFeedback], Any]  # returns the navigation response of the page to check
    status: int = 200
    heading: str = ""  # text the page's h1 contains, so we know we checked the right page
    shows: str = ""  # and text its main content shows, for pages that differ by what is on them
    needs_search: bool = False  # waits for the search index (the background indexer builds it after start-up)
    check_dom: bool = False  # also checks the DOM after scripts changed it (htmx panels) with vnu


SCENARIOS = [
    Scenario("sign-in", None, _goto("/sign-in"), heading="Sign in"),
    Scenario("sign-in-with-errors", None, _sign_in_with_errors, 400, "Sign in"),
    Scenario("sign-in-after-signing-out", None, _goto("/sign-in?signed_out=1"), heading="Sign in"),
    *[Scenario(f"home-{role}", role, _goto("/"), heading="Hello") for role in
      ("frontline", "business_support", "board", "admin")],
    Scenario("give-feedback", "frontline", _goto("/feedback/new"), heading="Give feedback"),
    Scenario("give-feedback-with-errors", "frontline", _give_feedback_with_errors, 422, "Give feedback"),
    Scenario("confirmation", "frontline", lambda page, known: page.goto(known.receipt_path), heading="Feedback sent"),
    Scenario("my-feedback", "frontline", _goto("/my-feedback"), heading="My feedback", shows="Chronology error"),
    Scenario("own-feedback-detail-frontline", "frontline",
             lambda page, known: page.goto(f"/feedback/{known.with_screenshot}"), heading="Chronology error"),
    Scenario("all-feedback", "business_support", _goto("/feedback"), heading="All feedback"),
    Scenario("all-feedback-filtered", "business_support",
             _goto("/feedback?module=case-notes&impact=blocks-work&from=2026-03-01"), heading="All feedback",
             shows="Case notes"),
    Scenario("all-feedback-page-2", "business_support", _goto("/feedback?page=2"), heading="All feedback",
             shows="page 2 of"),
    Scenario("all-feedback-bad-filter", "business_support", _goto("/feedback?from=31/3/2026"), 400, "All feedback"),
    Scenario("all-feedback-board", "board", _goto("/feedback?page=3"), heading="All feedback", shows="page 3 of"),
    Scenario("feedback-detail-with-reply", "business_support",
             lambda page, known: page.goto(f"/feedback/{known.with_public_reply}"), shows="Notes and replies"),
    Scenario("feedback-detail-with-screenshot", "business_support",
             lambda page, known: page.goto(f"/feedback/{known.with_screenshot}"), heading="Chronology error",
             shows="chronology-error.png"),
    Scenario("403-frontline-opens-all-feedback", "frontline", _goto("/feedback"), 403, "You do not have access"),
    Scenario("404-unknown-page", "frontline", _goto("/no-such-page"), 404, "Page not found"),
    Scenario("404-unknown-page-signed-out", None, _goto("/no-such-page"), 404, "Page not found"),
    Scenario("404-unknown-feedback", "business_support", _goto("/feedback/FB-999999"), 404, "Page not found"),
    # Search
    Scenario("search-empty", "business_support", _goto("/search"), heading="Search", shows="Type something",
             needs_search=True),
    Scenario("search-results", "business_support", _goto("/search?q=case+note"), heading="Search",
             shows="results for “case note”", needs_search=True),
    Scenario("search-facet-filter", "business_support", _search_facet, heading="Search",
             shows="results for “case note”", needs_search=True),
    Scenario("search-unbalanced-quote", "business_support", _goto("/search?q=%22unbalanced"), heading="Search",
             shows="for “\"unbalanced”", needs_search=True),
    Scenario("search-too-long", "business_support", _goto("/search?q=" + "case+note+" * 60), 400, "Search",
             shows="There is a problem", needs_search=True),
    Scenario("search-page-2", "business_support", _goto("/search?q=case+note&page=2"), heading="Search",
             shows="page 2 of", needs_search=True),
    Scenario("search-board", "board", _goto("/search?q=timed+out"), heading="Search", shows="results for",
             needs_search=True),
    # Triage and issues
    Scenario("triage-suggestions", "business_support", _goto("/triage/suggestions"), heading="Suggested groups",
             shows="Create an issue from this group"),
    Scenario("issues-list", "business_support", _goto("/issues"), heading="Issues",
             shows="Case notes are lost when the CMS times out"),
    Scenario("issue-detail", "business_support", lambda page, known: page.goto(f"/issues/{known.issue_ref}"),
             heading="Case notes are lost when the CMS times out"),
    Scenario("issue-detail-board", "board", lambda page, known: page.goto(f"/issues/{known.issue_ref}"),
             heading="Case notes are lost when the CMS times out"),
    # Administration
    Scenario("admin-index", "admin", _goto("/admin"), heading="Admin", shows="Subject access request"),
    Scenario("admin-import", "admin", _goto("/admin/import"), heading="Import feedback"),
    Scenario("admin-synonyms", "admin", _goto("/admin/synonyms"), heading="Abbreviations and synonyms"),
    # Notifications
    Scenario("notifications-frontline", "frontline", _open_or_skip_if_missing("/notifications"),
             heading="Notifications"),
    Scenario("notifications-business-support", "business_support", _open_or_skip_if_missing("/notifications"),
             heading="Notifications"),
    # Give feedback, with the "Has someone already said this?" panel htmx shows while typing
    Scenario("give-feedback-with-similar-panel", "frontline", _give_feedback_with_similar_panel,
             heading="Give feedback", shows="Has someone already said this?", needs_search=True, check_dom=True),
    # Triage queue, supplier export, retention, follow links (issue 4)
    Scenario("triage-queue", "business_support", _goto("/triage"), heading="Triage queue", shows="waiting"),
    Scenario("triage-queue-filtered", "business_support", _goto("/triage?module=case-notes&flagged=1"),
             heading="Triage queue", shows="waiting"),
    Scenario("triage-queue-bad-filter", "business_support", _goto("/triage?module=nonsense"), 400, "Triage queue"),
    Scenario("triage-queue-bulk-errors", "business_support", lambda page, known: _bulk_with_errors(page),
             422, "Triage queue", shows="Select at least one feedback"),
    Scenario("triage-item", "business_support", lambda page, known: _first_triage_item(page),
             heading="", shows="Suggested issues"),
    Scenario("triage-item-with-errors", "business_support", lambda page, known: _triage_item_with_errors(page),
             422, shows="Enter why this is not about the CMS"),
    Scenario("triage-item-held", "business_support", lambda page, known: _held_triage_item(page),
             shows="Personal data: check before anything else"),
    Scenario("triage-item-held-clear-flag-errors", "business_support", lambda page, known: _clear_flag_without_reason(page),
             422, shows="Enter why this is not personal data"),
    Scenario("403-frontline-opens-triage", "frontline", _goto("/triage"), 403, "You do not have access"),
    Scenario("admin-privacy", "admin", _goto("/admin/privacy"), heading="Personal data checks"),
    Scenario("admin-privacy-with-errors", "admin", lambda page, known: _privacy_with_errors(page), 422,
             "Personal data checks", shows="not a valid regular expression"),
    Scenario("admin-retention", "admin", _goto("/admin/retention"), heading="Retention"),
    Scenario("admin-retention-with-errors", "admin", lambda page, known: _retention_with_errors(page), 422,
             "Retention", shows="Enter how many months"),
    Scenario("admin-subject-access", "admin", _goto("/admin/subject-access"), heading="Subject access export"),
    Scenario("admin-subject-access-with-errors", "admin", lambda page, known: _subject_access_with_errors(page), 422,
             "Subject access export", shows="Nobody with the email"),
    Scenario("anonymous-confirmation-with-follow-link", "frontline", lambda page, known: _send_anonymously(page)[0],
             heading="Feedback sent", shows="Your private link to follow it"),
    Scenario("follow-link", None, lambda page, known: page.goto(known.follow_link), heading="What happened to your feedback"),
    Scenario("follow-link-wrong-token", None, _goto("/follow/not-a-real-token"), 404, "Page not found"),
    # Meetings, agendas, actions, decisions (issue 5)
    Scenario("meetings-list", "board", _goto("/meetings"), heading="Meetings", shows="Upcoming"),
    Scenario("meetings-list-business-support", "business_support", _goto("/meetings"), heading="Meetings"),
    Scenario("403-frontline-opens-meetings", "frontline", _goto("/meetings"), 403, "You do not have access"),
    Scenario("meeting-agenda-editor", "board", meeting_pages.open_meeting("upcoming"),
             heading="CMS implementation board", shows="Move down"),
    Scenario("meeting-agenda-add-item-with-errors", "board", meeting_pages.add_item_with_errors, 422,
             "CMS implementation board", shows="There is no issue ISS-9999"),
    Scenario("meeting-minutes-published", "board", meeting_pages.open_meeting("past"),
             heading="CMS implementation board", shows="Minutes"),
    Scenario("meeting-live", "board", meeting_pages.open_meeting("upcoming", "/live"), heading="Apologies",
             shows="allotted"),
    Scenario("meeting-live-outcome-with-errors", "board", meeting_pages.outcome_with_errors, 422, "Apologies",
             shows="Give the reason"),
    Scenario("meeting-pack", "board", meeting_pages.open_meeting("upcoming", "/pack"),
             heading="CMS implementation board", shows="Action log"),
    Scenario("meeting-series", "board", meeting_pages.open_series, heading="CMS implementation board",
             shows="Standing items"),
    Scenario("actions", "board", _goto("/actions?show=all"), heading="Actions", shows="Overdue"),
    Scenario("decisions", "board", _goto("/decisions"), heading="Decision log", shows="Change request to supplier"),
    Scenario("decisions-search", "business_support", _goto("/decisions?q=guide"), heading="Decision log",
             shows="matching"),
    # Insight and "you said, we did" (issue 6)
    Scenario("insight", "board", _goto("/insight"), heading="Insight", shows="Feedback per week since go-live"),
    Scenario("insight-filtered", "business_support",
             _goto("/insight?from=2026-04-01&to=2026-09-30&module=case-notes&kind=bug"), heading="Insight",
             shows="for Case notes"),
    Scenario("insight-empty-result", "board", _goto("/insight?from=2026-03-02&to=2026-03-08&module=search&kind=access"),
             heading="Insight", shows="There is nothing to draw"),
    Scenario("insight-bad-filter", "admin", _goto("/insight?from=2026-09-01&to=2026-03-01&module=nope"), 400,
             "Insight", shows="The end date must be the same as or after the start date"),
    Scenario("you-said-we-did-frontline", "frontline", _goto("/you-said-we-did"), heading="You said, we did",
             shows="You told us"),
    Scenario("you-said-we-did-board", "board", _goto("/you-said-we-did?weeks=52"), heading="You said, we did",
             shows="You told us"),
]


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[scenario.id for scenario in SCENARIOS])
def test_page_is_accessible_and_valid(
    scenario: Scenario,
    open_page: PageFactory,
    known: KnownFeedback,
    html_checker_service: HtmlChecker,
    request: pytest.FixtureRequest,
) -> None:
    if scenario.needs_search:
        request.getfixturevalue("search_ready")
    page = open_page(scenario.role, viewport="desktop")
    response = scenario.open(page, known)
    assert response is not None
    assert response.status == scenario.status, f"{page.url} answered {response.status}"
    assert scenario.heading in page.locator("h1").inner_text()
    assert scenario.shows in page.locator("main").inner_text()

    errors = html_checker_service.check(response.text())
    assert not errors, f"Nu HTML checker errors on {page.url}:\n{format_messages(errors)}"
    if scenario.check_dom:  # before axe injects its own script into the page
        errors = html_checker_service.check(page.content())
        assert not errors, f"Nu HTML checker errors in the DOM of {page.url}:\n{format_messages(errors)}"

    violations = run_axe(page)
    assert not violations, f"at 1280px on {page.url}: {format_violations(violations)}"
    page.set_viewport_size(PHONE)
    violations = run_axe(page)
    assert not violations, f"at 320px on {page.url}: {format_violations(violations)}"
    assert_no_horizontal_scroll(page)


def test_filtering_with_htmx_keeps_the_page_accessible(
    open_page: PageFactory, html_checker_service: HtmlChecker
) -> None:
    """With JavaScript on, filters update the results in place; the updated page must still pass."""
    page = open_page("business_support", viewport="desktop")
    page.goto("/feedback")
    before = page.locator("#result-count").inner_text()
    with page.expect_response(lambda response: "module=assessments" in response.url):
        page.get_by_label("Part of the CMS").select_option(label="Assessments")
    page.wait_for_function(
        "(before) => { const count = document.querySelector('#result-count'); return count && count.innerText !== before; }",
        arg=before,
    )
    assert "module=assessments" in page.url  # pushed, so the filtered list can be bookmarked and shared
    assert page.locator("#results").count() == 1 and page.locator("#result-count").count() == 1
    # The DOM as htmx left it (checked before axe injects its own script into the page).
    errors = html_checker_service.check(page.content())
    assert not errors, format_messages(errors)
    violations = run_axe(page)
    assert not violations, format_violations(violations)



def _assert_dom_valid_and_accessible(page: Any, checker: HtmlChecker) -> None:
    """The DOM as htmx left it passes vnu (checked before axe injects its script) and axe at both widths."""
    errors = checker.check(page.content())
    assert not errors, f"in the DOM of {page.url}: {format_messages(errors)}"
    violations = run_axe(page)
    assert not violations, f"at 1280px on {page.url}: {format_violations(violations)}"
    page.set_viewport_size(PHONE)
    violations = run_axe(page)
    assert not violations, f"at 320px on {page.url}: {format_violations(violations)}"
    assert_no_horizontal_scroll(page)


def test_searching_as_you_type_keeps_the_page_accessible(
    open_page: PageFactory, html_checker_service: HtmlChecker, search_ready: None
) -> None:
    page = open_page("business_support", viewport="desktop")
    page.goto("/search")
    page.get_by_label("Search for").press_sequentially("case note", delay=20)
    page.wait_for_function(
        "() => (document.querySelector('#search-count') || {}).innerText?.includes('results for “case note”')"
    )
    assert page.locator("#search-results").count() == 1  # the results are swapped in, not nested
    _assert_dom_valid_and_accessible(page, html_checker_service)


def test_me_too_answers_keep_the_give_feedback_page_accessible(
    open_page: PageFactory, live_server: LiveServer, html_checker_service: HtmlChecker, search_ready: None
) -> None:
    """Both answers htmx swaps into the "Has someone already said this?" panel: a problem, and a thank-you."""
    page = open_page("board", viewport="desktop")
    page.goto("/feedback/new")
    page.get_by_label("What happened?").press_sequentially(SIMILAR_SENTENCE, delay=10)
    page.locator("#similar .app-similar__item").first.wait_for()
    others = others_similar_items(page, live_server, "board@demo.example")
    assert len(others) >= 2, others
    unanswered, answered = page.locator(f"#{others[0]}"), page.locator(f"#{others[1]}")
    unanswered.get_by_role("button").click()  # no impact chosen yet
    unanswered.get_by_text("Choose how much it affects your work").wait_for()
    page.get_by_role("radio", name="I can work around it", exact=True).check()
    answered.get_by_role("button").click()
    answered.get_by_text("Thanks — your voice has been added").wait_for()
    _assert_dom_valid_and_accessible(page, html_checker_service)


@pytest.mark.parametrize("viewport", ["desktop", "phone"])
def test_keyboard_focus_is_visible_in_the_header(open_page: PageFactory, viewport: str) -> None:
    """Every control in the header and navigation shows the GOV.UK focus state (black on yellow) when tabbed to.

    axe cannot see focus styles, and the header is our own markup on a black background.
    """
    page = open_page("business_support", viewport=viewport)
    page.goto("/")
    focused = []
    for _ in range(40):
        page.keyboard.press("Tab")
        state = page.evaluate(
            """() => {
                const el = document.activeElement;
                const style = getComputedStyle(el);
                return {text: el.innerText.trim(), tag: el.tagName, main: !!el.closest('main'),
                        color: style.color, background: style.backgroundColor};
            }"""
        )
        if state["main"]:
            break
        focused.append(state)
    names = [state["text"] for state in focused]
    expected = ["Skip to main content", "Children's Services", "Notifications", "Sign out", "CMS Feedback"]
    if viewport == "phone":
        expected.append("Menu")  # GOV.UK service navigation collapses the links behind a button
    else:
        expected += [text.strip() for text in page.locator(".govuk-service-navigation__list a").all_inner_texts()]
        assert {"Give feedback", "My feedback", "All feedback"} <= set(expected)
    assert names == expected
    for state in focused:
        assert (state["color"], state["background"]) == ("rgb(11, 12, 12)", "rgb(255, 221, 0)"), state
