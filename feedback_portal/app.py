"""create_app(settings) -> Litestar: plugins, templates, routes and the one place errors become responses."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import jinja2
from litestar import Litestar, MediaType, Request, Response, Router, get
from litestar.config.csrf import CSRFConfig
from litestar.di import NamedDependency, Provide
from litestar.exceptions import (
    HTTPException,
    NotAuthorizedException,
    PermissionDeniedException,
    ValidationException,
)
from litestar.openapi import OpenAPIConfig
from litestar.plugins.htmx import HTMXPlugin
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.response import Redirect, Template
from litestar.static_files import create_static_files_router
from litestar.template import TemplateConfig
from sqlalchemy import orm

from feedback_portal import admin, db, models, web  # noqa: F401  (models registers every mapper and the change log)
from feedback_portal.accounts import controllers as account_controllers
from feedback_portal.accounts.middleware import IdentifyUser
from feedback_portal.errors import DomainError, TooManyAttempts, ValidationFailed
from feedback_portal.feedback import admin_controllers as feedback_admin_controllers
from feedback_portal.feedback import api as feedback_api
from feedback_portal.feedback import controllers as feedback_controllers
from feedback_portal.feedback.services import FeedbackService
from feedback_portal.grouping import controllers as grouping_controllers
from feedback_portal.indexing import controllers as synonym_controllers
from feedback_portal.search import api as search_api
from feedback_portal.search import controllers as search_controllers
from feedback_portal.issues import api as issue_api
from feedback_portal.issues import controllers as issue_controllers
from feedback_portal.meetings import api as meeting_api
from feedback_portal.meetings import controllers as meeting_controllers
from feedback_portal.insight import controllers as insight_controllers
from feedback_portal.indexing.indexer import BackgroundIndexer, Indexer, IndexStore
from feedback_portal.indexing.service import SearchService
from feedback_portal.notifications import controllers as notification_controllers
from feedback_portal.notifications.mailer import BackgroundMailer, OutboxSender
from feedback_portal.notifications.services import SETTINGS_KEY
from feedback_portal.settings import Settings
from feedback_portal.triage import admin_controllers as triage_admin_controllers
from feedback_portal.triage import admin_settings
from feedback_portal.triage import controllers as triage_controllers

ROOT = Path(__file__).resolve().parent.parent
TEMPLATES_DIR = ROOT / "templates"
STATIC_DIR = ROOT / "static"
CSRF_COOKIE = "fp_csrf"
log = logging.getLogger("feedback_portal")


def create_app(settings: Settings) -> Litestar:
    engine = db.make_engine(settings.database_url)
    session_factory = db.make_session_factory(engine)
    # Services that run inside a caller's transaction (notify_contributors) find the settings here.
    session_factory.configure(info={SETTINGS_KEY: settings})

    def provide_db_session() -> Iterator[orm.Session]:
        with session_factory() as session:
            yield session

    def provide_feedback_service(db_session: NamedDependency[orm.Session]) -> FeedbackService:
        return FeedbackService(
            db_session,
            uploads_dir=settings.uploads_dir,
            upload_max_bytes=settings.upload_max_bytes,
            upload_max_files=settings.upload_max_files,
            # The admin's extra patterns and words (/admin/privacy), cached on their version.
            detector_config=admin_settings.detector_config(db_session),
        )

    index_store = IndexStore(settings.index_dir)
    indexer = Indexer(session_factory, index_store)
    background = BackgroundIndexer(indexer)

    def provide_search_service(db_session: NamedDependency[orm.Session]) -> SearchService:
        return SearchService(db_session, index_store)

    def start_indexer() -> None:
        if settings.background_indexer:
            background.start()

    def stop_indexer() -> None:
        background.stop()
        index_store.close()

    # Every worker sends the email outbox; a row claim makes sure each email is sent by one of them.
    mailer = BackgroundMailer(OutboxSender(session_factory, settings))

    def start_mailer() -> None:
        if settings.background_mailer and settings.smtp_configured:
            mailer.start()

    def stop_mailer() -> None:
        mailer.stop()

    def dispose_engine() -> None:
        engine.dispose()

    def wake_mailer_after_writes(request: Request) -> None:
        # The search indexer is not woken per write: its 0.5 s poll indexes a burst of submissions in
        # one commit (a Whoosh commit per submission cost more than the submission itself).
        if request.method not in {"GET", "HEAD", "OPTIONS"}:
            mailer.wake()  # a write may have queued emails (notify_contributors)

    app = Litestar(
        route_handlers=[
            create_static_files_router(path="/static", directories=[STATIC_DIR], include_in_schema=False),
            # One router, so handlers sharing a path are registered together: Litestar 2.25 registers an
            # earlier handler of a path again when a later one joins it, wrapping sync_to_thread twice.
            Router(
                path="/",
                route_handlers=[
                    healthz,
                    *account_controllers.ROUTES,
                    *feedback_controllers.ROUTES,
                    *feedback_api.ROUTES,
                    *feedback_admin_controllers.ROUTES,
                    *issue_controllers.ROUTES,
                    *issue_api.ROUTES,
                    *search_controllers.ROUTES,
                    *search_api.ROUTES,
                    *grouping_controllers.ROUTES,
                    *synonym_controllers.ROUTES,
                    *notification_controllers.ROUTES,
                    *admin.ROUTES,
                    *meeting_controllers.ROUTES,
                    *meeting_api.ROUTES,
                    *triage_controllers.ROUTES,
                    *triage_admin_controllers.ROUTES,
                    *insight_controllers.ROUTES,
                ],
            ),
        ],
        dependencies={
            "db_session": Provide(provide_db_session),
            "feedback_service": Provide(provide_feedback_service, sync_to_thread=False),
            "search_service": Provide(provide_search_service, sync_to_thread=False),
        },
        middleware=[IdentifyUser()],
        csrf_config=CSRFConfig(
            secret=settings.secret_key,
            cookie_name=CSRF_COOKIE,
            cookie_secure=settings.secure_cookies,
            cookie_samesite="lax",
            header_name="x-csrftoken",
            exclude=["/api/"],
        ),
        template_config=TemplateConfig(
            engine=JinjaTemplateEngine.from_environment(_jinja_environment(debug=settings.debug))
        ),
        plugins=[HTMXPlugin()],
        openapi_config=OpenAPIConfig(
            title="Feedback Portal API",
            version="1",
            path="/schema",
            description="Feedback about the case management system. Authenticate with `Authorization: Bearer <token>` "
            "(get one with `feedback-portal users token EMAIL`).",
        ),
        exception_handlers={
            DomainError: _domain_error,
            HTTPException: _http_error,
            Exception: _unexpected_error,
        },
        request_max_body_size=settings.upload_max_files * settings.upload_max_bytes + 2 * 1024 * 1024,
        after_response=wake_mailer_after_writes,
        on_startup=[start_indexer, start_mailer],
        on_shutdown=[stop_indexer, stop_mailer, dispose_engine],
        debug=settings.debug,
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.session_factory = session_factory
    app.state.index_store = index_store
    app.state.indexer = indexer
    app.state.background_indexer = background
    app.state.background_mailer = mailer
    return app


def create_app_from_env() -> Litestar:
    """The factory uvicorn workers import: settings come from FEEDBACK_PORTAL_* variables."""
    return create_app(Settings.from_env())


@get("/healthz", guards=[web.public], sync_to_thread=False, media_type=MediaType.JSON)
def healthz(request: Request) -> dict[str, str]:
    with web.session_factory_of(request)() as session:
        session.execute(db.sa.text("SELECT 1"))
    return {"status": "ok"}


def _jinja_environment(*, debug: bool) -> jinja2.Environment:
    environment = jinja2.Environment(
        loader=jinja2.ChoiceLoader(
            [
                jinja2.FileSystemLoader(TEMPLATES_DIR),
                jinja2.PrefixLoader({"govuk_frontend_jinja": jinja2.PackageLoader("govuk_frontend_jinja")}),
            ]
        ),
        autoescape=True,
        # govuk-frontend-jinja's macros expect chainable undefined values, as in Nunjucks.
        undefined=jinja2.ChainableUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        # Templates change only on deploy; checking their files on every render costs time.
        auto_reload=debug,
    )
    environment.filters["date"] = _format_date
    environment.filters["datetime"] = _format_datetime
    environment.filters["urlencode_query"] = web.query_string
    environment.filters["with_param"] = web.with_param
    environment.globals["page_numbers"] = web.page_numbers
    environment.globals["unread_notifications"] = notification_controllers.unread_notifications
    meeting_controllers.register_template_globals(environment)  # your_actions, meeting_discussions
    return environment


def _format_date(value) -> str:  # noqa: ANN001
    return value.strftime("%-d %B %Y") if value else ""


def _format_datetime(value) -> str:  # noqa: ANN001
    return value.astimezone().strftime("%-d %B %Y at %-I:%M%p").replace("AM", "am").replace("PM", "pm") if value else ""


def _wants_json(request: Request) -> bool:
    return request.url.path.startswith("/api/") or request.url.path == "/healthz"


def _error_page(request: Request, status_code: int, title: str, message: str, **extra) -> Template:  # noqa: ANN003
    return web.page(
        request, "errors/error.html", status_code=status_code, title=title, message=message, **extra
    )


def _domain_error(request: Request, error: DomainError) -> Response:
    if _wants_json(request):
        content: dict[str, object] = {"status_code": error.status_code, "detail": error.message}
        if isinstance(error, ValidationFailed):
            content["errors"] = error.errors
        headers = {}
        if isinstance(error, TooManyAttempts):
            headers["Retry-After"] = str(error.retry_after_seconds)
        return Response(content, status_code=error.status_code, headers=headers)
    titles = {404: "Page not found", 403: "You do not have access to this page", 409: "Someone else changed this"}
    return _error_page(request, error.status_code, titles.get(error.status_code, "There is a problem"), error.message)


def _http_error(request: Request, error: HTTPException) -> Response:
    status = error.status_code
    if _wants_json(request):
        content: dict[str, object] = {"status_code": status, "detail": error.detail}
        if isinstance(error, ValidationException) and error.extra:
            content["errors"] = error.extra
        return Response(content, status_code=status, headers=error.headers)
    if isinstance(error, NotAuthorizedException):
        if request.method == "GET":
            return Redirect(path="/sign-in?" + web.query_string({"next": str(request.url.path) + (
                "?" + request.url.query if request.url.query else "")}), status_code=303)
        return _error_page(
            request, 401, "You have been signed out",
            "Your session has ended, so what you sent was not saved. Sign in again, then go back and send it again.",
            sign_in_link=True,
        )
    if isinstance(error, PermissionDeniedException) and "CSRF" in str(error.detail):
        return _error_page(
            request, 403, "This form has expired",
            "For your security the form could not be accepted, and nothing was saved. "
            "Go back, refresh the page and try again.",
        )
    messages = {
        400: ("There is a problem with the request", "The request could not be understood. Go back and try again."),
        403: ("You do not have access to this page", "Your role does not give you access to this page."),
        404: ("Page not found", "If you typed the web address, check it is correct."),
        405: ("Page not found", "That page cannot be used in this way."),
        413: (
            "What you sent is too large",
            "Screenshots must be PNG or JPEG files of up to 10 MB each, and no more than 3. "
            "Nothing was saved: go back and choose smaller files.",
        ),
        429: ("Too many requests", "Wait a few minutes and try again."),
    }
    title, message = messages.get(status, ("Sorry, there is a problem", str(error.detail)))
    return _error_page(request, status, title, message)


def _unexpected_error(request: Request, error: Exception) -> Response:
    log.exception("Unhandled error on %s %s", request.method, request.url.path)
    if _wants_json(request):
        return Response({"status_code": 500, "detail": "Internal server error"}, status_code=500)
    return _error_page(
        request, 500, "Sorry, there is a problem with the service",
        "Try again later. If you were sending feedback, check My feedback before sending it again.",
    )
