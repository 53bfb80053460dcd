"""Insight in a real browser: the filters redraw the charts in place with htmx (and the URL follows), the same
form works with JavaScript off, and the redrawn page stays valid and accessible, SVGs included."""

from __future__ import annotations

import pytest

from tests.browser.helpers import PHONE, PageFactory, assert_no_horizontal_scroll
from tests.support.axe import format_violations, run_axe
from tests.support.html_checker import HtmlChecker, format_messages

pytestmark = pytest.mark.browser


def test_filtering_redraws_the_charts_in_place_and_the_url_can_be_shared(
    open_page: PageFactory, html_checker_service: HtmlChecker
) -> None:
    page = open_page("board", viewport="desktop")
    page.goto("/insight")
    page.get_by_label("Part of the CMS", exact=True).select_option(label="Case notes")
    with page.expect_response(lambda response: "module=case-notes" in response.url):
        page.get_by_role("button", name="Update the charts").click()
    page.get_by_text("Showing 2 March 2026").filter(has_text="for Case notes").wait_for()
    assert "module=case-notes" in page.url  # pushed: the view can be bookmarked and shared
    assert page.locator("#insight-results").count() == 1  # swapped, not nested
    assert page.locator("svg.app-insight-svg").count() >= 1
    assert (
        page.evaluate("() => document.activeElement.id") == "insight-update"
    )  # the keyboard keeps its place
    errors = html_checker_service.check(page.content())
    assert not errors, format_messages(errors)
    violations = run_axe(page)
    assert not violations, format_violations(violations)


def test_a_bad_filter_redrawn_by_htmx_shows_its_message_beside_the_field(open_page: PageFactory) -> None:
    page = open_page("business_support", viewport="desktop")
    page.goto("/insight")
    page.get_by_label("From", exact=True).fill("2026-10-01")
    page.get_by_label("To", exact=True).fill("2026-09-01")
    with page.expect_response(lambda response: "from=2026-10-01" in response.url) as answer:
        page.get_by_role("button", name="Update the charts").click()
    assert answer.value.status == 400
    page.locator("#to-error").get_by_text(
        "The end date must be the same as or after the start date"
    ).wait_for()
    assert page.locator(".govuk-error-summary").count() == 1


def test_the_filters_work_without_javascript(open_page: PageFactory) -> None:
    page = open_page("board", viewport="desktop", javascript=False)
    page.goto("/insight")
    page.get_by_label("Kind", exact=True).select_option(label="Something is broken")
    with page.expect_navigation() as navigation:
        page.get_by_role("button", name="Update the charts").click()
    assert navigation.value.status == 200
    assert "kind=bug" in page.url
    assert "of the kind “Something is broken”" in page.locator("#insight-range").inner_text()


def test_the_numbers_of_a_chart_open_and_fit_a_phone(open_page: PageFactory) -> None:
    page = open_page("board", viewport="phone")
    page.goto("/insight")
    section = page.locator("#insight-volume")
    section.locator("summary").click()
    table = section.get_by_role("region", name="Feedback per week since go-live, by part of the CMS")
    table.wait_for()
    assert table.locator("tbody tr").count() >= 30  # a row a week since go-live
    assert_no_horizontal_scroll(page, PHONE["width"])  # the wide table scrolls inside its own region
    violations = run_axe(page)
    assert not violations, format_violations(violations)
