"""Pages for giving feedback, the confirmation, My feedback, and the business support list and detail."""

from __future__ import annotations

import secrets
from typing import Any

from litestar import Request, get, post
from litestar.datastructures import UploadFile
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, MultipartBody
from litestar.response import File, Redirect, Template

from feedback_portal import web
from feedback_portal.audit import history
from feedback_portal.audit import models as audit
from feedback_portal.errors import ValidationFailed
from feedback_portal.feedback.services import (
    BODY_MAX,
    TITLE_MAX,
    FeedbackService,
    Upload,
    submitter_name,
)
from feedback_portal.feedback.vocabulary import Anonymity, FeedbackStatus
from feedback_portal.issues import comments

FORM_FIELDS = ("title", "body", "module", "kind", "impact", "frequency", "team", "anonymity")


def _form_page(
    request: Request,
    service: FeedbackService,
    *,
    values: dict[str, str],
    errors: dict[str, str],
    idempotency_key: str,
    status_code: int = 200,
) -> Template:
    return web.page(
        request,
        "feedback/new.html",
        status_code=status_code,
        values=values,
        errors=errors,
        idempotency_key=idempotency_key,
        vocabularies=service.vocabularies(),
        teams=service.teams(),
        anonymity_options=list(Anonymity),
        title_max=TITLE_MAX,
        body_max=BODY_MAX,
    )


@get("/feedback/new", guards=[web.signed_in], sync_to_thread=True)
def give_feedback_form(request: Request, feedback_service: NamedDependency[FeedbackService]) -> Template:
    user = web.signed_in_user(request)
    values = {"team": user.team.slug if user.team else "", "anonymity": Anonymity.NAMED.value}
    return _form_page(
        request, feedback_service, values=values, errors={}, idempotency_key=secrets.token_urlsafe(24)
    )


def _uploads(value: Any) -> list[Upload]:
    files = value if isinstance(value, list) else [value] if value is not None else []
    uploads = []
    for item in files:
        if isinstance(item, UploadFile):
            uploads.append(Upload(filename=item.filename or "", data=item.file.read()))
    return uploads


@post("/feedback/new", guards=[web.signed_in], sync_to_thread=True)
def give_feedback(
    request: Request,
    data: MultipartBody[dict[str, Any]],
    feedback_service: NamedDependency[FeedbackService],
) -> Template | Redirect:
    user = web.signed_in_user(request)
    key = str(data.get("idempotency_key") or "") or secrets.token_urlsafe(24)
    try:
        feedback_service.submit(
            data, submitter=user, uploads=_uploads(data.get("screenshots")), idempotency_key=key
        )
    except ValidationFailed as failed:
        return _form_page(
            request,
            feedback_service,
            values=web.form_values(data, FORM_FIELDS),
            errors=failed.errors,
            idempotency_key=key,
            status_code=422,
        )
    return web.redirect("/feedback/thanks?" + web.query_string({"receipt": key}))


@get("/feedback/thanks", guards=[web.signed_in], sync_to_thread=True)
def feedback_thanks(
    request: Request, feedback_service: NamedDependency[FeedbackService], receipt: FromQuery[str] = ""
) -> Template:
    feedback = feedback_service.receipt(receipt, web.signed_in_user(request))
    return web.page(request, "feedback/thanks.html", feedback=feedback)


@get("/my-feedback", guards=[web.signed_in], sync_to_thread=True)
def my_feedback(request: Request, feedback_service: NamedDependency[FeedbackService]) -> Template:
    items = feedback_service.mine(web.signed_in_user(request))
    return web.page(
        request,
        "feedback/mine.html",
        items=items,
        vocabularies=feedback_service.vocabularies(),
        statuses=FeedbackStatus,
    )


@get("/feedback", guards=[web.feedback_readers], sync_to_thread=True)
def feedback_list(request: Request, feedback_service: NamedDependency[FeedbackService]) -> Template:
    query = {key: request.query_params.get(key, "") for key in ("module", "kind", "impact", "team", "from", "to")}
    filters, errors = feedback_service.parse_filters(query)
    try:
        page_number = int(request.query_params.get("page", "1"))
    except ValueError:
        page_number = 1
    results = feedback_service.list(filters, page=page_number)
    return web.fragment_or_page(
        request,
        page_template="feedback/list.html",
        fragment_template="feedback/_results.html",
        target="results",
        results=results,
        filters=filters,
        query=query,
        errors=errors,
        vocabularies=feedback_service.vocabularies(),
        teams=feedback_service.teams(),
        submitter_name=submitter_name,
        statuses=FeedbackStatus,
        status_code=400 if errors else 200,
    )


@get("/feedback/{ref:str}", guards=[web.signed_in], sync_to_thread=True)
def feedback_detail(request: Request, ref: FromPath[str], feedback_service: NamedDependency[FeedbackService]) -> Template:
    user = web.signed_in_user(request)
    feedback = feedback_service.get(ref, user)
    if getattr(feedback, "restricted", False):  # no such attribute yet: when there is, opening it is audited
        audit.record_view(feedback_service.session, user, "feedback", feedback.ref or "")
    readers = comments.can_see_internal(user)
    return web.page(
        request,
        "feedback/detail.html",
        feedback=feedback,
        submitter=submitter_name(feedback, user),
        vocabularies=feedback_service.vocabularies(),
        statuses=FeedbackStatus,
        can_see_screenshots=user.is_triage or feedback.submitter_id == user.id,
        # Notes and replies, and the history: see issues/comments.py and audit/history.py.
        comment_list=comments.visible_to(feedback.comments, user),
        can_note=comments.can_write(user, comments.Visibility.INTERNAL),
        can_reply=comments.can_write(user, comments.Visibility.PUBLIC),
        comment_max=comments.BODY_MAX,
        history=history.for_feedback(feedback_service.session, feedback, user) if readers else [],
        history_of="feedback",
    )


@get("/attachments/{attachment_id:int}", guards=[web.signed_in], sync_to_thread=True)
def attachment(request: Request, attachment_id: FromPath[int], feedback_service: NamedDependency[FeedbackService]) -> File:
    item, path = feedback_service.attachment(attachment_id, web.signed_in_user(request))
    return File(
        path=path,
        filename=item.filename,
        media_type=item.content_type,
        content_disposition_type="inline",
        headers={"Cache-Control": "private, max-age=3600", "X-Content-Type-Options": "nosniff"},
    )


ROUTES = [give_feedback, give_feedback_form, feedback_thanks, my_feedback, feedback_list, feedback_detail, attachment]
