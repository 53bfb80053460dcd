"""The search page (one box, results as you type), saved searches, and "someone already said this"."""

from __future__ import annotations

from typing import Any

from litestar import Request, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, URLEncodedBody
from litestar.response import Redirect, Template

from feedback_portal import web
from feedback_portal.errors import ValidationFailed
from feedback_portal.feedback.services import FeedbackService, clean_text
from feedback_portal.indexing.service import FILTER_FIELDS, SearchService

SORTS = {"relevance": "Best match", "date": "Newest first"}


@get("/search", guards=[web.feedback_readers], sync_to_thread=True)
def search_page(
    request: Request,
    search_service: NamedDependency[SearchService],
    feedback_service: NamedDependency[FeedbackService],
) -> Template:
    params = request.query_params
    query = params.get("q", "")
    filters = {field: params.get(field, "") for field in FILTER_FIELDS}
    sort = params.get("sort", "relevance") if params.get("sort") in SORTS else "relevance"
    try:
        page_number = max(1, int(params.get("page", "1")))
    except ValueError:
        page_number = 1
    user = web.signed_in_user(request)
    errors: dict[str, str] = {}
    results = None
    if query or any(filters.values()):
        try:
            results = search_service.search(user, query, filters=filters, sort=sort, page=page_number)
        except ValidationFailed as failed:
            errors = failed.errors
    return web.fragment_or_page(
        request,
        page_template="search/index.html",
        fragment_template="search/_results.html",
        target="search-results",
        query=query,
        filters=filters,
        sort=sort,
        sorts=SORTS,
        results=results,
        errors=errors,
        vocabularies=feedback_service.vocabularies(),
        saved_searches=search_service.saved_searches(user),
        current_query=web.query_string({"q": query, "sort": sort if sort != "relevance" else "", **filters}),
        status_code=400 if errors else 200,
        active_nav="search",
    )


@post("/search/saved", guards=[web.feedback_readers], sync_to_thread=True)
def save_search(
    request: Request, data: URLEncodedBody[dict[str, Any]], search_service: NamedDependency[SearchService]
) -> Redirect:
    query_string = str(data.get("query_string") or "")
    search_service.save_search(web.signed_in_user(request), str(data.get("name") or ""), query_string)
    return web.redirect("/search?" + query_string)


@post("/search/saved/{saved_id:int}/delete", guards=[web.feedback_readers], sync_to_thread=True)
def delete_saved_search(
    request: Request, saved_id: FromPath[int], search_service: NamedDependency[SearchService]
) -> Redirect:
    search_service.delete_saved_search(web.signed_in_user(request), saved_id)
    return web.redirect("/search")


@post("/feedback/similar", guards=[web.signed_in], sync_to_thread=True)
def similar_while_typing(
    request: Request,
    data: URLEncodedBody[dict[str, Any]],
    search_service: NamedDependency[SearchService],
    feedback_service: NamedDependency[FeedbackService],
) -> Template:
    text = " ".join(clean_text(data.get(field)) for field in ("title", "body")).strip()
    return web.page(
        request,
        "feedback/_similar.html",
        similar=search_service.similar(text, limit=5),
        vocabularies=feedback_service.vocabularies(),
    )


ROUTES = [search_page, save_search, delete_saved_search, similar_while_typing]
