"""Admin pages for feedback: importing old spreadsheets (the upload twin of `feedback-portal import`)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

from litestar import Request, get, post
from litestar.datastructures import UploadFile
from litestar.di import NamedDependency
from litestar.exceptions import HTTPException
from litestar.params import FromQuery, MultipartBody
from litestar.response import Redirect, Template
from sqlalchemy import orm

from feedback_portal import web
from feedback_portal.accounts.models import Role
from feedback_portal.audit.models import AuditEvent
from feedback_portal.errors import ImportFailed, RowError
from feedback_portal.feedback import importing
from feedback_portal.feedback.services import BODY_MAX, TITLE_MAX

IMPORT_PAGE = "admin/import.html"
# The error summary lists this many problems, then says how many more there are.
PROBLEMS_SHOWN = 50
# The upload may be as big as the importer accepts, plus room for the rest of the form.
IMPORT_REQUEST_MAX_BYTES = importing.MAX_FILE_BYTES + 1024 * 1024
MAX_MEGABYTES = importing.MAX_FILE_BYTES // (1024 * 1024)


def _import_page(
    request: Request,
    *,
    status_code: int = 200,
    problems: Sequence[RowError] = (),
    message: str = "",
    summary: dict[str, Any] | None = None,
    show_form: bool = True,
) -> Template:
    return web.page(
        request,
        IMPORT_PAGE,
        status_code=status_code,
        errors={"file": message} if message else {},
        problems=[str(problem) for problem in problems[:PROBLEMS_SHOWN]],
        problem_count=len(problems),
        more_problems=max(0, len(problems) - PROBLEMS_SHOWN),
        summary=summary,
        show_form=show_form,
        max_megabytes=MAX_MEGABYTES,
        max_rows=importing.MAX_ROWS,
        required_columns=importing.REQUIRED_COLUMNS,
        title_max=TITLE_MAX,
        body_max=BODY_MAX,
    )


@get("/admin/import", guards=[web.admin_only], sync_to_thread=True)
def import_form(
    request: Request, db_session: NamedDependency[orm.Session], result: FromQuery[str] = ""
) -> Template:
    summary = None
    if result.isdigit():
        event = db_session.get(AuditEvent, int(result))
        if event is not None and event.action == "feedback.imported":
            summary = event.after
    return _import_page(request, summary=summary)


def _request_too_large(request: Request, error: HTTPException) -> Template:
    # Litestar refuses the body before the guard runs: only admins may learn about the import page.
    user = web.current_user(request)
    if user is None or user.role_enum != Role.ADMIN:
        return web.page(
            request,
            "errors/error.html",
            status_code=403,
            title="You do not have access to this page",
            message="Your role does not give you access to this page.",
        )
    # The body was refused before the CSRF check ran, so this page has no token for a form: it links back
    # to the import page instead of showing the upload form again.
    return _import_page(
        request,
        status_code=error.status_code,
        show_form=False,
        message=(
            f"The file is too big to upload: files to import must be {MAX_MEGABYTES} MB or smaller. "
            "Nothing was imported. Split it into smaller files and import each one."
        ),
    )


@post(
    "/admin/import",
    guards=[web.admin_only],
    sync_to_thread=True,
    request_max_body_size=IMPORT_REQUEST_MAX_BYTES,
    exception_handlers={413: _request_too_large},
)
def import_upload(
    request: Request, data: MultipartBody[dict[str, Any]], db_session: NamedDependency[orm.Session]
) -> Template | Redirect:
    upload = data.get("file")
    if isinstance(upload, list):
        upload = upload[0] if upload else None
    if not isinstance(upload, UploadFile) or not upload.filename:
        return _import_page(request, status_code=422, message="Choose a .csv or .xlsx file to import")
    filename = os.path.basename(upload.filename.replace("\\", "/"))
    try:
        upload.file.seek(0, os.SEEK_END)
        importing.check_size(upload.file.tell(), filename)
        upload.file.seek(0)
        rows = importing.read_rows(upload.file.read(), filename)
        try:
            summary = importing.ImportService(db_session).import_rows(
                rows, actor_id=web.signed_in_user(request).id, source=filename
            )
        finally:
            rows.close()
    except ImportFailed as failed:
        if len(failed.problems) == 1 and failed.problems[0].line is None:
            return _import_page(request, status_code=422, message=failed.problems[0].message)
        count = len(failed.problems)
        return _import_page(
            request,
            status_code=422,
            problems=failed.problems,
            message=(
                f"Nothing was imported: {filename} has {count:,} problem{'s' if count != 1 else ''} to fix, "
                "listed above. Fix them and upload the file again."
            ),
        )
    return web.redirect("/admin/import?" + web.query_string({"result": summary.audit_event_id}))


ROUTES = [import_form, import_upload]
