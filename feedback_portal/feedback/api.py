"""The feedback JSON API under /api/v1, mirroring the pages. Bearer tokens only."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody

from feedback_portal import web
from feedback_portal.accounts.models import User
from feedback_portal.audit import models as audit
from feedback_portal.errors import ValidationFailed
from feedback_portal.feedback.models import Feedback
from feedback_portal.feedback.services import FeedbackService, submitter_name
from feedback_portal.feedback.vocabulary import Anonymity


def feedback_json(feedback: Feedback, viewer: User, *, full: bool = True) -> dict[str, Any]:
    document: dict[str, Any] = {
        "ref": feedback.ref,
        "title": feedback.title,
        "body": feedback.body,
        "module": feedback.module,
        "kind": feedback.kind,
        "impact": feedback.impact,
        "frequency": feedback.frequency,
        "team": feedback.team.slug if feedback.team else None,
        "anonymity": feedback.anonymity,
        "submitted_by": submitter_name(feedback, viewer),
        "status": feedback.status,
        "submitted_at": feedback.submitted_at.isoformat(),
        # Likely personal data (offsets into the current title or body) and whether business support hold it.
        "personal_data": [
            {"kind": item.get("kind"), "field": item.get("field"), "start": item.get("start"), "end": item.get("end")}
            for item in feedback.personal_data or []
        ],
        "held": feedback.held,
    }
    if full:
        can_see_screenshots = viewer.is_triage or feedback.submitter_id == viewer.id
        document["attachments"] = [
            {
                "filename": item.filename,
                "content_type": item.content_type,
                "size_bytes": item.size_bytes,
                "url": f"/attachments/{item.id}",
            }
            for item in feedback.attachments
        ] if can_see_screenshots else []
        document["public_replies"] = [
            {"body": comment.body, "created_at": comment.created_at.isoformat()}
            for comment in feedback.comments
            if comment.visibility == "public"
        ]
    return document


@post(
    "/api/v1/feedback",
    guards=[web.signed_in],
    sync_to_thread=True,
    status_code=201,
    summary="Give feedback",
    description="Send an `Idempotency-Key` header to make retries safe: the same key returns the same feedback.",
)
def create_feedback(
    request: Request, data: JSONBody[dict[str, Any]], feedback_service: NamedDependency[FeedbackService]
) -> Response[dict[str, Any]]:
    user = web.signed_in_user(request)
    fields = {"anonymity": Anonymity.NAMED.value, **data}
    if not isinstance(fields.get("body", ""), str):
        raise ValidationFailed({"body": "body must be a string"})
    feedback = feedback_service.submit(
        fields, submitter=user, idempotency_key=request.headers.get("idempotency-key")
    )
    document = feedback_json(feedback, user)
    token = getattr(feedback, "follow_token", None)
    if token:  # anonymous: the private follow link, in this answer only (a retried key does not get it again)
        document["follow_url"] = str(request.base_url).rstrip("/") + f"/follow/{token}"
    return Response(document, status_code=201, headers={"Location": f"/api/v1/feedback/{feedback.ref}"})


@get("/api/v1/feedback", guards=[web.feedback_readers], sync_to_thread=True, summary="List feedback, newest first")
def list_feedback(
    request: Request,
    feedback_service: NamedDependency[FeedbackService],
    module: FromQuery[str] = "",
    kind: FromQuery[str] = "",
    impact: FromQuery[str] = "",
    team: FromQuery[str] = "",
    date_from: FromQuery[str] = "",
    date_to: FromQuery[str] = "",
    page: FromQuery[int] = 1,
    per_page: FromQuery[int] = 50,
) -> dict[str, Any]:
    filters, errors = feedback_service.parse_filters(
        {"module": module, "kind": kind, "impact": impact, "team": team, "from": date_from, "to": date_to}
    )
    if errors:
        raise ValidationFailed(errors)
    if not 1 <= per_page <= 200:
        raise ValidationFailed({"per_page": "per_page must be between 1 and 200"})
    viewer = web.signed_in_user(request)
    results = feedback_service.list(filters, page=page, size=per_page, include_restricted=viewer.is_triage)
    return {
        "items": [feedback_json(item, viewer, full=False) for item in results.items],
        "page": results.number,
        "pages": results.pages,
        "total": results.total,
    }


@get("/api/v1/feedback/{ref:str}", guards=[web.signed_in], sync_to_thread=True, summary="One feedback in full")
def get_feedback(request: Request, ref: FromPath[str], feedback_service: NamedDependency[FeedbackService]) -> dict[str, Any]:
    viewer = web.signed_in_user(request)
    feedback = feedback_service.get(ref, viewer)
    if feedback.restricted:  # reading safeguarding feedback is audited, here as on its page
        audit.record_view(feedback_service.session, viewer, "feedback", feedback.ref or "")
    return feedback_json(feedback, viewer)


ROUTES = [create_feedback, list_feedback, get_feedback]
