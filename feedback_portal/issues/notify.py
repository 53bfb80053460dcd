"""NotificationHook: tell the people who gave feedback about an issue when its status changes or it gets a
public reply.

The sending side is `feedback_portal.notifications.services.notify_contributors(session, issue, event)`,
written separately (it may not have landed yet). It is imported lazily, on each call, inside try/except
ImportError: until the module exists the hook does nothing, and this code works the same before and after it
lands.

The event is a small dict: {"kind": "status" | "reply", "summary": str}, plus what notify_contributors reads
to word its message: "status" and "status_reason" for a status change, "reply" for a public reply.

The hook runs inside the change's own transaction (before its commit), in a SAVEPOINT: notifications are
written with the change or not at all (no notice about a change that was rolled back, none lost for one that
was saved), and a failure in the notifications code is logged and undone without losing the change itself.
notify_contributors must not commit: the caller does.
"""

from __future__ import annotations

import importlib.util
import logging
from typing import Literal, NotRequired, TypedDict

from sqlalchemy import orm

from feedback_portal.issues.models import Issue

log = logging.getLogger("feedback_portal.issues")
NOTIFICATIONS_MODULE = "feedback_portal.notifications.services"


class Event(TypedDict):
    kind: Literal["status", "reply"]
    summary: str
    status: NotRequired[str]  # the new status (kind "status")
    status_reason: NotRequired[str | None]  # why, for won't fix, guidance issued, training arranged
    reply: NotRequired[str]  # the public reply's text (kind "reply")


class NotificationHook:
    def __call__(self, session: orm.Session, issue: Issue, event: Event) -> None:
        try:
            # Lazily, and tolerating its absence: feedback_portal.notifications is being written separately.
            from feedback_portal.notifications.services import notify_contributors
        except ImportError:
            if _module_exists(NOTIFICATIONS_MODULE):  # it is there but broken: say so rather than stay quiet
                log.warning("Notifications off: %s cannot be imported", NOTIFICATIONS_MODULE, exc_info=True)
            return
        try:
            with session.begin_nested():
                notify_contributors(session, issue, event)
        except Exception:  # noqa: BLE001  (the change stands; the notice is lost, and logged)
            log.exception("Could not notify the contributors of %s about a %s", issue.ref, event["kind"])


def _module_exists(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False
