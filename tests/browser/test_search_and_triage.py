"""Business support searches (results as they type, with htmx; a plain GET form without it) and accepts a suggested group."""

from __future__ import annotations

import re
import urllib.parse
from typing import Any

import pytest

from tests.browser.helpers import PageFactory, assert_no_horizontal_scroll

pytestmark = pytest.mark.browser

ISSUE_PAGE = re.compile(r".*/issues/ISS-\d+(\?.*)?$")


def _result_count(page: Any) -> str:
    return page.locator("#search-count").inner_text()


def _query(page: Any) -> dict[str, str]:
    """The parameters in the page's address (htmx writes spaces as %20, a browser's form as +)."""
    return dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(page.url).query))


def test_typing_a_search_updates_the_results_in_place_and_the_address(
    open_page: PageFactory, search_ready: None
) -> None:
    page = open_page("business_support", viewport="desktop", javascript=True)
    page.goto("/search")
    page.evaluate("() => { window.__samePage = true; }")  # gone if anything below loads a new page
    requests: list[Any] = []
    page.on("request", lambda request: requests.append(request) if "/search?" in request.url else None)

    typed = "case note"
    page.get_by_label("Search for").press_sequentially(typed, delay=40)
    page.wait_for_function(
        "() => (document.querySelector('#search-count') || {}).innerText?.includes('results for “case note”')"
    )
    assert page.evaluate("() => window.__samePage === true"), "typing loaded a new page"
    assert _query(page).get("q") == typed, page.url  # pushed, so it can be bookmarked and shared
    # Debounced: one request once typing pauses, not one a keystroke; each an htmx request for the results only.
    assert 1 <= len(requests) < len(typed), [request.url for request in requests]
    assert all(request.headers.get("hx-request") == "true" for request in requests)
    last = requests[-1].response()
    assert last is not None and last.status == 200 and "<html" not in last.text()
    assert page.locator("#search-results .app-result").count() > 0
    assert page.locator("#search-results").count() == 1  # swapped inside, not nested

    # Changing a select searches again, in place too.
    before = _result_count(page)
    with page.expect_response(lambda response: "doc_kind=issue" in response.url):
        page.get_by_label("Show").select_option(label="Only issues")
    page.wait_for_function(
        "(before) => document.querySelector('#search-count').innerText !== before", arg=before
    )
    assert _query(page).get("doc_kind") == "issue", page.url
    results = page.locator("#search-results .app-result")
    assert results.count() == results.filter(has=page.locator(".govuk-tag", has_text="Issue")).count()
    assert page.evaluate("() => window.__samePage === true")

    # The pushed address opens the same search as a whole page.
    address = page.url
    page.reload()
    assert page.url == address
    assert page.get_by_label("Search for").input_value() == typed
    assert "results for “case note”" in _result_count(page)


def test_without_javascript_the_search_form_is_a_plain_get_form(open_page: PageFactory, search_ready: None) -> None:
    page = open_page("business_support", viewport="phone", javascript=False)
    page.goto("/search")
    assert "Type something" in page.locator("main").inner_text()
    page.get_by_label("Search for").fill("case note")
    with page.expect_navigation() as navigation:
        page.get_by_role("button", name="Search", exact=True).click()
    assert navigation.value.status == 200
    assert _query(page).get("q") == "case note", page.url
    assert "results for “case note”" in _result_count(page)
    assert page.locator("#search-results .app-result").count() > 0
    assert_no_horizontal_scroll(page)

    page.get_by_label("Part of the CMS").select_option(label="Case notes")
    with page.expect_navigation():
        page.get_by_role("button", name="Search", exact=True).click()
    assert _query(page).get("module") == "case-notes", page.url
    assert "results for “case note”" in _result_count(page)

    # Pages of results are links too.
    if "page 1 of" in _result_count(page):
        with page.expect_navigation():
            page.get_by_role("link", name=re.compile(r"^Next")).click()
        assert "page 2 of" in _result_count(page)
        assert _query(page).get("module") == "case-notes", page.url


@pytest.mark.parametrize("javascript", [pytest.param(False, id="js-off"), pytest.param(True, id="js-on")])
def test_accepting_a_suggested_group_creates_an_issue(open_page: PageFactory, javascript: bool) -> None:
    page = open_page("business_support", viewport="desktop", javascript=javascript)
    page.goto("/triage/suggestions")
    group = page.locator("section.app-group").first
    group.wait_for()
    refs = [box.get_attribute("value") for box in group.get_by_role("checkbox").all() if box.is_checked()]
    assert len(refs) >= 2, refs
    title = group.get_by_label("Issue title").input_value()
    assert title, "a suggested group comes with a suggested title"

    with page.expect_navigation() as navigation:
        group.get_by_role("button", name="Create an issue from this group").click()
    page.wait_for_url(ISSUE_PAGE)
    assert navigation.value.status == 200
    assert "Issue created" in page.locator("main").inner_text()
    assert title in page.get_by_role("heading", level=1).inner_text()
    main = page.locator("main").inner_text()
    for ref in refs:
        assert ref in main, f"{ref} is not on the new issue's page"

    # Accepted, so that feedback is no longer suggested as a group.
    page.goto("/triage/suggestions")
    still_grouped = page.locator("section.app-group input[type=checkbox]").evaluate_all(
        "(boxes) => boxes.map((box) => box.value)"
    )
    assert not set(refs) & set(still_grouped)
