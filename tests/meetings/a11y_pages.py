"""How the accessibility scenarios (tests/browser/test_accessibility.py) open the meeting pages: from the
demo data's meeting series (feedback_portal/meetings/demo.py), found through the pages as a person would."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def _meeting_path(page: Any, which: str) -> str:
    page.goto("/meetings")
    if which == "upcoming":
        link = page.locator("main table a[href^='/meetings/']").first
    else:
        link = page.locator("main ul.govuk-list a[href^='/meetings/']").last
    return link.get_attribute("href")


def open_meeting(which: str = "upcoming", suffix: str = "") -> Callable[[Any, Any], Any]:
    """Open the demo's upcoming (or past) meeting's page, or one under it (suffix "/live", "/pack")."""
    return lambda page, known: page.goto(_meeting_path(page, which) + suffix)


def add_item_with_errors(page: Any, known: Any) -> Any:
    """The agenda editor after adding an issue that does not exist (the message beside the field)."""
    page.goto(_meeting_path(page, "upcoming"))
    page.get_by_label("Issue reference (for an issue)").fill("ISS-9999")
    with page.expect_navigation() as navigation:
        page.get_by_role("button", name="Add to the agenda").evaluate("(button) => button.form.submit()")
    return navigation.value


def outcome_with_errors(page: Any, known: Any) -> Any:
    """Live mode after choosing "Won't fix" with no reason."""
    page.goto(_meeting_path(page, "upcoming") + "/live")
    page.get_by_role("radio", name="Won't fix").check()
    with page.expect_navigation() as navigation:
        page.get_by_role("button", name="Record the outcome").click()
    return navigation.value


def open_series(page: Any, known: Any) -> Any:
    """The demo's meeting series, from the Series list on /meetings."""
    page.goto("/meetings")
    return page.goto(page.locator("main a[href^='/meetings/series/']").first.get_attribute("href"))
