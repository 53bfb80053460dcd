"""The meetings JSON API under /api/v1, mirroring the pages. Bearer tokens only (as every /api/v1 route).

422 with an error per field, 404 for an unknown meeting, 409 when the agenda changed since the version sent
or the meeting is past the point where the change is allowed.
"""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody
from sqlalchemy import orm

from feedback_portal import web
from feedback_portal.meetings.models import Action, AgendaItem, Meeting
from feedback_portal.meetings.services import MeetingService, london, meeting_ref

meeting_staff = web.feedback_readers


def item_json(item: AgendaItem, withheld: frozenset[str] = frozenset()) -> dict[str, Any]:
    evidence = dict(item.evidence or {})
    if "quotes" in evidence:
        evidence["quotes"] = [quote for quote in evidence["quotes"] if quote.get("ref") not in withheld]
    return {
        "id": item.id,
        "position": item.position,
        "kind": item.kind,
        "title": item.heading,
        "issue_ref": item.issue.ref if item.issue else None,
        "minutes": item.minutes,
        "outcome": item.outcome,
        "outcome_reason": item.outcome_reason,
        "decision_notes": item.decision_notes,
        "source": item.source,
        "score": item.score,
        "carry_over_count": item.carry_over_count,
        "evidence": evidence,
    }


def meeting_json(meeting: Meeting) -> dict[str, Any]:
    return {
        "id": meeting.id,
        "ref": meeting_ref(meeting.id),
        "title": meeting.title,
        "scheduled_for": london(meeting.scheduled_for).isoformat(),
        "duration_minutes": meeting.duration_minutes,
        "state": meeting.state,
        "version": meeting.version,
        "series_id": meeting.series_id,
        "chair": meeting.chair.email if meeting.chair else None,
        "allotted_minutes": meeting.allotted_minutes,
        "items": len(meeting.items),
    }


def action_json(action: Action) -> dict[str, Any]:
    return {
        "id": action.id,
        "description": action.description,
        "owner": action.owner.email,
        "due_on": action.due_on.isoformat(),
        "status": action.status,
        "meeting_id": action.meeting_id,
        "agenda_item_id": action.agenda_item_id,
        "issue_ref": action.issue.ref if action.issue else None,
    }


def decision_json(item: AgendaItem, withheld: frozenset[str] = frozenset()) -> dict[str, Any]:
    return {
        **item_json(item, withheld),
        "meeting_id": item.meeting_id,
        "meeting_date": london(item.meeting.scheduled_for).date().isoformat(),
        "minutes_published": item.meeting.minutes_published_at is not None,
        "actions": [action.id for action in item.actions],
    }


@post(
    "/api/v1/meetings",
    guards=[meeting_staff],
    sync_to_thread=True,
    status_code=201,
    summary="Create a meeting",
)
def create_meeting(
    request: Request, data: JSONBody[dict[str, Any]], db_session: NamedDependency[orm.Session]
) -> Response[dict[str, Any]]:
    service = MeetingService(db_session)
    meeting = service.create_meeting(
        title=data.get("title"),
        scheduled_for=data.get("scheduled_for") if data.get("scheduled_for") is not None else "",
        duration_minutes=data.get("duration_minutes"),
        series_id=data.get("series_id"),
        actor=web.signed_in_user(request),
    )
    return Response(
        meeting_json(meeting), status_code=201, headers={"Location": f"/api/v1/meetings/{meeting.id}"}
    )


@get("/api/v1/meetings/{meeting_id:int}", guards=[meeting_staff], sync_to_thread=True, summary="One meeting")
def get_meeting(meeting_id: FromPath[int], db_session: NamedDependency[orm.Session]) -> dict[str, Any]:
    return meeting_json(MeetingService(db_session).get(meeting_id))


@post(
    "/api/v1/meetings/{meeting_id:int}/agenda/build",
    guards=[meeting_staff],
    sync_to_thread=True,
    status_code=200,
    summary="Build the agenda from the evidence",
)
def build_agenda(
    request: Request,
    meeting_id: FromPath[int],
    db_session: NamedDependency[orm.Session],
    data: JSONBody[dict[str, Any] | None] = None,
) -> dict[str, Any]:
    """Send {"version": N} to guard against someone else's change; without it, the current version is used."""
    service = MeetingService(db_session)
    version = (data or {}).get("version")
    if version is None:
        version = service.get(meeting_id).version
    result = service.build_agenda(meeting_id, version, web.signed_in_user(request))
    db_session.expire_all()
    meeting = service.get(meeting_id)
    withheld = service.withheld_quotes(meeting.items)
    return {
        **meeting_json(meeting),
        "left_out": result.left_out,
        "items": [item_json(i, withheld) for i in meeting.items],
    }


@get(
    "/api/v1/meetings/{meeting_id:int}/agenda",
    guards=[meeting_staff],
    sync_to_thread=True,
    summary="The agenda",
)
def get_agenda(meeting_id: FromPath[int], db_session: NamedDependency[orm.Session]) -> dict[str, Any]:
    service = MeetingService(db_session)
    meeting = service.get(meeting_id)
    withheld = service.withheld_quotes(meeting.items)
    return {
        "meeting": meeting_json(meeting),
        "version": meeting.version,
        "items": [item_json(i, withheld) for i in meeting.items],
    }


@get("/api/v1/actions", guards=[meeting_staff], sync_to_thread=True, summary="Actions")
def list_actions(
    request: Request,
    db_session: NamedDependency[orm.Session],
    show: FromQuery[str] = "open",
    mine: FromQuery[bool] = False,
) -> dict[str, Any]:
    actions = MeetingService(db_session).actions(
        show=show, owner=web.signed_in_user(request) if mine else None
    )
    return {"actions": [action_json(action) for action in actions]}


@get("/api/v1/decisions", guards=[meeting_staff], sync_to_thread=True, summary="The decision log")
def list_decisions(db_session: NamedDependency[orm.Session], q: FromQuery[str] = "") -> dict[str, Any]:
    service = MeetingService(db_session)
    decisions = service.decisions(q)
    withheld = service.withheld_quotes(decisions)
    return {"decisions": [decision_json(item, withheld) for item in decisions]}


ROUTES = [create_meeting, get_meeting, build_agenda, get_agenda, list_actions, list_decisions]
