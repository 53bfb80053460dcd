"""Pages for giving feedback, the confirmation, My feedback, and the business support list and detail."""

from __future__ import annotations

import secrets
from typing import Any

from litestar import Request, get, post
from litestar.datastructures import UploadFile
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, MultipartBody, URLEncodedBody
from litestar.response import File, Redirect, Response, Template

from feedback_portal import web
from feedback_portal.audit import history
from feedback_portal.audit import models as audit
from feedback_portal.errors import ValidationFailed
from feedback_portal.feedback import privacy
from feedback_portal.feedback.models import Feedback
from feedback_portal.feedback.services import (
    BODY_MAX,
    TITLE_MAX,
    FeedbackService,
    Upload,
    clean_text,
    submitter_name,
)
from feedback_portal.feedback.vocabulary import Anonymity, FeedbackStatus
from feedback_portal.issues import comments
from feedback_portal.privacy import describes_live_risk, detect, warning_message
from feedback_portal.triage import follow

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
    title, body = clean_field(values.get("title")), clean_field(values.get("body"))
    message, live_risk = _privacy_warning(service, title, body) if title or body else (None, False)
    return web.page(
        request,
        "feedback/new.html",
        status_code=status_code,
        privacy_message=message,
        live_risk=live_risk,
        safeguarding_text=web.settings_of(request).safeguarding_text,
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
        feedback = feedback_service.submit(
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
    response = web.redirect("/feedback/thanks?" + web.query_string({"receipt": key}))
    token = getattr(feedback, "follow_token", None)
    if token:  # anonymous: the private follow link, shown once on the confirmation (see triage/follow.py)
        settings = web.settings_of(request)
        response.set_cookie(
            follow.COOKIE,
            follow.cookie_value(settings.secret_key, key, token),
            path=follow.COOKIE_PATH,
            max_age=follow.COOKIE_SECONDS,
            httponly=True,
            secure=settings.secure_cookies,
            samesite="strict",
        )
    return response


@get("/feedback/thanks", guards=[web.signed_in], sync_to_thread=True)
def feedback_thanks(
    request: Request, feedback_service: NamedDependency[FeedbackService], receipt: FromQuery[str] = ""
) -> Template:
    feedback = feedback_service.receipt(receipt, web.signed_in_user(request))
    settings = web.settings_of(request)
    token = follow.token_from_cookie(settings.secret_key, receipt, request.cookies.get(follow.COOKIE))
    response = web.page(
        request,
        "feedback/thanks.html",
        feedback=feedback,
        safeguarding_text=settings.safeguarding_text,
        follow_url=str(request.base_url).rstrip("/") + follow.path(token) if token else None,
    )
    if token:  # shown once: the cookie goes now, and the page is not kept for the back button
        response.delete_cookie(follow.COOKIE, path=follow.COOKIE_PATH)
        response.headers["Cache-Control"] = "no-store"
    return response


@post("/feedback/privacy-check", guards=[web.signed_in], sync_to_thread=True, status_code=200)
def privacy_check(
    request: Request, data: URLEncodedBody[dict[str, Any]], feedback_service: NamedDependency[FeedbackService]
) -> Template | Response[str]:
    """The inline warning as someone types: personal data found, or a live risk to a child. Empty when neither."""
    message, live_risk = _privacy_warning(feedback_service, clean_field(data.get("title")), clean_field(data.get("body")))
    if not message and not live_risk:
        return Response("", media_type="text/html")
    return web.page(
        request,
        "feedback/_privacy_warning.html",
        message=message,
        live_risk=live_risk,
        safeguarding_text=web.settings_of(request).safeguarding_text,
    )


def _privacy_warning(service: FeedbackService, title: str, body: str) -> tuple[str | None, bool]:
    """The warning for what may identify someone (or None), and whether the text reads like a live risk."""
    title, body = title[:TITLE_MAX], body[:BODY_MAX]
    config = service.detector_config
    message = warning_message(detect(title, config=config) + detect(body, config=config))
    text = "\n".join(part for part in (title, body) if part)
    phrases = config.all_safeguarding_phrases if config else None
    live_risk = bool(describes_live_risk(text, phrases) if phrases else describes_live_risk(text))
    return message, live_risk


def clean_field(value: object) -> str:
    return clean_text(value if isinstance(value, str) else "")


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
    viewer = web.signed_in_user(request)
    results = feedback_service.list(filters, page=page_number, include_restricted=viewer.is_triage)
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
    if feedback.restricted:  # opening safeguarding feedback is audited
        audit.record_view(feedback_service.session, user, "feedback", feedback.ref or "")
    done = request.query_params.get("done", "")
    return _detail_page(request, feedback_service, feedback, done=done if done in DONE else "")


DONE = {
    "redacted": "Redacted. The personal data has been replaced and the feedback is no longer held.",
    "cleared": "Flag cleared. The feedback is no longer held.",
}


def _detail_page(
    request: Request,
    feedback_service: FeedbackService,
    feedback: Feedback,
    *,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
    done: str = "",
    status_code: int = 200,
) -> Template:
    user = web.signed_in_user(request)
    readers = comments.can_see_internal(user)
    review = user.is_triage and feedback.held and bool(feedback.personal_data)
    return web.page(
        request,
        "feedback/detail.html",
        status_code=status_code,
        errors=errors or {},
        values=values or {},
        done_message=DONE.get(done, ""),
        # Held feedback: business support see the flagged pieces highlighted, and can redact or clear the flag.
        review=review,
        title_segments=privacy.segments(feedback, "title") if review else [],
        body_segments=privacy.segments(feedback, "body") if review else [],
        kind_labels=privacy.KIND_LABELS,
        flag_counts=privacy.kind_counts(feedback.personal_data or []) if review else {},
        review_version=privacy.version(feedback) if review else "",
        reason_max=privacy.REASON_MAX,
        show_original=user.role == "admin" and feedback.original_body is not None,
        safeguarding_text=web.settings_of(request).safeguarding_text,
        feedback=feedback,
        submitter=submitter_name(feedback, user),
        vocabularies=feedback_service.vocabularies(),
        statuses=FeedbackStatus,
        can_see_screenshots=user.is_triage or feedback.submitter_id == user.id,
        # Notes and replies, and the history: see issues/comments.py and audit/history.py.
        comment_list=comments.visible_to(feedback.comments, user),
        can_note=comments.can_write(user, comments.Visibility.INTERNAL),
        # No public reply while the feedback is held: a reply could repeat what may identify someone.
        can_reply=comments.can_write(user, comments.Visibility.PUBLIC) and not feedback.held,
        comment_max=comments.BODY_MAX,
        history=history.for_feedback(feedback_service.session, feedback, user) if readers else [],
        history_of="feedback",
    )


def _review(request: Request, feedback_service: FeedbackService) -> privacy.PrivacyReview:
    return privacy.PrivacyReview(
        feedback_service.session, original_text_days=web.settings_of(request).original_text_days
    )


@post("/feedback/{ref:str}/redact", guards=[web.triage_only], sync_to_thread=True)
def redact_feedback(
    request: Request,
    ref: FromPath[str],
    data: URLEncodedBody[dict[str, Any]],
    feedback_service: NamedDependency[FeedbackService],
) -> Redirect:
    feedback = _review(request, feedback_service).redact(
        ref, web.signed_in_user(request), str(data.get("version") or "")
    )
    return web.redirect(_after_review(data, feedback, "redacted"))


@post("/feedback/{ref:str}/clear-flag", guards=[web.triage_only], sync_to_thread=True)
def clear_flag(
    request: Request,
    ref: FromPath[str],
    data: URLEncodedBody[dict[str, Any]],
    feedback_service: NamedDependency[FeedbackService],
) -> Template | Redirect:
    user = web.signed_in_user(request)
    try:
        feedback = _review(request, feedback_service).clear(
            ref, user, data.get("reason"), str(data.get("version") or "")
        )
    except ValidationFailed as failed:
        from feedback_portal.triage.controllers import review_error_page, safe_return

        back = safe_return(data.get("return_to"))
        if back:  # started from a triage item: show it again, with the message beside the reason
            reason = str(data.get("reason") or "")
            return review_error_page(request, feedback_service.session, back, failed.errors, reason)
        feedback = feedback_service.get(ref, user)
        return _detail_page(
            request,
            feedback_service,
            feedback,
            errors=failed.errors,
            values={"reason": str(data.get("reason") or "")},
            status_code=422,
        )
    return web.redirect(_after_review(data, feedback, "cleared"))


def _after_review(data: dict[str, Any], feedback: Feedback, done: str) -> str:
    """Back to the triage item the review was started from (its queue filters kept), else the feedback page."""
    from feedback_portal.triage.controllers import safe_return

    back = safe_return(data.get("return_to"))
    if back:
        return back + ("&" if "?" in back else "?") + web.query_string({"done": done, "ref": feedback.ref})
    return f"/feedback/{feedback.ref}?done={done}"


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


ROUTES = [
    give_feedback,
    give_feedback_form,
    feedback_thanks,
    privacy_check,
    my_feedback,
    feedback_list,
    feedback_detail,
    redact_feedback,
    clear_flag,
    attachment,
]
