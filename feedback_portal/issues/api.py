"""The issues JSON API under /api/v1, mirroring the pages. Bearer tokens only."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get, patch, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody
from sqlalchemy import orm

from feedback_portal import web
from feedback_portal.errors import Conflict, ValidationFailed
from feedback_portal.feedback.models import Comment
from feedback_portal.issues.comments import CommentService, Visibility
from feedback_portal.issues.models import Issue
from feedback_portal.issues.services import CHANGEABLE_FIELDS, IssueEvidence, IssueService, IssueSummary


def issue_json(issue: Issue) -> dict[str, Any]:
    return {
        "ref": issue.ref,
        "version": issue.version,
        "title": issue.title,
        "summary": issue.summary,
        "status": issue.status,
        "status_label": issue.status_label,
        "status_reason": issue.status_reason,
        "severity": issue.severity,
        "owner": issue.owner.email if issue.owner else None,
        "module": issue.module,
        "supplier_ref": issue.supplier_ref,
        "target_release": issue.target_release,
        "public_response": issue.public_response,
        "merged_into": issue.merged_into.ref if issue.merged_into else None,
        "created_at": issue.created_at.isoformat(),
        "updated_at": issue.updated_at.isoformat(),
    }


def summary_json(item: IssueSummary) -> dict[str, Any]:
    return {
        **issue_json(item.issue),
        "feedback": item.feedback_refs,
        "counts": {
            "feedback": item.tally.feedback,
            "contributors": item.tally.contributors,
            "me_toos": item.tally.me_toos,
        },
    }


def comment_json(comment: Comment) -> dict[str, Any]:
    return {
        "id": comment.id,
        "visibility": comment.visibility,
        "body": comment.body,
        "author": comment.author.name if comment.author else None,
        "created_at": comment.created_at.isoformat(),
    }


def evidence_json(evidence: IssueEvidence) -> dict[str, Any]:
    """The issue in full. Feedback is listed by ref: who sent it is shown there, to those who may see it.

    Only business support, the board and admins may read it (the routes' guards), so it includes the internal
    notes, apart from the public replies.
    """
    return {
        **issue_json(evidence.issue),
        "feedback": [item.ref for item in evidence.feedback],
        "counts": {
            "feedback": len(evidence.feedback),
            "contributors": evidence.contributors,
            "anonymous_feedback": evidence.anonymous_feedback,
            "me_toos": evidence.me_toos,
        },
        "teams": [{"team": name, "count": count} for name, count in evidence.teams],
        "impacts": evidence.impacts,
        "weekly_trend": [
            {"week": week.iso_week, "starts": week.starts.isoformat(), "count": week.count}
            for week in evidence.trend
        ],
        "merges": [
            {
                "id": merge.id,
                "source": merge.source.ref,
                "target": merge.target.ref,
                "merged_at": merge.merged_at.isoformat(),
                "undone_at": merge.undone_at.isoformat() if merge.undone_at else None,
                "feedback_moved": len(merge.moved_feedback_ids),
                "me_toos_moved": len(merge.moved_me_too_ids),
            }
            for merge in evidence.merges
        ],
        "public_replies": [
            comment_json(c) for c in evidence.comments if c.visibility == Visibility.PUBLIC
        ],
        "internal_notes": [
            comment_json(c) for c in evidence.comments if c.visibility == Visibility.INTERNAL
        ],
    }


@post(
    "/api/v1/issues",
    guards=[web.triage_only],
    sync_to_thread=True,
    status_code=201,
    summary="Create an issue",
)
def create_issue(
    request: Request, data: JSONBody[dict[str, Any]], db_session: NamedDependency[orm.Session]
) -> Response[dict[str, Any]]:
    service = IssueService(db_session)
    issue = service.create(
        data.get("title"),
        data.get("feedback"),
        web.signed_in_user(request),
        summary=data.get("summary") or "",
        module=data.get("module"),
    )
    document = {**evidence_json(service.evidence(issue)), "moved_from": service.moved_from}
    return Response(document, status_code=201, headers={"Location": f"/api/v1/issues/{issue.ref}"})


@get(
    "/api/v1/issues", guards=[web.feedback_readers], sync_to_thread=True, summary="List issues, newest first"
)
def list_issues(
    db_session: NamedDependency[orm.Session],
    status: FromQuery[str] = "",
    module: FromQuery[str] = "",
    include_merged: FromQuery[bool] = False,
    page: FromQuery[int] = 1,
    per_page: FromQuery[int] = 50,
) -> dict[str, Any]:
    if not 1 <= per_page <= 200:
        raise ValidationFailed({"per_page": "per_page must be between 1 and 200"})
    results = IssueService(db_session).list(
        page, status=status or None, module=module or None, include_merged=include_merged, size=per_page
    )
    return {
        "items": [summary_json(item) for item in results.items],
        "page": results.number,
        "pages": results.pages,
        "total": results.total,
    }


@get(
    "/api/v1/issues/{ref:str}",
    guards=[web.feedback_readers],
    sync_to_thread=True,
    summary="One issue and its evidence",
)
def get_issue(ref: FromPath[str], db_session: NamedDependency[orm.Session]) -> dict[str, Any]:
    service = IssueService(db_session)
    return evidence_json(service.evidence(service.get(ref)))


@patch(
    "/api/v1/issues/{ref:str}",
    guards=[web.triage_only],
    sync_to_thread=True,
    summary="Change an issue",
    description="Send the `version` you last read and any of: "
    + ", ".join(f"`{field}`" for field in CHANGEABLE_FIELDS)
    + ". `owner` is an email address (of business support, the board or an admin), or null; `severity` is 1 "
    "(blocks work), 2 (a workaround exists), 3 (minor) or null. Statuses move as the issue workflow allows; "
    "`wont-fix`, `guidance-issued` and `training-arranged` need a `status_reason`. All or nothing: any "
    "problem answers 422 with a message per field. If the issue has changed since your version the answer is "
    "409, with `current` (the issue as it is now, including its `version`) and `changed_by` (who changed it "
    "since, from the audit trail), and nothing is saved.",
)
def update_issue(
    request: Request,
    ref: FromPath[str],
    data: JSONBody[dict[str, Any]],
    db_session: NamedDependency[orm.Session],
) -> Response[dict[str, Any]]:
    service = IssueService(db_session)
    user = web.signed_in_user(request)
    changes = {key: value for key, value in data.items() if key != "version"}
    try:
        issue = service.change(ref, data.get("version"), changes, user)
    except Conflict as stale:
        db_session.rollback()
        latest = service.get(ref)
        changed_by = (
            service.conflict(ref, data.get("version"), changes, user).changed_by
            if latest.merged_into is None
            else []
        )
        document = {
            "status_code": 409,
            "detail": stale.message,
            "version": latest.version,
            "current": issue_json(latest),
            "changed_by": [{"at": line.iso, "text": line.text} for line in changed_by],
        }
        return Response(document, status_code=409)
    return Response(evidence_json(service.evidence(issue)))


def _add_comment(
    record_type: str, ref: str, data: dict[str, Any], request: Request, db_session: orm.Session
) -> Response[dict[str, Any]]:
    comment = CommentService(db_session).add(
        record_type, ref, data.get("visibility"), data.get("body"), web.signed_in_user(request)
    )
    return Response(comment_json(comment), status_code=201)


@post(
    "/api/v1/issues/{ref:str}/comments",
    guards=[web.feedback_readers],
    sync_to_thread=True,
    status_code=201,
    summary="Add an internal note or a public reply to an issue",
    description="`visibility` is `internal` (business support, the board and admins) or `public` (business "
    "support and admins only; read by the staff whose feedback is in the issue, who are told about it).",
)
def add_issue_comment(
    request: Request,
    ref: FromPath[str],
    data: JSONBody[dict[str, Any]],
    db_session: NamedDependency[orm.Session],
) -> Response[dict[str, Any]]:
    return _add_comment("issue", ref, data, request, db_session)


@post(
    "/api/v1/feedback/{ref:str}/comments",
    guards=[web.feedback_readers],
    sync_to_thread=True,
    status_code=201,
    summary="Add an internal note or a public reply to feedback",
    description="`visibility` is `internal` (business support, the board and admins) or `public` (business "
    "support and admins only; read by the person who sent the feedback, unless it is anonymous).",
)
def add_feedback_comment(
    request: Request,
    ref: FromPath[str],
    data: JSONBody[dict[str, Any]],
    db_session: NamedDependency[orm.Session],
) -> Response[dict[str, Any]]:
    return _add_comment("feedback", ref, data, request, db_session)


ROUTES = [create_issue, list_issues, get_issue, update_issue, add_issue_comment, add_feedback_comment]
