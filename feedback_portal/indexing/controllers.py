"""The admin page for the search's abbreviations and synonyms."""

from __future__ import annotations

from typing import Any

from litestar import Request, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, URLEncodedBody
from litestar.response import Redirect, Template
from sqlalchemy import orm

from feedback_portal import web
from feedback_portal.errors import ValidationFailed
from feedback_portal.indexing import synonyms
from feedback_portal.search import analysis


def _page(request: Request, service: synonyms.SynonymService, **context: Any) -> Template:
    return web.page(
        request,
        "admin/synonyms.html",
        lines=service.lines(),
        defaults=analysis.DEFAULT_SYNONYM_LINES,
        active_nav="synonyms",
        **{"errors": {}, "values": {}, **context},
    )


@get("/admin/synonyms", guards=[web.admin_only], sync_to_thread=True)
def synonyms_page(request: Request, db_session: NamedDependency[orm.Session]) -> Template:
    return _page(request, synonyms.SynonymService(db_session))


@post("/admin/synonyms", guards=[web.admin_only], sync_to_thread=True)
def add_synonyms(
    request: Request, data: URLEncodedBody[dict[str, Any]], db_session: NamedDependency[orm.Session]
) -> Template | Redirect:
    service = synonyms.SynonymService(db_session)
    try:
        service.add(str(data.get("line") or ""), web.signed_in_user(request))
    except ValidationFailed as failed:
        return _page(request, service, errors=failed.errors, values={"line": data.get("line") or ""}, status_code=422)
    synonyms.sync(db_session)
    request.app.state.background_indexer.wake()
    return web.redirect("/admin/synonyms?added=1")


@post("/admin/synonyms/{line_id:int}/delete", guards=[web.admin_only], sync_to_thread=True)
def remove_synonyms(request: Request, line_id: FromPath[int], db_session: NamedDependency[orm.Session]) -> Redirect:
    synonyms.SynonymService(db_session).remove(line_id)
    synonyms.sync(db_session)
    request.app.state.background_indexer.wake()
    return web.redirect("/admin/synonyms")


ROUTES = [synonyms_page, add_synonyms, remove_synonyms]
