"""Web plumbing shared by every controller: the signed-in user, role guards, pages and fragments."""

from __future__ import annotations

import urllib.parse
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from litestar import Request
from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler
from litestar.response import Redirect, Template
from sqlalchemy import orm

from feedback_portal.accounts.models import Role, User
from feedback_portal.settings import Settings

SESSION_COOKIE = "fp_session"


def settings_of(connection: ASGIConnection) -> Settings:
    return connection.app.state.settings


def session_factory_of(connection: ASGIConnection) -> orm.sessionmaker[orm.Session]:
    return connection.app.state.session_factory


def current_user(connection: ASGIConnection) -> User | None:
    return connection.scope.get("user")  # type: ignore[return-value]


def signed_in_user(connection: ASGIConnection) -> User:
    user = current_user(connection)
    if user is None:
        raise NotAuthorizedException("Sign in to continue")
    return user


def requires(*roles: Role) -> Callable[[ASGIConnection, BaseRouteHandler], None]:
    """A guard: the person must be signed in and, if roles are given, hold one of them."""
    allowed = frozenset(roles)

    def guard(connection: ASGIConnection, _: BaseRouteHandler) -> None:
        user = signed_in_user(connection)
        if allowed and user.role_enum not in allowed:
            raise PermissionDeniedException("Your role does not give you access to this page")

    guard.__name__ = "requires_" + ("_or_".join(sorted(r.value for r in allowed)) or "sign_in")
    return guard


def public(connection: ASGIConnection, _: BaseRouteHandler) -> None:
    """An explicit guard for pages anyone may open (sign-in, health check)."""


signed_in = requires()
triage_only = requires(Role.BUSINESS_SUPPORT, Role.ADMIN)
feedback_readers = requires(Role.BUSINESS_SUPPORT, Role.BOARD, Role.ADMIN)
admin_only = requires(Role.ADMIN)


def page(request: Request, template_name: str, status_code: int = 200, **context: Any) -> Template:
    context.setdefault("user", current_user(request))
    return Template(template_name=template_name, context=context, status_code=status_code)


def fragment_or_page(
    request: Request, *, page_template: str, fragment_template: str, target: str, **context: Any
) -> Template:
    """One URL serves the whole page, or just the part htmx asked for (by its element id)."""
    htmx = getattr(request, "htmx", None)
    if htmx and getattr(htmx, "target", None) == target and not getattr(htmx, "boosted", False):
        return page(request, fragment_template, **context)
    return page(request, page_template, **context)


def safe_next(value: str | None, default: str = "/") -> str:
    """Only same-site paths may be redirect targets after sign-in."""
    if not value:
        return default
    parsed = urllib.parse.urlsplit(value)
    if parsed.scheme or parsed.netloc or not value.startswith("/") or value.startswith("//"):
        return default
    return value


def redirect(path: str) -> Redirect:
    return Redirect(path=path, status_code=303)


def query_string(values: Mapping[str, Any], **changes: Any) -> str:
    merged = {**values, **changes}
    return urllib.parse.urlencode({k: v for k, v in merged.items() if v not in (None, "")})


def form_values(data: Mapping[str, Any], fields: Iterable[str]) -> dict[str, str]:
    return {field: str(data.get(field) or "") for field in fields}


def page_numbers(current: int, last: int, around: int = 2) -> list[int | None]:
    """Page links to show: the first, the last and a few around the current one; None marks a gap."""
    shown = sorted({1, last, *range(max(1, current - around), min(last, current + around) + 1)})
    numbers: list[int | None] = []
    for number in shown:
        if numbers and number - (numbers[-1] or 0) > 1:
            numbers.append(None)
        numbers.append(number)
    return numbers


def with_param(query: str, field: str, value: str) -> str:
    """A query string with one parameter set (and the page reset), for facet links."""
    values = dict(urllib.parse.parse_qsl(query))
    values[field] = value
    values.pop("page", None)
    return urllib.parse.urlencode(values)
