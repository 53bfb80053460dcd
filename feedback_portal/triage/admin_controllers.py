"""Admin pages: the personal-data detector's patterns (/admin/privacy), retention (/admin/retention) and the
subject access export (/admin/subject-access)."""

from __future__ import annotations

import json
from typing import Any

from litestar import Request, get, post
from litestar.di import NamedDependency
from litestar.params import URLEncodedBody
from litestar.response import Redirect, Response, Template
from sqlalchemy import orm

from feedback_portal import web
from feedback_portal.errors import ValidationFailed
from feedback_portal.privacy.detector import DEFAULT_CASE_ID_PATTERNS
from feedback_portal.privacy.safeguarding import DEFAULT_PHRASES
from feedback_portal.triage import admin_settings, retention, subject_access

SAVED = {"saved": "Saved. Every part of the portal uses it from now on."}


def _privacy_page(
    request: Request, session: orm.Session, values: dict[str, str] | None = None, **context: Any
) -> Template:
    current = admin_settings.privacy_values(session)
    return web.page(
        request,
        "admin/privacy.html",
        values=values or {field: "\n".join(lines) for field, lines in current.items()},
        default_patterns=DEFAULT_CASE_ID_PATTERNS,
        default_phrases=DEFAULT_PHRASES,
        safeguarding_text=web.settings_of(request).safeguarding_text,
        saved=SAVED.get(request.query_params.get("done", ""), ""),
        active_nav="privacy",
        **{"errors": {}, **context},
    )


@get("/admin/privacy", guards=[web.admin_only], sync_to_thread=True)
def privacy_page(request: Request, db_session: NamedDependency[orm.Session]) -> Template:
    return _privacy_page(request, db_session)


@post("/admin/privacy", guards=[web.admin_only], sync_to_thread=True)
def save_privacy(
    request: Request, data: URLEncodedBody[dict[str, Any]], db_session: NamedDependency[orm.Session]
) -> Template | Redirect:
    try:
        admin_settings.save_privacy(db_session, data, web.signed_in_user(request))
    except ValidationFailed as failed:
        values = {field: str(data.get(field) or "") for field in admin_settings.PRIVACY_FIELDS}
        return _privacy_page(request, db_session, values=values, errors=failed.errors, status_code=422)
    return web.redirect("/admin/privacy?done=saved")


def _retention_page(request: Request, session: orm.Session, **context: Any) -> Template:
    policy = admin_settings.retention_policy(session)
    preview = retention.plan(session, policy) if policy.months else None
    return web.page(
        request,
        "admin/retention.html",
        policy=policy,
        preview=preview,
        original_text_days=web.settings_of(request).original_text_days,
        saved=SAVED.get(request.query_params.get("done", ""), ""),
        active_nav="retention",
        **{"errors": {}, "values": {"months": str(policy.months or ""), "action": policy.action}, **context},
    )


@get("/admin/retention", guards=[web.admin_only], sync_to_thread=True)
def retention_page(request: Request, db_session: NamedDependency[orm.Session]) -> Template:
    return _retention_page(request, db_session)


@post("/admin/retention", guards=[web.admin_only], sync_to_thread=True)
def save_retention(
    request: Request, data: URLEncodedBody[dict[str, Any]], db_session: NamedDependency[orm.Session]
) -> Template | Redirect:
    try:
        admin_settings.save_retention(db_session, data, web.signed_in_user(request))
    except ValidationFailed as failed:
        values = {"months": str(data.get("months") or ""), "action": str(data.get("action") or "")}
        return _retention_page(request, db_session, errors=failed.errors, values=values, status_code=422)
    return web.redirect("/admin/retention?done=saved")


@get("/admin/subject-access", guards=[web.admin_only], sync_to_thread=True)
def subject_access_page(request: Request) -> Template:
    return web.page(request, "admin/subject_access.html", errors={}, values={}, active_nav="subject-access")


@post("/admin/subject-access", guards=[web.admin_only], sync_to_thread=True)
def subject_access_export(
    request: Request, data: URLEncodedBody[dict[str, Any]], db_session: NamedDependency[orm.Session]
) -> Template | Response[bytes]:
    try:
        subject = subject_access.find_user(db_session, data.get("email"))
    except ValidationFailed as failed:
        return web.page(
            request,
            "admin/subject_access.html",
            status_code=422,
            errors=failed.errors,
            values={"email": str(data.get("email") or "")},
            active_nav="subject-access",
        )
    document = subject_access.export(db_session, subject)
    subject_access.record(db_session, web.signed_in_user(request), subject)
    return Response(
        json.dumps(document, indent=2, ensure_ascii=False).encode(),
        media_type="application/json",
        status_code=200,
        headers={
            "Content-Disposition": f'attachment; filename="subject-access-{subject.id}.json"',
            "Cache-Control": "no-store",
        },
    )


ROUTES = [
    privacy_page,
    save_privacy,
    retention_page,
    save_retention,
    subject_access_page,
    subject_access_export,
]
