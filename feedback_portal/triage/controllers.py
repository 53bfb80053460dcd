"""The triage pages: the queue (/triage), one item at a time (/triage/{ref}), its actions and bulk actions.

Every action answers with a redirect to the NEXT item of the queue with the same filters (or back to the
queue when none is left) and a confirmation banner, so an officer works through the queue without returning
to the list. The filters travel in the URL (and in a hidden `queue` field on each form).
"""

from __future__ import annotations

import re
import urllib.parse
from typing import Any

from litestar import Request, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, URLEncodedBody
from litestar.response import Redirect, Response, Template
from sqlalchemy import orm

from feedback_portal import web
from feedback_portal.audit import history
from feedback_portal.audit import models as audit
from feedback_portal.db import utcnow
from feedback_portal.errors import ValidationFailed
from feedback_portal.feedback import privacy
from feedback_portal.feedback.models import Feedback
from feedback_portal.feedback.services import submitter_name
from feedback_portal.feedback.vocabulary import FeedbackStatus
from feedback_portal.grouping.services import GroupingService
from feedback_portal.indexing.service import SearchService
from feedback_portal.issues import comments
from feedback_portal.issues.services import TITLE_MAX
from feedback_portal.triage import follow
from feedback_portal.triage.export import (
    FEEDBACK_COLUMNS,
    ISSUE_COLUMNS,
    SupplierExport,
    shareable_text,
    to_csv,
    to_xlsx,
)
from feedback_portal.triage.services import (
    CLASSIFY_FIELDS,
    FILTER_FIELDS,
    REASON_MAX,
    QueueFilters,
    TriageService,
    is_untriaged,
)

_REF = re.compile(r"^(?:FB-\d{6,}|ISS-\d{4,})$")
DONE = {
    "linked": "{ref} linked to {target}.",
    "created": "Issue {target} created from {ref}.",
    "duplicate": "{ref} marked as the same as {target}. The sender's voice has been added to it.",
    "classified": "{ref} updated.",
    "asked": "Question sent to the sender of {ref}. It stays in the queue, marked as being looked at.",
    "not-cms": "{ref} marked as not about the CMS. The sender will see your reason.",
    "redacted": "{ref} redacted: the personal data has been replaced and it is no longer held.",
    "cleared": "Flag cleared on {ref}: it is no longer held.",
}


def _service(request: Request, session: orm.Session) -> TriageService:
    return TriageService(session, target_days=web.settings_of(request).triage_target_days)


def _query_filters(request: Request, service: TriageService) -> tuple[QueueFilters, dict[str, str]]:
    return service.parse_filters({field: request.query_params.get(field, "") for field in FILTER_FIELDS})


def done_message(query: Any) -> str:
    """The confirmation banner after an action, from the redirect's query (only well-formed refs shown)."""
    template = DONE.get(str(query.get("done") or ""))
    ref, target = str(query.get("ref") or ""), str(query.get("target") or "")
    if not template or not _REF.match(ref) or (target and not _REF.match(target)):
        return ""
    return template.format(ref=ref, target=target)


def _next_url(
    service: TriageService, feedback: Feedback, filters: QueueFilters, done: str, target: str = ""
) -> str:
    """Where an action on `feedback` goes: the next item in the queue, or the queue when none is left."""
    service.session.expire_all()
    _, after = service.neighbours(feedback, filters)
    if after == feedback.ref and not is_untriaged(feedback):
        after = None
    query = {**filters.as_query(), "done": done, "ref": feedback.ref or "", "target": target}
    if after is None:
        return "/triage?" + web.query_string(query)
    return f"/triage/{after}?" + web.query_string(query)


# The queue


@get("/triage", guards=[web.triage_only], sync_to_thread=True)
def queue(request: Request, db_session: NamedDependency[orm.Session]) -> Template:
    service = _service(request, db_session)
    filters, errors = _query_filters(request, service)
    return _queue_page(request, service, filters, errors, status_code=400 if errors else 200)


def _queue_page(
    request: Request,
    service: TriageService,
    filters: QueueFilters,
    errors: dict[str, str],
    *,
    status_code: int = 200,
    bulk_errors: dict[str, str] | None = None,
    bulk_values: dict[str, Any] | None = None,
    bulk_message: str = "",
) -> Template:
    try:
        page_number = int(request.query_params.get("page", "1"))
    except ValueError:
        page_number = 1
    results = service.queue(filters, page=page_number)
    return web.fragment_or_page(
        request,
        page_template="triage/queue.html",
        fragment_template="triage/_queue_results.html",
        target="queue-results",
        status_code=status_code,
        results=results,
        filters=filters,
        query=filters.as_query(),
        errors={**errors, **(bulk_errors or {})},
        bulk_values=bulk_values or {},
        bulk_message=bulk_message,
        done_message=done_message(request.query_params),
        target_days=service.target_days,
        vocabularies=service.vocabularies(),
        teams=service.teams(),
        submitter_name=submitter_name,
        active_nav="triage",
    )


@post("/triage/bulk", guards=[web.triage_only], sync_to_thread=True)
def bulk(
    request: Request, data: URLEncodedBody[dict[str, Any]], db_session: NamedDependency[orm.Session]
) -> Template:
    service = _service(request, db_session)
    filters = service.filters_from_string(data.get("queue"))
    everything = str(data.get("scope") or "") == "all"
    try:
        result = service.bulk(
            data.get("bulk_action"),
            data.get("items"),
            web.signed_in_user(request),
            all_matching=filters if everything else None,
            values=data,
        )
    except ValidationFailed as failed:
        values = {key: str(data.get(key) or "") for key in data if key.startswith("bulk_") or key == "scope"}
        selected = data.get("items")
        values["items"] = selected if isinstance(selected, list) else [selected] if selected else []
        return _queue_page(
            request, service, filters, {}, status_code=422, bulk_errors=failed.errors, bulk_values=values
        )
    return _queue_page(request, service, filters, {}, bulk_message=result.message)


# One item


@get("/triage/{ref:str}", guards=[web.triage_only], sync_to_thread=True)
def item(
    request: Request,
    ref: FromPath[str],
    db_session: NamedDependency[orm.Session],
    search_service: NamedDependency[SearchService],
) -> Template:
    service = _service(request, db_session)
    filters, _ = _query_filters(request, service)
    feedback = service.get(ref)
    if feedback.restricted:  # opening safeguarding feedback is audited, as on its own page
        audit.record_view(db_session, web.signed_in_user(request), "feedback", feedback.ref or "")
    return _item_page(request, service, search_service, feedback, filters)


def _item_page(
    request: Request,
    service: TriageService,
    search_service: SearchService,
    feedback: Feedback,
    filters: QueueFilters,
    *,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
    status_code: int = 200,
) -> Template:
    user = web.signed_in_user(request)
    review = feedback.held and bool(feedback.personal_data)
    previous, following = service.neighbours(feedback, filters)
    place, waiting = service.position(feedback, filters)
    suggestions = (
        GroupingService(service.session).suggestions_for(feedback, limit=3) if is_untriaged(feedback) else []
    )
    similar = [
        result
        for result in search_service.similar(
            "\n".join(part for part in (feedback.title, feedback.body) if part),
            limit=6,
            exclude_refs=[feedback.ref],
        )
        if result.feedback is not None
    ][:5]
    queue_query = filters.query_string
    return web.page(
        request,
        "triage/item.html",
        status_code=status_code,
        feedback=feedback,
        entry=service.item_of(feedback),
        untriaged=is_untriaged(feedback),
        previous=previous,
        following=following if following != feedback.ref else None,
        place=place,
        waiting=waiting,
        filters=filters,
        queue_query=queue_query,
        queue_suffix=("?" + queue_query) if queue_query else "",
        return_to=f"/triage/{feedback.ref}" + (("?" + queue_query) if queue_query else ""),
        suggestions=suggestions,
        similar=similar,
        errors=errors or {},
        values={"title": feedback.title or _title_from(feedback.body), **(values or {})},
        done_message=done_message(request.query_params),
        review=review,
        title_segments=privacy.segments(feedback, "title") if review else [],
        body_segments=privacy.segments(feedback, "body") if review else [],
        kind_labels=privacy.KIND_LABELS,
        flag_counts=privacy.kind_counts(feedback.personal_data or []) if review else {},
        review_version=privacy.version(feedback) if review else "",
        privacy_reason_max=privacy.REASON_MAX,
        reason_max=REASON_MAX,
        comment_max=comments.BODY_MAX,
        title_max=TITLE_MAX,
        can_ask=feedback.submitter_id is not None and not feedback.held,
        safeguarding_text=web.settings_of(request).safeguarding_text,
        submitter=submitter_name(feedback, user),
        vocabularies=service.vocabularies(),
        statuses=FeedbackStatus,
        target_days=service.target_days,
        history=history.for_feedback(service.session, feedback, user),
        history_of="feedback",
        active_nav="triage",
    )


def _title_from(body: str) -> str:
    first = " ".join(body.split("\n", 1)[0].split())
    return first if len(first) <= 80 else first[:77].rsplit(" ", 1)[0] + "…"


def _act(
    request: Request,
    ref: str,
    data: dict[str, Any],
    db_session: orm.Session,
    search_service: SearchService,
    action: str,
    fields: tuple[str, ...],
) -> Template | Redirect:
    """Run one action on an item; on bad input show the item again with the message beside the field (422)."""
    service = _service(request, db_session)
    filters = service.filters_from_string(data.get("queue"))
    user = web.signed_in_user(request)
    target = ""
    try:
        if action == "linked":
            target = service.link(ref, data.get("issue"), user).ref or ""
        elif action == "created":
            target = service.create_issue(ref, data.get("title"), data.get("summary"), user).ref or ""
        elif action == "duplicate":
            target = service.mark_duplicate(ref, data.get("target"), user)
        elif action == "classified":
            service.classify(ref, data, user)
        elif action == "asked":
            service.ask(ref, data.get("question"), user)
        elif action == "not-cms":
            service.not_cms(ref, data.get("not_cms_reason"), user)
    except ValidationFailed as failed:
        db_session.rollback()
        db_session.expire_all()
        feedback = service.get(ref)
        values = {field: str(data.get(field) or "") for field in fields}
        return _item_page(
            request,
            service,
            search_service,
            feedback,
            filters,
            errors=failed.errors,
            values=values,
            status_code=422,
        )
    feedback = service.get(ref)
    if action == "classified" and str(data.get("then") or "") == "stay":
        query = {**filters.as_query(), "done": action, "ref": feedback.ref or ""}
        return web.redirect(f"/triage/{feedback.ref}?" + web.query_string(query))
    return web.redirect(_next_url(service, feedback, filters, action, target))


def _action_route(path: str, action: str, fields: tuple[str, ...], doc: str):
    def handler(
        request: Request,
        ref: FromPath[str],
        data: URLEncodedBody[dict[str, Any]],
        db_session: NamedDependency[orm.Session],
        search_service: NamedDependency[SearchService],
    ) -> Template | Redirect:
        return _act(request, ref, data, db_session, search_service, action, fields)

    handler.__doc__ = doc
    handler.__name__ = handler.__qualname__ = "triage_" + action.replace("-", "_")
    return post(
        f"/triage/{{ref:str}}/{path}", guards=[web.triage_only], sync_to_thread=True, name=handler.__name__
    )(handler)


link = _action_route(
    "link", "linked", ("issue",), "Link the feedback to an issue (a suggested one, or by ref)."
)
create = _action_route("create-issue", "created", ("title", "summary"), "Create an issue from the feedback.")
duplicate = _action_route("duplicate", "duplicate", ("target",), "The same as other feedback or an issue.")
classify = _action_route(
    "classify", "classified", CLASSIFY_FIELDS, "Set the part of the CMS, kind and impact."
)
ask = _action_route("ask", "asked", ("question",), "Ask the sender a question (a public reply).")
not_cms = _action_route("not-cms", "not-cms", ("not_cms_reason",), "Not about the CMS, with the reason.")


def review_error_page(
    request: Request, session: orm.Session, back: str, errors: dict[str, str], reason: str
) -> Template:
    """Clearing a flag from a triage item failed (no reason given): show that item again, the message beside
    the reason box, its queue's filters kept."""
    service = _service(request, session)
    parsed = urllib.parse.urlsplit(back)
    filters = service.filters_from_string(parsed.query)
    feedback = service.get(parsed.path.rsplit("/", 1)[-1])
    search_service = SearchService(session, request.app.state.index_store)
    return _item_page(
        request,
        service,
        search_service,
        feedback,
        filters,
        errors=errors,
        values={"reason": reason},
        status_code=422,
    )


def safe_return(value: object) -> str | None:
    """A triage page to come back to after redacting or clearing a flag (only /triage/… paths)."""
    path = web.safe_next(str(value or ""), "")
    if not path.startswith("/triage/"):
        return None
    parsed = urllib.parse.urlsplit(path)
    return parsed.path + (("?" + parsed.query) if parsed.query else "")


# The supplier export (from /issues, with its filters)


def _export(request: Request, db_session: orm.Session, fmt: str) -> Response[bytes]:
    status = str(request.query_params.get("status") or "")
    module = str(request.query_params.get("module") or "")
    part = str(request.query_params.get("part") or "issues")
    if part not in {"issues", "feedback"}:
        raise ValidationFailed(
            {"part": "Choose issues or feedback"}, message="Choose to download issues or feedback."
        )
    exporter = SupplierExport(db_session)
    issues = exporter.issues(status, module)
    issue_rows, feedback_rows = exporter.rows(issues)
    exporter.record(
        web.signed_in_user(request), fmt, {"status": status, "module": module, "part": part}, len(issues)
    )
    stamp = utcnow().strftime("%Y-%m-%d")
    if fmt == "csv":
        if part == "feedback":
            body, name = to_csv(feedback_rows, FEEDBACK_COLUMNS), f"issue-feedback-{stamp}.csv"
        else:
            body, name = to_csv(issue_rows, ISSUE_COLUMNS), f"issues-{stamp}.csv"
        media = "text/csv; charset=utf-8"
    else:
        body, name = to_xlsx(issue_rows, feedback_rows), f"issues-{stamp}.xlsx"
        media = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    return Response(
        body,
        media_type=media,
        headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff",
        },
    )


@get("/issues/export.csv", guards=[web.feedback_readers], sync_to_thread=True)
def export_csv(request: Request, db_session: NamedDependency[orm.Session]) -> Response[bytes]:
    """Issues (or, with part=feedback, their linked feedback) as CSV, with the /issues filters."""
    return _export(request, db_session, "csv")


@get("/issues/export.xlsx", guards=[web.feedback_readers], sync_to_thread=True)
def export_xlsx(request: Request, db_session: NamedDependency[orm.Session]) -> Response[bytes]:
    """Issues and their linked feedback as an Excel workbook, with the /issues filters."""
    return _export(request, db_session, "xlsx")


# The private follow link of anonymous feedback


@get("/follow/{token:str}", guards=[web.public], sync_to_thread=True)
def follow_page(request: Request, token: FromPath[str], db_session: NamedDependency[orm.Session]) -> Template:
    """What became of anonymous feedback, for whoever holds its private link: no identity on it at all."""
    feedback = follow.find(db_session, token)
    title, body = shareable_text(feedback)
    response = web.page(
        request,
        "follow/feedback.html",
        feedback=feedback,
        title=title,
        body=body,
        replies=[
            comment for comment in feedback.comments if comment.visibility == comments.Visibility.PUBLIC
        ],
        issue=feedback.issue,
        statuses=FeedbackStatus,
        vocabularies=TriageService(db_session).vocabularies(),
    )
    # The token is in this page's URL: never sent on as a Referer, never cached or indexed.
    response.headers.update(
        {"Referrer-Policy": "no-referrer", "Cache-Control": "no-store", "X-Robots-Tag": "noindex"}
    )
    return response


ROUTES = [
    queue,
    bulk,
    item,
    link,
    create,
    duplicate,
    classify,
    ask,
    not_cms,
    export_csv,
    export_xlsx,
    follow_page,
]
