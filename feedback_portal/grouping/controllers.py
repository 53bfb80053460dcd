"""The suggestions page: accept a suggested group or a likely issue in one action."""

from __future__ import annotations

from litestar import Request, get
from litestar.di import NamedDependency
from litestar.response import Template
from sqlalchemy import orm

from feedback_portal import web
from feedback_portal.feedback.services import FeedbackService
from feedback_portal.grouping.services import GroupingService


@get("/triage/suggestions", guards=[web.triage_only], sync_to_thread=True)
def suggestions(
    request: Request, db_session: NamedDependency[orm.Session], feedback_service: NamedDependency[FeedbackService]
) -> Template:
    service = GroupingService(db_session)
    untriaged = service.untriaged()
    return web.page(
        request,
        "triage/suggestions.html",
        untriaged_count=len(untriaged),
        groups=service.suggested_groups(untriaged),
        issue_suggestions=service.issue_suggestions(untriaged),
        vocabularies=feedback_service.vocabularies(),
        active_nav="suggestions",
    )


ROUTES = [suggestions]
