"""Helpers for the browser tests: viewports, the live server handle, and filling in the give-feedback form."""

from __future__ import annotations

import contextlib
import dataclasses
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import orm

from feedback_portal import db

PHONE = {"width": 320, "height": 640}
DESKTOP = {"width": 1280, "height": 900}
VIEWPORTS = {"phone": PHONE, "desktop": DESKTOP}
REF = re.compile(r"FB-\d{6}")

# open_page(role=None, *, viewport="desktop", javascript=True) -> playwright Page (the open_page fixture)
PageFactory = Callable[..., Any]


@dataclasses.dataclass(frozen=True)
class LiveServer:
    url: str
    data_dir: Path

    @contextlib.contextmanager
    def db_session(self) -> Iterator[orm.Session]:
        """A session on the server's own database, for finding records to open (not for changing them)."""
        engine = db.make_engine(f"sqlite:///{self.data_dir / 'portal.db'}")
        try:
            with db.make_session_factory(engine)() as session:
                yield session
        finally:
            engine.dispose()


def assert_no_horizontal_scroll(page: Any, width: int = PHONE["width"]) -> None:
    """The page fits the width (WCAG 1.4.10 Reflow at 320 CSS pixels); names the elements that stick out if not."""
    scroll_width = page.evaluate("() => document.documentElement.scrollWidth")
    if scroll_width > width:
        culprits = page.evaluate(
            """(width) => [...document.querySelectorAll('body *')]
                .filter((el) => el.getBoundingClientRect().right > width + 0.5)
                .slice(0, 8)
                .map((el) => el.outerHTML.slice(0, 160))""",
            width,
        )
        raise AssertionError(f"{page.url} scrolls sideways: scrollWidth {scroll_width} > {width}. Too wide: {culprits}")


def fill_feedback_form(
    page: Any,
    *,
    body: str,
    title: str = "",
    module: str = "Case notes",
    kind: str = "Something is broken",
    impact: str = "It stops me working",
    anonymity: str = "Use my name",
    screenshot: Path | None = None,
) -> None:
    """Fill in the give-feedback form the way a person would: by the labels they read."""
    page.get_by_label("What happened?").fill(body)
    if title:
        page.get_by_label("Short title (optional)").fill(title)
    page.get_by_label("Which part of the CMS?").select_option(label=module)
    page.get_by_label("What kind of problem is it?").select_option(label=kind)
    page.get_by_role("radio", name=impact, exact=True).check()
    page.get_by_role("radio", name=anonymity, exact=True).check()
    if screenshot is not None:
        page.get_by_label("Screenshots (optional)").set_input_files(screenshot)


def submit_feedback_form(page: Any) -> Any:
    """Press "Send feedback" and wait for the page the server answers with; returns that navigation's response."""
    with page.expect_navigation() as navigation:
        page.get_by_role("button", name="Send feedback").click()
    return navigation.value


def make_png(path: Path, size: tuple[int, int] = (120, 80)) -> Path:
    """A small screenshot-like PNG."""
    from PIL import Image, ImageDraw

    image = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(image)
    draw.rectangle((10, 10, size[0] - 10, 30), fill=(29, 112, 184))
    draw.text((12, 40), "CMS error 500", fill="black")
    image.save(path, format="PNG")
    return path


def others_similar_items(page: Any, live_server: LiveServer, email: str) -> list[str]:
    """The ids (similar-FB-000123) of the items in the "Has someone already said this?" panel that this person did
    not send: a "me too" to their own feedback is answered with a note that it already counts, not a thank-you."""
    from feedback_portal.accounts.models import User
    from feedback_portal.feedback.models import Feedback

    with live_server.db_session() as session:
        own = set(
            session.scalars(
                sa.select(Feedback.ref).join(User, Feedback.submitter_id == User.id).where(User.email == email)
            )
        )
    ids = page.locator("#similar .app-similar__item").evaluate_all("(items) => items.map((item) => item.id)")
    return [item_id for item_id in ids if item_id.removeprefix("similar-") not in own]
