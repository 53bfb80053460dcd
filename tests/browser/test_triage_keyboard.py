"""Triage with the keyboard only, in a real browser: open the queue, open the first item, link it to the
suggested issue with "1", land on the next item, do it again. Also measures the common path's requests and
keystrokes with the shortcuts and with Tab/Enter only (the figures are in README.md's triage section)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from tests.browser.conftest import LOGINS
from tests.browser.helpers import LiveServer, PageFactory

pytestmark = pytest.mark.browser
QUEUE = "/triage?module=integrations&kind=access"  # no demo feedback is both: only what this test sends
TEXTS = [
    "The GP letters import from the health integration fails every morning with an access denied error",
    "Every morning the GP letters import integration fails with an access denied error message",
    "GP letters import from the health integration fails with access denied each morning",
    "The health integration GP letters import says access denied every morning and fails",
    "Access denied error when the GP letters import integration runs in the morning",
]


def _api(live_server: LiveServer, token: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
    response = httpx.post(
        live_server.url + path,
        json=body,
        headers={"Authorization": f"Bearer {token}"},
        trust_env=False,
        timeout=10,
    )
    assert response.status_code == 201, response.text
    return response.json()


@pytest.fixture(scope="module")
def queue_items(live_server: LiveServer, api_token: Callable[[str], str]) -> tuple[str, list[str]]:
    """An issue from the first text, and four more feedback saying the same, untriaged."""
    frontline = api_token(LOGINS["frontline"].email)
    refs = [
        _api(
            live_server,
            frontline,
            "/api/v1/feedback",
            {"body": text, "module": "integrations", "kind": "access", "impact": "workaround"},
        )["ref"]
        for text in TEXTS
    ]
    issue = _api(
        live_server,
        api_token(LOGINS["business_support"].email),
        "/api/v1/issues",
        {"title": "GP letters import fails with access denied", "feedback": refs[:1]},
    )
    return issue["ref"], refs[1:]


def _status(live_server: LiveServer, api_token: Callable[[str], str], ref: str) -> str:
    response = httpx.get(
        live_server.url + f"/api/v1/feedback/{ref}",
        trust_env=False,
        timeout=10,
        headers={"Authorization": f"Bearer {api_token(LOGINS['business_support'].email)}"},
    )
    return response.json()["status"]


def _documents(page: Any) -> list[str]:
    seen: list[str] = []
    page.on(
        "request",
        lambda request: (
            seen.append(f"{request.method} {request.url}") if request.resource_type == "document" else None
        ),
    )
    return seen


def test_triage_two_items_with_the_keyboard_only(
    open_page: PageFactory,
    live_server: LiveServer,
    api_token: Callable[[str], str],
    queue_items: tuple[str, list[str]],
) -> None:
    issue, refs = queue_items
    page = open_page("business_support", viewport="desktop")
    requests = _documents(page)
    page.goto(QUEUE)
    keys = 0
    page.keyboard.press("j")  # the first row's link
    keys += 1
    assert page.evaluate("document.activeElement.getAttribute('href')").startswith(f"/triage/{refs[0]}?")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    keys += 1
    assert page.url.split("?")[0].endswith(f"/triage/{refs[0]}")
    assert page.locator("[data-shortcut='1']").inner_text().startswith(f"Link to {issue}")
    with page.expect_navigation(url=lambda url: f"/triage/{refs[1]}?" in url):
        page.keyboard.press("1")
    keys += 1
    assert f"{refs[0]} linked to {issue}." in page.locator(".govuk-notification-banner").inner_text()
    assert "module=integrations" in page.url and "kind=access" in page.url  # the filters are kept
    with page.expect_navigation(url=lambda url: f"/triage/{refs[2]}?" in url):
        page.keyboard.press("1")
    keys += 1
    assert (
        _status(live_server, api_token, refs[0]) == "linked"
        and _status(live_server, api_token, refs[1]) == "linked"
    )
    # The common path: queue, first item, link to the suggestion, next item.
    common = requests[:4]  # GET queue, GET item, POST link (answered 303), GET the next item
    print(
        f"\nWITH SHORTCUTS: 3 keystrokes (j, Enter, 1) and {len(common)} requests for queue → item → link → next:"
        f" {common}"
    )
    assert [line.split()[0] for line in common] == [
        "GET",
        "GET",
        "POST",
        "GET",
    ] and f"/triage/{refs[1]}?" in common[3]
    assert keys == 4 and len(requests) == 6  # and one more key, two more requests, for the second item

    # Shortcuts never fire while typing: "n" in the question box is a letter, not "not about the CMS".
    page.keyboard.press("r")
    page.keyboard.type("n1j")
    assert page.locator("#question").input_value() == "n1j"
    assert page.url.split("?")[0].endswith(f"/triage/{refs[2]}")
    page.keyboard.press("Escape")
    page.keyboard.press("?")
    assert page.locator("#shortcuts").get_attribute("open") is not None


def _tabs_to(page: Any, selector: str, limit: int = 400) -> int:
    """Tab presses from the top of the page until the element matching `selector` has the focus."""
    page.evaluate("document.activeElement && document.activeElement.blur()")
    for presses in range(1, limit + 1):
        page.keyboard.press("Tab")
        if page.evaluate("(s) => document.activeElement === document.querySelector(s)", selector):
            return presses
    raise AssertionError(f"{selector} never got the focus")


def test_the_same_path_without_shortcuts(
    open_page: PageFactory, live_server: LiveServer, queue_items: tuple[str, list[str]]
) -> None:
    _issue, refs = queue_items
    page = open_page("business_support", viewport="desktop")
    requests = _documents(page)
    page.goto(QUEUE)
    first = refs[2]
    tabs_to_row = _tabs_to(page, f"a[href^='/triage/{first}?']")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    tabs_to_link = _tabs_to(page, "[data-shortcut='1']")
    with page.expect_navigation(url=lambda url: f"/triage/{refs[3]}?" in url):
        page.keyboard.press("Enter")
    keystrokes = tabs_to_row + 1 + tabs_to_link + 1
    print(
        f"\nWITHOUT SHORTCUTS: {keystrokes} keystrokes ({tabs_to_row} Tabs + Enter to open the first item, "
        f"{tabs_to_link} Tabs + Enter to link it) and {len(requests)} requests"
    )
    assert len(requests) == 4 and keystrokes > 3


def test_filtering_the_queue_with_htmx_keeps_it_accessible(
    open_page: PageFactory, html_checker_service: Any, queue_items: tuple[str, list[str]]
) -> None:
    from tests.support.axe import format_violations, run_axe
    from tests.support.html_checker import format_messages

    page = open_page("business_support", viewport="desktop")
    page.goto("/triage")
    before = page.locator("#result-count").inner_text()
    with page.expect_response(lambda response: "module=integrations" in response.url):
        page.get_by_label("Part of the CMS", exact=True).first.select_option(label="Integrations")
    page.wait_for_function(
        "(before) => { const c = document.querySelector('#result-count'); return c && c.innerText !== before; }",
        arg=before,
    )
    assert "module=integrations" in page.url  # pushed: the filtered queue can be bookmarked
    assert page.locator("#queue-results").count() == 1
    assert page.locator("[data-triage-row]").first.get_attribute("href").endswith("?module=integrations")
    errors = html_checker_service.check(page.content())
    assert not errors, format_messages(errors)
    violations = run_axe(page)
    assert not violations, format_violations(violations)
