"""Helpers shared by the triage tests (workflow, conflicts, notes and replies, history)."""

from __future__ import annotations

import re
import sys
import types
from typing import Any

import sqlalchemy as sa

from feedback_portal.audit.models import AuditEvent
from feedback_portal.issues.models import Issue
from tests.conftest import csrf_token


def post(client, path, **data):  # noqa: ANN001, ANN003, ANN201
    return client.post(path, data={**data, "_csrf_token": csrf_token(client)}, follow_redirects=False)


def create_issue(client, title, *refs):  # noqa: ANN001, ANN201
    response = post(client, "/issues", title=title, feedback=list(refs))
    assert response.status_code == 303, response.text
    return response.headers["location"].split("?")[0].rsplit("/", 1)[1]


def issue_row(session, ref: str) -> Issue:  # noqa: ANN001
    session.rollback()
    session.expire_all()
    return session.scalar(sa.select(Issue).where(Issue.ref == ref))


def audit_events(session, record_type: str, ref: str) -> list[AuditEvent]:  # noqa: ANN001
    session.rollback()
    return list(
        session.scalars(
            sa.select(AuditEvent)
            .where(AuditEvent.record_type == record_type, AuditEvent.record_ref == ref)
            .order_by(AuditEvent.id)
        )
    )


def text_of(html: str) -> str:
    """The page's text, tags removed and whitespace collapsed, to check what a person reads."""
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S)
    return " ".join(re.sub(r"<[^>]+>", " ", html).replace("&#39;", "'").replace("&amp;", "&").split())


def history_lines(html: str) -> list[str]:
    """The History list's lines as a person reads them: "27 Nov 2026 10:32 — Bob Support changed …"."""
    match = re.search(r'<ul class="govuk-list govuk-list--spaced app-history">(.*?)</ul>', html, re.S)
    if not match:
        return []
    return [text_of(item) for item in re.findall(r"<li>(.*?)</li>", match.group(1), re.S)]


class FakeNotifications:
    """Stands in for feedback_portal.notifications.services (being written separately) in sys.modules."""

    def __init__(self, monkeypatch, fail: bool = False) -> None:  # noqa: ANN001
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.fail = fail
        module = types.ModuleType("feedback_portal.notifications.services")
        module.notify_contributors = self.notify_contributors  # type: ignore[attr-defined]
        monkeypatch.setitem(sys.modules, "feedback_portal.notifications.services", module)

    def notify_contributors(self, session, issue, event) -> None:  # noqa: ANN001
        self.calls.append((issue.ref, dict(event)))
        if self.fail:
            raise RuntimeError("the notifications module broke")
