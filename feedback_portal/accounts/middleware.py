"""Who is asking: a sign-in session cookie for pages, a bearer token for the API."""

from __future__ import annotations

from litestar.enums import ScopeType
from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, Receive, Scope, Send

from feedback_portal.accounts.services import AccountService
from feedback_portal.notifications.services import NotificationService
from feedback_portal.web import SESSION_COOKIE

UNREAD_KEY = "_unread_notifications"


def _cookie(scope: Scope, name: str) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == b"cookie":
            for part in value.decode("latin-1").split(";"):
                cookie_name, _, cookie_value = part.strip().partition("=")
                if cookie_name == name:
                    return cookie_value
    return None


def _bearer(scope: Scope) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            if scheme.lower() == "bearer" and token.strip():
                return token.strip()
    return None


class IdentifyUser(ASGIMiddleware):
    scopes = (ScopeType.HTTP,)
    exclude_path_pattern = ("^/static/", "^/assets/", "^/healthz$")

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        scope["user"] = None
        is_api = scope["path"].startswith("/api/")
        # The API trusts bearer tokens only, so a browser's cookie can never be used against it (no CSRF there).
        token = _bearer(scope) if is_api else _cookie(scope, SESSION_COOKIE)
        if token:
            factory = scope["litestar_app"].state.session_factory
            with factory() as session:
                accounts = AccountService(session)
                user = accounts.user_for_api_token(token) if is_api else accounts.user_for_session(token)
                scope["user"] = user
                if user is not None and not is_api:
                    # Counted here, with the same connection, for the page header: counting while the
                    # template renders would need a second connection per request (and block the loop).
                    scope.setdefault("state", {})[UNREAD_KEY] = NotificationService(session).unread_count(user.id)
        await next_app(scope, receive, send)
