"""Search over the JSON API: refs in rank order with scores and highlights, and similar feedback."""

from __future__ import annotations

from typing import Any

from litestar import Request, get
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery
from sqlalchemy import orm

from feedback_portal import web
from feedback_portal.errors import ValidationFailed
from feedback_portal.feedback.services import FeedbackService
from feedback_portal.grouping.services import GroupingService
from feedback_portal.indexing.service import FILTER_FIELDS, SearchService


@get("/api/v1/search", guards=[web.feedback_readers], sync_to_thread=True, summary="Search feedback and issues")
def search(
    request: Request,
    search_service: NamedDependency[SearchService],
    q: FromQuery[str] = "",
    limit: FromQuery[int] = 10,
    page: FromQuery[int] = 1,
    sort: FromQuery[str] = "relevance",
) -> dict[str, Any]:
    if not 1 <= limit <= 100:
        raise ValidationFailed({"limit": "limit must be between 1 and 100"})
    if sort not in {"relevance", "date"}:
        raise ValidationFailed({"sort": "sort must be relevance or date"})
    filters = {field: request.query_params.get(field, "") for field in FILTER_FIELDS}
    found = search_service.search(web.signed_in_user(request), q, filters=filters, sort=sort, page=page, size=limit)
    return {
        "query": found.query,
        "total": found.total,
        "page": found.page,
        "pages": found.pages,
        "results": [
            {
                "ref": result.hit.ref,
                "type": result.hit.doc_kind,
                "score": round(result.hit.score, 4),
                "highlights": result.hit.highlights,
            }
            for result in found.results
        ],
        "facets": found.facets,
        "notices": found.notices,
    }


@get(
    "/api/v1/feedback/{ref:str}/similar",
    guards=[web.feedback_readers],
    sync_to_thread=True,
    summary="Feedback and issues that say much the same as this feedback",
)
def similar(
    request: Request,
    ref: FromPath[str],
    search_service: NamedDependency[SearchService],
    feedback_service: NamedDependency[FeedbackService],
    db_session: NamedDependency[orm.Session],
    limit: FromQuery[int] = 10,
) -> dict[str, Any]:
    if not 1 <= limit <= 50:
        raise ValidationFailed({"limit": "limit must be between 1 and 50"})
    feedback = feedback_service.get(ref, web.signed_in_user(request))
    text = " ".join(part for part in (feedback.title, feedback.body) if part)
    results = search_service.similar(text, limit=limit, exclude_refs=[feedback.ref])
    return {
        "ref": feedback.ref,
        "similar": [
            {"ref": result.hit.ref, "type": result.hit.doc_kind, "score": round(result.hit.score, 4)}
            for result in results
        ],
        "suggested_issues": [
            {"ref": suggestion.issue.ref, "title": suggestion.issue.title, "confidence": round(suggestion.confidence, 3)}
            for suggestion in GroupingService(db_session).suggestions_for(feedback)
        ],
    }


ROUTES = [search, similar]
