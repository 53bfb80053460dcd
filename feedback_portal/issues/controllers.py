"""Pages for issues: the list, one issue and its evidence, grouping, merging, editing, and "me too"."""

from __future__ import annotations

import re
from typing import Any

from litestar import Request, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, URLEncodedBody
from litestar.response import Redirect, Template
from sqlalchemy import orm

from feedback_portal import web
from feedback_portal.accounts.models import Role, User
from feedback_portal.audit import history
from feedback_portal.errors import Conflict, Forbidden, NotFound, ValidationFailed
from feedback_portal.feedback.services import submitter_name
from feedback_portal.issues import comments
from feedback_portal.issues.comments import CommentService, Visibility
from feedback_portal.issues.models import Issue, IssueStatus, Severity
from feedback_portal.issues.services import (
    CHANGEABLE_FIELDS,
    SUMMARY_MAX,
    TITLE_MAX,
    IssueService,
    next_statuses,
)

NOTICES = {
    "created": "Issue created",
    "linked": "Feedback added to this issue",
    "unlinked": "Feedback removed from this issue. It is back in the list as received, unchanged.",
    "merged": "Issue merged into this one",
    "unmerged": "Merge undone: everything the merge moved is back on this issue",
    "saved": "Changes saved",
    "noted": "Internal note added",
    "replied": "Public reply added. The staff whose feedback is in this issue can read it.",
}
_MOVED = re.compile(r"^(FB-\d{6,}):(ISS-\d{4,})$")


def _moved_notes(moved: str) -> list[tuple[str, str]]:
    """Which feedback was moved here from another issue, from the redirect's query (only well-formed refs)."""
    pairs = (_MOVED.match(item) for item in moved.split(",")[:50])
    return [(match.group(1), match.group(2)) for match in pairs if match]


def _issue_url(issue: Issue, done: str, moved: dict[str, str] | None = None) -> str:
    moved_query = ",".join(f"{feedback}:{source}" for feedback, source in (moved or {}).items())
    return f"/issues/{issue.ref}?" + web.query_string({"done": done, "moved": moved_query})


def _issue_page(
    request: Request,
    service: IssueService,
    ref: str,
    *,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
    status_code: int = 200,
    done: str = "",
    moved: str = "",
) -> Template:
    issue = service.get(ref)
    user = web.signed_in_user(request)
    return web.page(
        request,
        "issues/detail.html",
        status_code=status_code,
        issue=issue,
        evidence=service.evidence(issue),
        errors=errors or {},
        values={**_form_values_of(issue), "version": str(issue.version), **(values or {})},
        notice=NOTICES.get(done),
        moved=_moved_notes(moved),
        can_manage=user.is_triage,
        can_note=comments.can_write(user, Visibility.INTERNAL),
        can_reply=comments.can_write(user, Visibility.PUBLIC),
        history=history.for_issue(service.session, issue, user),
        next_statuses=next_statuses(issue.status),
        severities=list(Severity),
        owners=service.owners(),
        vocabularies=service.vocabularies(),
        submitter_name=submitter_name,
        statuses=IssueStatus,
        title_max=TITLE_MAX,
        summary_max=SUMMARY_MAX,
        comment_max=comments.BODY_MAX,
    )


def _form_values_of(issue: Issue) -> dict[str, str]:
    """The edit form's fields, as the issue has them now."""
    values = {field: str(getattr(issue, field) or "") for field in CHANGEABLE_FIELDS if field != "owner"}
    values["owner"] = issue.owner.email if issue.owner else ""
    return values


@get("/issues", guards=[web.feedback_readers], sync_to_thread=True)
def issue_list(
    request: Request,
    db_session: NamedDependency[orm.Session],
    status: FromQuery[str] = "",
    module: FromQuery[str] = "",
) -> Template:
    service = IssueService(db_session)
    try:
        page_number = int(request.query_params.get("page", "1"))
    except ValueError:
        page_number = 1
    errors: dict[str, str] = {}
    try:
        results = service.list(page_number, status=status or None, module=module or None)
    except ValidationFailed as failed:
        errors = failed.errors
        results = service.list(page_number)
    return web.page(
        request,
        "issues/list.html",
        status_code=400 if errors else 200,
        results=results,
        query={"status": status, "module": module} if not errors else {},
        errors=errors,
        vocabularies=service.vocabularies(),
        statuses=IssueStatus,
    )


@get("/issues/new", guards=[web.triage_only], sync_to_thread=True)
def new_issue_form(request: Request, db_session: NamedDependency[orm.Session]) -> Template:
    feedback, errors = IssueService(db_session).feedback_to_group(request.query_params.getall("feedback", []))
    title = next((item.title for item in feedback if item.title), "")
    return _new_issue_page(
        request, feedback, values={"title": title}, errors=errors, status_code=400 if errors else 200
    )


def _new_issue_page(
    request: Request,
    feedback: list[Any],
    *,
    values: dict[str, str],
    errors: dict[str, str],
    status_code: int = 200,
) -> Template:
    return web.page(
        request,
        "issues/new.html",
        status_code=status_code,
        feedback=feedback,
        values=values,
        errors=errors,
        title_max=TITLE_MAX,
        summary_max=SUMMARY_MAX,
    )


@post("/issues", guards=[web.triage_only], sync_to_thread=True)
def create_issue(
    request: Request, data: URLEncodedBody[dict[str, Any]], db_session: NamedDependency[orm.Session]
) -> Template | Redirect:
    service = IssueService(db_session)
    try:
        issue = service.create(
            data.get("title"),
            data.get("feedback"),
            web.signed_in_user(request),
            summary=data.get("summary") or "",
        )
    except ValidationFailed as failed:
        feedback, _ = service.feedback_to_group(data.get("feedback"))
        return _new_issue_page(
            request,
            feedback,
            values=web.form_values(data, ("title", "summary")),
            errors=failed.errors,
            status_code=422,
        )
    return web.redirect(_issue_url(issue, "created", service.moved_from))


@get("/issues/{ref:str}", guards=[web.feedback_readers], sync_to_thread=True)
def issue_detail(
    request: Request,
    ref: FromPath[str],
    db_session: NamedDependency[orm.Session],
    done: FromQuery[str] = "",
    moved: FromQuery[str] = "",
) -> Template:
    return _issue_page(request, IssueService(db_session), ref, done=done, moved=moved)


@post("/issues/{ref:str}/link", guards=[web.triage_only], sync_to_thread=True)
def link_feedback(
    request: Request,
    ref: FromPath[str],
    data: URLEncodedBody[dict[str, Any]],
    db_session: NamedDependency[orm.Session],
) -> Template | Redirect:
    service = IssueService(db_session)
    try:
        issue = service.link(ref, data.get("feedback"), web.signed_in_user(request))
    except ValidationFailed as failed:
        values = {"feedback": str(data.get("feedback") or "")}
        return _issue_page(request, service, ref, errors=failed.errors, values=values, status_code=422)
    return web.redirect(_issue_url(issue, "linked", service.moved_from))


@post("/issues/{ref:str}/unlink", guards=[web.triage_only], sync_to_thread=True)
def unlink_feedback(
    request: Request,
    ref: FromPath[str],
    data: URLEncodedBody[dict[str, Any]],
    db_session: NamedDependency[orm.Session],
) -> Redirect:
    issue = IssueService(db_session).unlink(ref, str(data.get("feedback") or ""), web.signed_in_user(request))
    return web.redirect(_issue_url(issue, "unlinked"))


@post("/issues/{ref:str}/merge", guards=[web.triage_only], sync_to_thread=True)
def merge_issue(
    request: Request,
    ref: FromPath[str],
    data: URLEncodedBody[dict[str, Any]],
    db_session: NamedDependency[orm.Session],
) -> Template | Redirect:
    service = IssueService(db_session)
    try:
        merge = service.merge(ref, data.get("target"), web.signed_in_user(request))
    except ValidationFailed as failed:
        values = {"target": str(data.get("target") or "")}
        return _issue_page(request, service, ref, errors=failed.errors, values=values, status_code=422)
    return web.redirect(_issue_url(merge.target, "merged"))


@post("/issue-merges/{merge_id:int}/undo", guards=[web.triage_only], sync_to_thread=True)
def undo_merge(
    request: Request, merge_id: FromPath[int], db_session: NamedDependency[orm.Session]
) -> Redirect:
    merge = IssueService(db_session).undo_merge(merge_id, web.signed_in_user(request))
    return web.redirect(_issue_url(merge.source, "unmerged"))


@post("/issues/{ref:str}/edit", guards=[web.triage_only], sync_to_thread=True)
def edit_issue(
    request: Request,
    ref: FromPath[str],
    data: URLEncodedBody[dict[str, Any]],
    db_session: NamedDependency[orm.Session],
) -> Template | Redirect:
    """Save the edit form: only the fields it sent (the conflict page re-applies only those they changed)."""
    service = IssueService(db_session)
    user = web.signed_in_user(request)
    changes = {field: data.get(field) or "" for field in CHANGEABLE_FIELDS if field in data}
    try:
        issue = service.change(ref, data.get("version"), changes, user)
    except ValidationFailed as failed:
        values = web.form_values(data, (*changes, "version"))
        in_form_order = {f: failed.errors[f] for f in CHANGEABLE_FIELDS if f in failed.errors} | failed.errors
        return _issue_page(request, service, ref, errors=in_form_order, values=values, status_code=422)
    except Conflict as problem:
        if service.get(ref).merged_into is not None:  # no edit to compare with: the issue was merged away
            raise
        return web.page(
            request,
            "issues/conflict.html",
            status_code=409,
            conflict=service.conflict(ref, data.get("version"), changes, user),
            errors={"conflict": problem.message},
        )
    return web.redirect(_issue_url(issue, "saved"))


# Internal notes and public replies, on issues and on feedback.


def _comment(
    request: Request,
    db_session: orm.Session,
    data: dict[str, Any],
    *,
    record_type: str,
    ref: str,
    visibility: Visibility,
) -> Template | Redirect:
    field = visibility.field
    try:
        user = web.signed_in_user(request)
        CommentService(db_session).add(record_type, ref, visibility, data.get(field), user)
    except ValidationFailed as failed:
        values = {field: str(data.get(field) or "")}
        if record_type == "issue":
            return _issue_page(
                request, IssueService(db_session), ref, errors=failed.errors, values=values, status_code=422
            )
        return web.page(
            request,
            "issues/comment_form.html",
            status_code=422,
            feedback_ref=ref.upper(),
            visibility=visibility,
            errors=failed.errors,
            values=values,
            comment_max=comments.BODY_MAX,
        )
    if record_type == "issue":
        issue = IssueService(db_session).get(ref)
        done = "noted" if visibility is Visibility.INTERNAL else "replied"
        return web.redirect(_issue_url(issue, done) + "#comments")
    return web.redirect(f"/feedback/{ref.upper()}#comments")


@post("/issues/{ref:str}/notes", guards=[web.feedback_readers], sync_to_thread=True)
def add_issue_note(
    request: Request,
    ref: FromPath[str],
    data: URLEncodedBody[dict[str, Any]],
    db_session: NamedDependency[orm.Session],
) -> Template | Redirect:
    return _comment(request, db_session, data, record_type="issue", ref=ref, visibility=Visibility.INTERNAL)


@post("/issues/{ref:str}/replies", guards=[web.triage_only], sync_to_thread=True)
def add_issue_reply(
    request: Request,
    ref: FromPath[str],
    data: URLEncodedBody[dict[str, Any]],
    db_session: NamedDependency[orm.Session],
) -> Template | Redirect:
    return _comment(request, db_session, data, record_type="issue", ref=ref, visibility=Visibility.PUBLIC)


@post("/feedback/{ref:str}/notes", guards=[web.feedback_readers], sync_to_thread=True)
def add_feedback_note(
    request: Request,
    ref: FromPath[str],
    data: URLEncodedBody[dict[str, Any]],
    db_session: NamedDependency[orm.Session],
) -> Template | Redirect:
    return _comment(
        request, db_session, data, record_type="feedback", ref=ref, visibility=Visibility.INTERNAL
    )


@post("/feedback/{ref:str}/replies", guards=[web.triage_only], sync_to_thread=True)
def add_feedback_reply(
    request: Request,
    ref: FromPath[str],
    data: URLEncodedBody[dict[str, Any]],
    db_session: NamedDependency[orm.Session],
) -> Template | Redirect:
    return _comment(request, db_session, data, record_type="feedback", ref=ref, visibility=Visibility.PUBLIC)


@post("/feedback/{ref:str}/issue", guards=[web.triage_only], sync_to_thread=True)
def link_to_issue(
    request: Request,
    ref: FromPath[str],
    data: URLEncodedBody[dict[str, Any]],
    db_session: NamedDependency[orm.Session],
) -> Template | Redirect:
    """The "Link to an existing issue" form on a feedback's page."""
    service = IssueService(db_session)
    issue_ref = str(data.get("issue") or "").strip()
    try:
        if not issue_ref:
            raise ValidationFailed({"issue": "Enter the reference of the issue, like ISS-0012"})
        issue = service.link(issue_ref, ref, web.signed_in_user(request))
    except ValidationFailed as failed:
        message = failed.errors.get("issue") or failed.errors.get("feedback") or failed.message
        return _link_page(request, ref, issue_ref, message, 422)
    except (NotFound, Conflict) as problem:  # no such issue, or it was merged into another
        return _link_page(
            request, ref, issue_ref, problem.message, 409 if isinstance(problem, Conflict) else 422
        )
    return web.redirect(_issue_url(issue, "linked", service.moved_from))


def _link_page(
    request: Request, feedback_ref: str, issue_ref: str, message: str, status_code: int
) -> Template:
    return web.page(
        request,
        "issues/link_feedback.html",
        status_code=status_code,
        feedback_ref=feedback_ref.upper(),
        values={"issue": issue_ref},
        errors={"issue": message},
    )


# "Me too": any signed-in person adds their voice to someone else's feedback, or to an issue.


def _htmx(request: Request) -> bool:
    htmx = getattr(request, "htmx", None)
    return bool(htmx) and not getattr(htmx, "boosted", False)


def _back_to(next_path: object, default: str, count: int) -> str:
    path = web.safe_next(str(next_path or ""), default).split("#", 1)[0]
    return path + ("&" if "?" in path else "?") + web.query_string({"voice_added": count})


def _me_too(
    request: Request, service: IssueService, data: dict[str, Any], *, kind: str, ref: str
) -> Template | Redirect:
    user = web.signed_in_user(request)
    target = {"feedback_ref" if kind == "feedback" else "issue_ref": ref}
    try:
        count = service.me_too(user, impact=data.get("impact"), **target)
    except (ValidationFailed, Forbidden) as problem:
        errors = problem.errors if isinstance(problem, ValidationFailed) else {"me-too": problem.message}
        if _htmx(request) and isinstance(problem, Forbidden):  # their own: already counted, so say so (htmx
            return web.page(request, "issues/_me_too_result.html", notice=problem.message)  # swaps only 2xx)
        template = "issues/_me_too_result.html" if _htmx(request) else "issues/me_too.html"
        return _me_too_page(request, service, template, kind, ref, data, errors, problem.status_code)
    if _htmx(request):
        return web.page(request, "issues/_me_too_result.html", count=count)
    return web.redirect(_back_to(data.get("next"), _me_too_default_next(user, kind, ref), count))


def _me_too_default_next(user: User, kind: str, ref: str) -> str:
    can_read = user.role_enum in {Role.BUSINESS_SUPPORT, Role.BOARD, Role.ADMIN}
    return f"/{'feedback' if kind == 'feedback' else 'issues'}/{ref.upper()}" if can_read else "/"


def _me_too_page(
    request: Request,
    service: IssueService,
    template: str,
    kind: str,
    ref: str,
    data: dict[str, Any],
    errors: dict[str, str],
    status_code: int = 200,
) -> Template:
    return web.page(
        request,
        template,
        status_code=status_code,
        kind=kind,
        ref=ref.upper(),
        action=f"/{'feedback' if kind == 'feedback' else 'issues'}/{ref.upper()}/me-too",
        impacts=service.vocabularies().options("impact"),
        values={
            "impact": str(data.get("impact") or ""),
            "next": web.safe_next(str(data.get("next") or ""), ""),
        },
        errors=errors,
    )


@get("/feedback/{ref:str}/me-too", guards=[web.signed_in], sync_to_thread=True)
def me_too_feedback_form(
    request: Request,
    ref: FromPath[str],
    db_session: NamedDependency[orm.Session],
    next: FromQuery[str] = "",  # noqa: A002
) -> Template:
    service = IssueService(db_session)
    found = service.me_too_target(feedback_ref=ref)
    return _me_too_page(request, service, "issues/me_too.html", "feedback", found, {"next": next}, {})


@get("/issues/{ref:str}/me-too", guards=[web.signed_in], sync_to_thread=True)
def me_too_issue_form(
    request: Request,
    ref: FromPath[str],
    db_session: NamedDependency[orm.Session],
    next: FromQuery[str] = "",  # noqa: A002
) -> Template:
    service = IssueService(db_session)
    found = service.me_too_target(issue_ref=ref)
    return _me_too_page(request, service, "issues/me_too.html", "issue", found, {"next": next}, {})


@post("/feedback/{ref:str}/me-too", guards=[web.signed_in], sync_to_thread=True)
def me_too_feedback(
    request: Request,
    ref: FromPath[str],
    data: URLEncodedBody[dict[str, Any]],
    db_session: NamedDependency[orm.Session],
) -> Template | Redirect:
    return _me_too(request, IssueService(db_session), data, kind="feedback", ref=ref)


@post("/issues/{ref:str}/me-too", guards=[web.signed_in], sync_to_thread=True)
def me_too_issue(
    request: Request,
    ref: FromPath[str],
    data: URLEncodedBody[dict[str, Any]],
    db_session: NamedDependency[orm.Session],
) -> Template | Redirect:
    return _me_too(request, IssueService(db_session), data, kind="issue", ref=ref)


ROUTES = [
    issue_list,
    new_issue_form,
    create_issue,
    issue_detail,
    link_feedback,
    unlink_feedback,
    merge_issue,
    undo_merge,
    edit_issue,
    add_issue_note,
    add_issue_reply,
    add_feedback_note,
    add_feedback_reply,
    link_to_issue,
    me_too_feedback_form,
    me_too_issue_form,
    me_too_feedback,
    me_too_issue,
]
