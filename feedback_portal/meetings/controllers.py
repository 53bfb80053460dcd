"""Pages for meetings: the list, a meeting and its agenda editor, live mode, minutes, the pack, the .ics
invite, the actions tracker and the decision log.

Who may do what: business support, the board and admins may open every page here and run meetings (the
board chairs; business support prepare agendas and take the minutes); frontline staff get 403. An action's
owner may mark it done from /actions and their home page.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import jinja2
from litestar import Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, URLEncodedBody
from litestar.response import Redirect, Template
from sqlalchemy import orm

from feedback_portal import web
from feedback_portal.errors import Conflict, Forbidden, ValidationFailed
from feedback_portal.insight import charts as insight_charts
from feedback_portal.meetings import pack as pack_rendering
from feedback_portal.settings import Settings
from feedback_portal.meetings.models import (
    ActionStatus,
    Cadence,
    ItemKind,
    Meeting,
    MeetingState,
    Outcome,
)
from feedback_portal.meetings.services import (
    LONDON,
    MEETING_ROLES,
    STANDING_CHOICES,
    MeetingService,
    london,
    meeting_ref,
    today_in_london,
)

meeting_staff = web.feedback_readers  # business support, board, admin (see the module docstring)

NOTICES = {
    "created": "Meeting created",
    "built": "Agenda built from the evidence",
    "added": "Item added to the agenda",
    "removed": "Item removed from the agenda",
    "moved": "Agenda order saved",
    "minutes": "Minutes allotted saved",
    "published": "Agenda published",
    "ended": "Meeting ended",
    "minuted": "Minutes published. The people who raised each issue have been told what was decided.",
    "amended": "Amendment recorded",
    "series": "Meeting series created",
    "series-changed": "Meeting series saved",
    "changed": "Meeting details saved",
    "details": "Presenter and notes saved",
}


def when_text(value: dt.datetime | None) -> str:
    """27 November 2026 at 10:00am, in London time."""
    local = london(value)
    if local is None:
        return ""
    return local.strftime("%-d %B %Y at %-I:%M%p").replace("AM", "am").replace("PM", "pm")


def clock_text(value: dt.datetime | None) -> str:
    local = london(value)
    return local.strftime("%-I:%M%p").replace("AM", "am").replace("PM", "pm") if local else ""


def _common(service: MeetingService) -> dict[str, Any]:
    return {
        "when_text": when_text,
        "clock_text": clock_text,
        "outcomes": list(Outcome),
        "today": today_in_london(),
        "london": london,
        "meeting_ref": meeting_ref,
        "ActionStatus": ActionStatus,
        "ItemKind": ItemKind,
        "MeetingState": MeetingState,
    }


# The list of meetings -----------------------------------------------------------------------------------


def _meetings_page(
    request: Request,
    service: MeetingService,
    *,
    errors: dict[str, str] | None = None,
    values: dict[str, Any] | None = None,
    status_code: int = 200,
    done: str = "",
) -> Template:
    return web.page(
        request,
        "meetings/list.html",
        status_code=status_code,
        active_nav="meetings",
        upcoming=service.meetings(upcoming=True),
        past=service.meetings(upcoming=False),
        series_list=service.series_list(),
        people=service.people(),
        cadences=list(Cadence),
        standing_choices=STANDING_CHOICES,
        errors=errors or {},
        values=values or {},
        notice=NOTICES.get(done),
        **_common(service),
    )


@get("/meetings", guards=[meeting_staff], sync_to_thread=True)
def meeting_list(
    request: Request, db_session: NamedDependency[orm.Session], done: FromQuery[str] = ""
) -> Template:
    return _meetings_page(request, MeetingService(db_session), done=done)


@post("/meetings", guards=[meeting_staff], sync_to_thread=True)
def create_meeting(
    request: Request, data: URLEncodedBody[dict[str, Any]], db_session: NamedDependency[orm.Session]
) -> Template | Redirect:
    service = MeetingService(db_session)
    try:
        meeting = service.create_meeting(
            title=data.get("title"),
            date=data.get("date") or "",
            time=data.get("time") or "",
            duration_minutes=data.get("duration_minutes"),
            series_id=data.get("series_id"),
            actor=web.signed_in_user(request),
        )
    except ValidationFailed as failed:
        values = web.form_values(data, ("title", "date", "time", "duration_minutes", "series_id"))
        return _meetings_page(request, service, errors=failed.errors, values=values, status_code=422)
    return web.redirect(f"/meetings/{meeting.id}?done=created")


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


@post("/meetings/series", guards=[meeting_staff], sync_to_thread=True)
def create_series(
    request: Request, data: URLEncodedBody[dict[str, Any]], db_session: NamedDependency[orm.Session]
) -> Template | Redirect:
    service = MeetingService(db_session)
    try:
        service.create_series(
            title=data.get("series_title"),
            cadence=data.get("cadence"),
            usual_minutes=data.get("usual_minutes"),
            attendee_ids=_as_list(data.get("attendees")),
            standing_items=_as_list(data.get("standing_items")),
            actor=web.signed_in_user(request),
        )
    except ValidationFailed as failed:
        errors = {
            ("series_title" if field == "title" else field): message
            for field, message in failed.errors.items()
        }
        values = web.form_values(data, ("series_title", "cadence", "usual_minutes"))
        values["attendees"] = [str(v) for v in _as_list(data.get("attendees"))]
        values["standing_items"] = [str(v) for v in _as_list(data.get("standing_items"))]
        values["series_form"] = "1"
        return _meetings_page(request, service, errors=errors, values=values, status_code=422)
    return web.redirect("/meetings?done=series")


def _series_values(data: dict[str, Any]) -> dict[str, Any]:
    values: dict[str, Any] = web.form_values(data, ("series_title", "cadence", "usual_minutes"))
    values["attendees"] = [str(v) for v in _as_list(data.get("attendees"))]
    values["standing_items"] = [str(v) for v in _as_list(data.get("standing_items"))]
    values["series_form"] = "1"
    return values


def _series_page(
    request: Request,
    service: MeetingService,
    series_id: int,
    *,
    errors: dict[str, str] | None = None,
    values: dict[str, Any] | None = None,
    status_code: int = 200,
) -> Template:
    series = service.get_series(series_id)
    current = {
        "series_title": series.title,
        "cadence": series.cadence,
        "usual_minutes": str(series.usual_minutes),
        "attendees": [str(user.id) for user in series.attendees],
        "standing_items": list(series.standing_items),
        "series_form": "1",
    }
    return web.page(
        request,
        "meetings/series.html",
        status_code=status_code,
        active_nav="meetings",
        series=series,
        people=service.people(),
        standing_choices=STANDING_CHOICES,
        errors=errors or {},
        values=values or current,
        **_common(service),
    )


@get("/meetings/series/{series_id:int}", guards=[meeting_staff], sync_to_thread=True)
def series_detail(
    request: Request, series_id: FromPath[int], db_session: NamedDependency[orm.Session]
) -> Template:
    return _series_page(request, MeetingService(db_session), series_id)


@post("/meetings/series/{series_id:int}", guards=[meeting_staff], sync_to_thread=True)
def change_series(
    request: Request,
    series_id: FromPath[int],
    data: URLEncodedBody[dict[str, Any]],
    db_session: NamedDependency[orm.Session],
) -> Template | Redirect:
    service = MeetingService(db_session)
    try:
        service.change_series(
            series_id,
            title=data.get("series_title"),
            cadence=data.get("cadence"),
            usual_minutes=data.get("usual_minutes"),
            attendee_ids=_as_list(data.get("attendees")),
            standing_items=_as_list(data.get("standing_items")),
            actor=web.signed_in_user(request),
        )
    except ValidationFailed as failed:
        errors = {("series_title" if f == "title" else f): m for f, m in failed.errors.items()}
        return _series_page(
            request, service, series_id, errors=errors, values=_series_values(data), status_code=422
        )
    return web.redirect("/meetings?done=series-changed")


# One meeting and its agenda -----------------------------------------------------------------------------


def meeting_page(
    request: Request,
    service: MeetingService,
    meeting_id: int,
    *,
    errors: dict[str, str] | None = None,
    values: dict[str, Any] | None = None,
    status_code: int = 200,
    done: str = "",
    conflict: str = "",
    focus: str = "",
) -> Template:
    meeting = service.get(meeting_id)
    return web.fragment_or_page(
        request,
        page_template="meetings/detail.html",
        fragment_template="meetings/_agenda.html",
        target="agenda",
        status_code=status_code,
        active_nav="meetings",
        meeting=meeting,
        previous=service.previous_meeting(meeting),
        due_actions=service.actions_for_agenda(meeting),
        actions=[action for item in meeting.items for action in item.actions],
        amendments=service.amendments(meeting),
        withheld=service.withheld_quotes(meeting.items),
        people=service.people(),
        errors=errors or {},
        values=values or {},
        notice=NOTICES.get(done),
        conflict=conflict,
        focus=focus,
        **_common(service),
    )


@get("/meetings/{meeting_id:int}", guards=[meeting_staff], sync_to_thread=True)
def meeting_detail(
    request: Request,
    meeting_id: FromPath[int],
    db_session: NamedDependency[orm.Session],
    done: FromQuery[str] = "",
    focus: FromQuery[str] = "",
) -> Template:
    return meeting_page(request, MeetingService(db_session), meeting_id, done=done, focus=focus)


def _agenda_edit(
    request: Request,
    db_session: orm.Session,
    meeting_id: int,
    data: dict[str, Any],
    change,
    done: str,
    focus: str = "",
) -> Template | Redirect:
    """Run one agenda edit; a problem re-shows the meeting page with the message (nothing was changed)."""
    service = MeetingService(db_session)
    try:
        change(service, web.signed_in_user(request))
    except ValidationFailed as failed:
        db_session.expire_all()
        return meeting_page(
            request,
            service,
            meeting_id,
            errors=failed.errors,
            status_code=422,
            values=web.form_values(data, ("kind", "issue_ref", "title", "minutes", "minutes_value")),
        )
    except Conflict as conflict:
        db_session.expire_all()
        return meeting_page(request, service, meeting_id, conflict=conflict.message, status_code=409)
    return web.redirect(
        f"/meetings/{meeting_id}?" + web.query_string({"done": done, "focus": focus}) + "#agenda"
    )


@post("/meetings/{meeting_id:int}/details", guards=[meeting_staff], sync_to_thread=True)
def change_meeting(
    request: Request,
    meeting_id: FromPath[int],
    data: URLEncodedBody[dict[str, Any]],
    db_session: NamedDependency[orm.Session],
) -> Template | Redirect:
    service = MeetingService(db_session)
    fields = ("title", "date", "time", "duration_minutes")
    try:
        service.change_meeting(
            meeting_id,
            data.get("version"),
            **{field: data.get(field) or "" for field in fields},
            actor=web.signed_in_user(request),
        )
    except ValidationFailed as failed:
        db_session.expire_all()
        errors = {f"details-{field}": message for field, message in failed.errors.items()}
        values = {f"details-{field}": value for field, value in web.form_values(data, fields).items()}
        return meeting_page(request, service, meeting_id, errors=errors, values=values, status_code=422)
    except Conflict as conflict:
        db_session.expire_all()
        return meeting_page(request, service, meeting_id, conflict=conflict.message, status_code=409)
    return web.redirect(f"/meetings/{meeting_id}?done=changed")


@post("/meetings/{meeting_id:int}/agenda/build", guards=[meeting_staff], sync_to_thread=True)
def build_agenda(
    request: Request,
    meeting_id: FromPath[int],
    data: URLEncodedBody[dict[str, Any]],
    db_session: NamedDependency[orm.Session],
) -> Template | Redirect:
    return _agenda_edit(
        request,
        db_session,
        meeting_id,
        data,
        lambda s, u: s.build_agenda(meeting_id, data.get("version"), u),
        "built",
    )


@post("/meetings/{meeting_id:int}/agenda/items", guards=[meeting_staff], sync_to_thread=True)
def add_item(
    request: Request,
    meeting_id: FromPath[int],
    data: URLEncodedBody[dict[str, Any]],
    db_session: NamedDependency[orm.Session],
) -> Template | Redirect:
    return _agenda_edit(
        request,
        db_session,
        meeting_id,
        data,
        lambda s, u: s.add_item(
            meeting_id,
            data.get("version"),
            kind=data.get("kind"),
            issue_ref=data.get("issue_ref"),
            title=data.get("title"),
            minutes=data.get("minutes"),
            actor=u,
        ),
        "added",
    )


@post(
    "/meetings/{meeting_id:int}/agenda/items/{item_id:int}/remove",
    guards=[meeting_staff],
    sync_to_thread=True,
)
def remove_item(
    request: Request,
    meeting_id: FromPath[int],
    item_id: FromPath[int],
    data: URLEncodedBody[dict[str, Any]],
    db_session: NamedDependency[orm.Session],
) -> Template | Redirect:
    return _agenda_edit(
        request,
        db_session,
        meeting_id,
        data,
        lambda s, u: s.remove_item(meeting_id, data.get("version"), item_id, u),
        "removed",
    )


@post(
    "/meetings/{meeting_id:int}/agenda/items/{item_id:int}/move", guards=[meeting_staff], sync_to_thread=True
)
def move_item(
    request: Request,
    meeting_id: FromPath[int],
    item_id: FromPath[int],
    data: URLEncodedBody[dict[str, Any]],
    db_session: NamedDependency[orm.Session],
) -> Template | Redirect:
    direction = str(data.get("direction") or "")
    return _agenda_edit(
        request,
        db_session,
        meeting_id,
        data,
        lambda s, u: s.move_item(meeting_id, data.get("version"), item_id, direction, u),
        "moved",
        focus=f"move-{direction}-{item_id}",
    )


@post("/meetings/{meeting_id:int}/agenda/order", guards=[meeting_staff], sync_to_thread=True)
def reorder_agenda(
    request: Request,
    meeting_id: FromPath[int],
    data: URLEncodedBody[dict[str, Any]],
    db_session: NamedDependency[orm.Session],
) -> Template | Redirect:
    order = _as_list(data.get("item"))
    return _agenda_edit(
        request,
        db_session,
        meeting_id,
        data,
        lambda s, u: s.reorder(meeting_id, data.get("version"), order, u),
        "moved",
    )


@post(
    "/meetings/{meeting_id:int}/agenda/items/{item_id:int}/minutes",
    guards=[meeting_staff],
    sync_to_thread=True,
)
def set_minutes(
    request: Request,
    meeting_id: FromPath[int],
    item_id: FromPath[int],
    data: URLEncodedBody[dict[str, Any]],
    db_session: NamedDependency[orm.Session],
) -> Template | Redirect:
    service = MeetingService(db_session)
    try:
        service.set_minutes(
            meeting_id, data.get("version"), item_id, data.get("minutes"), web.signed_in_user(request)
        )
    except ValidationFailed as failed:
        db_session.expire_all()
        return meeting_page(
            request,
            service,
            meeting_id,
            errors=failed.errors,
            status_code=422,
            values={f"minutes-{item_id}": str(data.get("minutes") or "")},
        )
    except Conflict as conflict:
        db_session.expire_all()
        return meeting_page(request, service, meeting_id, conflict=conflict.message, status_code=409)
    return web.redirect(f"/meetings/{meeting_id}?done=minutes#agenda")


@post(
    "/meetings/{meeting_id:int}/agenda/items/{item_id:int}/details",
    guards=[meeting_staff],
    sync_to_thread=True,
)
def set_item_details(
    request: Request,
    meeting_id: FromPath[int],
    item_id: FromPath[int],
    data: URLEncodedBody[dict[str, Any]],
    db_session: NamedDependency[orm.Session],
) -> Template | Redirect:
    service = MeetingService(db_session)
    try:
        service.set_item_details(
            meeting_id,
            data.get("version"),
            item_id,
            presenter=data.get("presenter"),
            notes=data.get("notes"),
            actor=web.signed_in_user(request),
        )
    except ValidationFailed as failed:
        db_session.expire_all()
        values = {
            f"presenter-{item_id}": str(data.get("presenter") or ""),
            f"notes-{item_id}": str(data.get("notes") or ""),
        }
        return meeting_page(
            request, service, meeting_id, errors=failed.errors, values=values, status_code=422
        )
    except Conflict as conflict:
        db_session.expire_all()
        return meeting_page(request, service, meeting_id, conflict=conflict.message, status_code=409)
    return web.redirect(f"/meetings/{meeting_id}?done=details#item-{item_id}")


@post("/meetings/{meeting_id:int}/agenda/publish", guards=[meeting_staff], sync_to_thread=True)
def publish_agenda(
    request: Request,
    meeting_id: FromPath[int],
    data: URLEncodedBody[dict[str, Any]],
    db_session: NamedDependency[orm.Session],
) -> Template | Redirect:
    return _agenda_edit(
        request,
        db_session,
        meeting_id,
        data,
        lambda s, u: s.publish_agenda(meeting_id, data.get("version"), u),
        "published",
    )


@get("/meetings/{meeting_id:int}/agenda.ics", guards=[meeting_staff], sync_to_thread=True)
def agenda_ics(
    meeting_id: FromPath[int], request: Request, db_session: NamedDependency[orm.Session]
) -> Response[bytes]:
    meeting = MeetingService(db_session).get(meeting_id)
    body = pack_rendering.ics(meeting, host=request.url.hostname or "feedback-portal")
    return Response(
        body,
        media_type="text/calendar; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="meeting-{meeting.id}.ics"'},
    )


# Live mode ----------------------------------------------------------------------------------------------


@get("/meetings/{meeting_id:int}/live", guards=[meeting_staff], sync_to_thread=True)
def live_start(
    request: Request, meeting_id: FromPath[int], db_session: NamedDependency[orm.Session]
) -> Template | Redirect:
    meeting = MeetingService(db_session).get(meeting_id)
    if not meeting.items:
        return meeting_page(
            request,
            MeetingService(db_session),
            meeting_id,
            status_code=409,
            conflict="The agenda has no items yet: build it or add items before the meeting starts.",
        )
    first = next((item for item in meeting.items if item.outcome is None), meeting.items[0])
    return web.redirect(f"/meetings/{meeting_id}/live/{first.id}")


def live_page(
    request: Request,
    service: MeetingService,
    meeting_id: int,
    item_id: int,
    *,
    errors: dict[str, str] | None = None,
    values: dict[str, Any] | None = None,
    status_code: int = 200,
    done: str = "",
) -> Template:
    meeting = service.get(meeting_id)
    item = service.item(meeting, item_id)
    items = list(meeting.items)
    index = items.index(item)
    elapsed = None
    if item.started_at is not None:
        elapsed = int((dt.datetime.now(dt.UTC) - item.started_at).total_seconds() // 60)
    current = {
        "outcome": item.outcome or "",
        "outcome_reason": item.outcome_reason or "",
        "decision_notes": item.decision_notes or "",
    }
    return web.page(
        request,
        "meetings/live.html",
        status_code=status_code,
        active_nav="meetings",
        meeting=meeting,
        item=item,
        number=index + 1,
        previous_item=items[index - 1] if index > 0 else None,
        next_item=items[index + 1] if index + 1 < len(items) else None,
        elapsed=elapsed,
        people=service.people(),
        withheld=service.withheld_quotes(meeting.items),
        errors=errors or {},
        values={**current, **(values or {})},
        notice={"outcome": "Outcome recorded", "action": "Action added"}.get(done),
        **_common(service),
    )


@get("/meetings/{meeting_id:int}/live/{item_id:int}", guards=[meeting_staff], sync_to_thread=True)
def live_item(
    request: Request,
    meeting_id: FromPath[int],
    item_id: FromPath[int],
    db_session: NamedDependency[orm.Session],
    done: FromQuery[str] = "",
) -> Template:
    return live_page(request, MeetingService(db_session), meeting_id, item_id, done=done)


@post("/meetings/{meeting_id:int}/live/{item_id:int}/open", guards=[meeting_staff], sync_to_thread=True)
def live_open(
    request: Request,
    meeting_id: FromPath[int],
    item_id: FromPath[int],
    db_session: NamedDependency[orm.Session],
) -> Redirect:
    MeetingService(db_session).open_item(meeting_id, item_id, web.signed_in_user(request))
    return web.redirect(f"/meetings/{meeting_id}/live/{item_id}")


@post("/meetings/{meeting_id:int}/live/{item_id:int}/outcome", guards=[meeting_staff], sync_to_thread=True)
def live_outcome(
    request: Request,
    meeting_id: FromPath[int],
    item_id: FromPath[int],
    data: URLEncodedBody[dict[str, Any]],
    db_session: NamedDependency[orm.Session],
) -> Template | Redirect:
    service = MeetingService(db_session)
    try:
        service.record_outcome(
            meeting_id,
            item_id,
            outcome=data.get("outcome"),
            reason=data.get("outcome_reason"),
            notes=data.get("decision_notes"),
            actor=web.signed_in_user(request),
        )
    except ValidationFailed as failed:
        db_session.expire_all()
        return live_page(
            request,
            service,
            meeting_id,
            item_id,
            errors=failed.errors,
            status_code=422,
            values=web.form_values(data, ("outcome", "outcome_reason", "decision_notes")),
        )
    return web.redirect(f"/meetings/{meeting_id}/live/{item_id}?done=outcome")


@post("/meetings/{meeting_id:int}/live/{item_id:int}/actions", guards=[meeting_staff], sync_to_thread=True)
def live_action(
    request: Request,
    meeting_id: FromPath[int],
    item_id: FromPath[int],
    data: URLEncodedBody[dict[str, Any]],
    db_session: NamedDependency[orm.Session],
) -> Template | Redirect:
    service = MeetingService(db_session)
    try:
        service.add_action(
            meeting_id,
            item_id,
            description=data.get("description"),
            owner=data.get("owner"),
            due_on=data.get("due_on"),
            actor=web.signed_in_user(request),
        )
    except ValidationFailed as failed:
        db_session.expire_all()
        return live_page(
            request,
            service,
            meeting_id,
            item_id,
            errors=failed.errors,
            status_code=422,
            values=web.form_values(data, ("description", "owner", "due_on")),
        )
    return web.redirect(f"/meetings/{meeting_id}/live/{item_id}?done=action#actions")


@post("/meetings/{meeting_id:int}/end", guards=[meeting_staff], sync_to_thread=True)
def end_meeting(
    request: Request, meeting_id: FromPath[int], db_session: NamedDependency[orm.Session]
) -> Redirect:
    MeetingService(db_session).end_meeting(meeting_id, web.signed_in_user(request))
    return web.redirect(f"/meetings/{meeting_id}?done=ended")


# Minutes ------------------------------------------------------------------------------------------------


@post("/meetings/{meeting_id:int}/minutes/publish", guards=[meeting_staff], sync_to_thread=True)
def publish_minutes(
    request: Request, meeting_id: FromPath[int], db_session: NamedDependency[orm.Session]
) -> Template | Redirect:
    service = MeetingService(db_session)
    try:
        service.publish_minutes(meeting_id, web.signed_in_user(request))
    except ValidationFailed as failed:
        db_session.expire_all()
        return meeting_page(request, service, meeting_id, errors=failed.errors, status_code=422)
    return web.redirect(f"/meetings/{meeting_id}?done=minuted")


@post(
    "/meetings/{meeting_id:int}/minutes/items/{item_id:int}/amend",
    guards=[meeting_staff],
    sync_to_thread=True,
)
def amend_minutes(
    request: Request,
    meeting_id: FromPath[int],
    item_id: FromPath[int],
    data: URLEncodedBody[dict[str, Any]],
    db_session: NamedDependency[orm.Session],
) -> Template | Redirect:
    service = MeetingService(db_session)
    try:
        service.amend_minutes(
            meeting_id,
            item_id,
            decision_notes=data.get("decision_notes"),
            reason=data.get("reason"),
            actor=web.signed_in_user(request),
        )
    except ValidationFailed as failed:
        db_session.expire_all()
        errors = {f"{field}-{item_id}": message for field, message in failed.errors.items()}
        values = {
            f"decision_notes-{item_id}": str(data.get("decision_notes") or ""),
            f"reason-{item_id}": str(data.get("reason") or ""),
        }
        return meeting_page(request, service, meeting_id, errors=errors, values=values, status_code=422)
    return web.redirect(f"/meetings/{meeting_id}?done=amended#minutes")


# The agenda pack ----------------------------------------------------------------------------------------


PACK_CHARTS = ("volume", "severity", "rising")  # the insight charts a board member reads first
PACK_CHART_WEEKS = 12


def _pack_context(service: MeetingService, meeting: Meeting, settings: Settings) -> dict[str, Any]:
    # The last 12 weeks before the meeting (never before go-live): long enough to show a trend, short
    # enough to fit a page.
    since = max(settings.go_live, meeting.scheduled_for.date() - dt.timedelta(weeks=PACK_CHART_WEEKS))
    charts = insight_charts.pack_charts(
        service.session, go_live=settings.go_live, names=PACK_CHARTS, filters={"from": since.isoformat()},
        id_prefix=f"meeting-{meeting.id}",
    )
    return {
        "meeting": meeting,
        "due_actions": service.actions_for_agenda(meeting),
        "open_actions": service.open_actions(),
        "withheld": service.withheld_quotes(meeting.items),
        "charts": charts,
        "charts_since": since,
        **_common(service),
    }


@get("/meetings/{meeting_id:int}/pack", guards=[meeting_staff], sync_to_thread=True)
def agenda_pack(
    request: Request, meeting_id: FromPath[int], db_session: NamedDependency[orm.Session]
) -> Template:
    service = MeetingService(db_session)
    meeting = service.get(meeting_id)
    return web.page(
        request, "meetings/pack.html", active_nav="meetings",
        **_pack_context(service, meeting, web.settings_of(request)),
    )


@get("/meetings/{meeting_id:int}/pack.pdf", guards=[meeting_staff], sync_to_thread=True)
def agenda_pack_pdf(
    request: Request, meeting_id: FromPath[int], db_session: NamedDependency[orm.Session]
) -> Response[bytes]:
    service = MeetingService(db_session)
    meeting = service.get(meeting_id)
    template = request.app.template_engine.get_template("meetings/pack.html")
    html = template.render(
        user=web.current_user(request),
        active_nav="meetings",
        csrf_input="",
        pdf=True,
        **_pack_context(service, meeting, web.settings_of(request)),
    )
    pdf = pack_rendering.pdf(html)
    return Response(
        pdf,
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="agenda-pack-{meeting.id}.pdf"'},
    )


# Actions and decisions ----------------------------------------------------------------------------------

ACTION_FILTERS = {
    "open": "Open",
    "due": "Due in the next 7 days",
    "overdue": "Overdue",
    "done": "Done",
    "all": "All",
}


@get("/actions", guards=[meeting_staff], sync_to_thread=True)
def action_list(
    request: Request,
    db_session: NamedDependency[orm.Session],
    show: FromQuery[str] = "open",
    mine: FromQuery[str] = "",
    done: FromQuery[str] = "",
) -> Template:
    service = MeetingService(db_session)
    user = web.signed_in_user(request)
    errors: dict[str, str] = {}
    try:
        actions = service.actions(show=show, owner=user if mine else None)
    except ValidationFailed as failed:
        errors, show = failed.errors, "open"
        actions = service.actions(show="open", owner=user if mine else None)
    return web.page(
        request,
        "actions/list.html",
        status_code=400 if errors else 200,
        active_nav="meetings",
        actions=actions,
        show=show,
        mine=bool(mine),
        filters=ACTION_FILTERS,
        errors=errors,
        notice="Action marked done" if done else None,
        **_common(service),
    )


@post("/actions/{action_id:int}/done", guards=[web.signed_in], sync_to_thread=True)
def action_done(
    request: Request,
    action_id: FromPath[int],
    data: URLEncodedBody[dict[str, Any]],
    db_session: NamedDependency[orm.Session],
) -> Redirect:
    """The owner, or anyone who runs meetings, marks an action done."""
    service = MeetingService(db_session)
    user = web.signed_in_user(request)
    action = service.get_action(action_id)
    if action.owner_id != user.id and user.role_enum not in MEETING_ROLES:
        raise Forbidden("Only the action's owner, or someone who runs meetings, can mark it done.")
    service.mark_done(action_id, user)
    return web.redirect(web.safe_next(str(data.get("next") or ""), "/actions?done=1"))


@get("/decisions", guards=[meeting_staff], sync_to_thread=True)
def decision_log(
    request: Request, db_session: NamedDependency[orm.Session], q: FromQuery[str] = ""
) -> Template:
    service = MeetingService(db_session)
    return web.page(
        request,
        "decisions/list.html",
        active_nav="meetings",
        decisions=service.decisions(q),
        q=q,
        **_common(service),
    )


ROUTES = [
    meeting_list,
    create_meeting,
    create_series,
    series_detail,
    change_series,
    meeting_detail,
    change_meeting,
    build_agenda,
    add_item,
    remove_item,
    move_item,
    reorder_agenda,
    set_minutes,
    set_item_details,
    publish_agenda,
    agenda_ics,
    live_start,
    live_item,
    live_open,
    live_outcome,
    live_action,
    end_meeting,
    publish_minutes,
    amend_minutes,
    agenda_pack,
    agenda_pack_pdf,
    action_list,
    action_done,
    decision_log,
]
__all__ = ["LONDON", "ROUTES"]


# Template helpers for pages other helpers own (home.html, issues/detail.html) --------------------------


@jinja2.pass_context
def your_actions(context: Any) -> list[Any]:
    """The signed-in person's open actions, soonest due first, for the home page (a small indexed query)."""
    request, user = context.get("request"), context.get("user")
    if request is None or user is None or user.role_enum not in MEETING_ROLES:
        return []
    with web.session_factory_of(request)() as session:
        return MeetingService(session).actions(show="open", owner=user)[:10]


@jinja2.pass_context
def meeting_discussions(context: Any, issue: Any) -> list[Any]:
    """Which meetings discussed an issue and what they decided, for the issue page (readers only)."""
    request, user = context.get("request"), context.get("user")
    if request is None or user is None or user.role_enum not in MEETING_ROLES or issue is None:
        return []
    with web.session_factory_of(request)() as session:
        return MeetingService(session).discussions_of(issue)


def register_template_globals(environment: jinja2.Environment) -> None:
    environment.globals["your_actions"] = your_actions
    environment.globals["meeting_discussions"] = meeting_discussions
    environment.globals["meeting_when"] = when_text
    environment.globals["meeting_today"] = today_in_london
