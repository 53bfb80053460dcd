"""Signing in and out, and the home page each role lands on."""

from __future__ import annotations

from typing import Any

from litestar import Request, get, post
from litestar.di import NamedDependency
from litestar.params import FromQuery, URLEncodedBody
from litestar.response import Redirect, Template
from sqlalchemy import orm

from feedback_portal import web
from feedback_portal.accounts.models import Role
from feedback_portal.accounts.services import AccountService
from feedback_portal.errors import TooManyAttempts, ValidationFailed


@get("/sign-in", guards=[web.public], sync_to_thread=False)
def sign_in_form(request: Request, next: FromQuery[str | None] = None) -> Template | Redirect:  # noqa: A002
    if web.current_user(request) is not None:
        return web.redirect(web.safe_next(next))
    return web.page(request, "accounts/sign_in.html", next=web.safe_next(next), values={}, errors={})


@post("/sign-in", guards=[web.public], sync_to_thread=True)
def sign_in(
    request: Request, data: URLEncodedBody[dict[str, Any]], db_session: NamedDependency[orm.Session]
) -> Template | Redirect:
    settings = web.settings_of(request)
    email = str(data.get("email") or "")
    next_path = web.safe_next(str(data.get("next") or ""))
    accounts = AccountService(db_session)
    try:
        user = accounts.authenticate(
            email,
            str(data.get("password") or ""),
            window_minutes=settings.login_window_minutes,
            max_attempts=settings.login_attempts_per_window,
        )
        token = accounts.start_session(user, hours=settings.session_hours)
        db_session.commit()
    except (ValidationFailed, TooManyAttempts) as failure:
        errors = failure.errors if isinstance(failure, ValidationFailed) else {"email": failure.message}
        status = 429 if isinstance(failure, TooManyAttempts) else 400
        return web.page(
            request,
            "accounts/sign_in.html",
            status_code=status,
            next=next_path,
            values={"email": email},
            errors=errors,
        )
    response = web.redirect(next_path)
    response.set_cookie(
        web.SESSION_COOKIE,
        token,
        max_age=settings.session_hours * 3600,
        httponly=True,
        secure=settings.secure_cookies,
        samesite="lax",
    )
    return response


@post("/sign-out", guards=[web.public], sync_to_thread=True)
def sign_out(request: Request, db_session: NamedDependency[orm.Session]) -> Redirect:
    token = request.cookies.get(web.SESSION_COOKIE)
    if token:
        AccountService(db_session).end_session(token)
        db_session.commit()
    response = web.redirect("/sign-in?signed_out=1")
    response.delete_cookie(web.SESSION_COOKIE)
    return response


@get("/", guards=[web.signed_in], sync_to_thread=False)
def home(request: Request) -> Template:
    user = web.signed_in_user(request)
    return web.page(request, "home.html", is_reader=user.role_enum in {Role.BUSINESS_SUPPORT, Role.BOARD, Role.ADMIN})


ROUTES = [sign_in_form, sign_in, sign_out, home]
