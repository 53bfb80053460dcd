"""The Notifications page, "mark all as read", and the unread count in the header."""

from __future__ import annotations

import logging
from typing import Any

import jinja2
from litestar import Request, get, post
from litestar.di import NamedDependency
from litestar.params import FromQuery
from litestar.response import Redirect, Template
from sqlalchemy import orm

from feedback_portal import web
from feedback_portal.notifications.services import NotificationService

log = logging.getLogger("feedback_portal.notifications")
NOTICES = {"read": "All your notifications are marked as read"}
_COUNT_KEY = "_unread_notifications"


@get("/notifications", guards=[web.signed_in], sync_to_thread=True)
def notification_list(
    request: Request,
    db_session: NamedDependency[orm.Session],
    page: FromQuery[str] = "1",
    done: FromQuery[str] = "",
) -> Template:
    try:
        number = int(page)
    except ValueError:
        number = 1
    service = NotificationService(db_session)
    user = web.signed_in_user(request)
    results = service.open_page(user, number)
    # This page marks what it shows as read, so the header's count (taken earlier) must be redone.
    request.scope.setdefault("state", {})[_COUNT_KEY] = service.unread_count(user.id)
    return web.page(
        request,
        "notifications/list.html",
        results=results,
        notice=NOTICES.get(done),
        safe_link=_safe_link,
    )


@post("/notifications/read-all", guards=[web.signed_in], sync_to_thread=True)
def read_all(request: Request, db_session: NamedDependency[orm.Session]) -> Redirect:
    NotificationService(db_session).mark_all_read(web.signed_in_user(request))
    return web.redirect("/notifications?done=read")


def _safe_link(link: str | None) -> str | None:
    """Only paths within the portal are links (they are written by the portal, but be sure)."""
    return link if link and web.safe_next(link, default="") == link else None


@jinja2.pass_context
def unread_notifications(context: Any) -> int | None:
    """The signed-in person's unread notifications, for the header (counted by the sign-in middleware
    with the connection it already has); None where it was not counted."""
    request = context.get("request")
    if request is None or context.get("user") is None:
        return None
    return request.scope.get("state", {}).get(_COUNT_KEY)


ROUTES = [notification_list, read_all]
