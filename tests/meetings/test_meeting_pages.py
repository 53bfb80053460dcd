"""The meeting pages over HTTP: the agenda editor, live mode, minutes, actions, decisions, the pack and .ics,
and every bad input the issue names (a clear message beside the field, a 4xx, nothing half-written)."""

from __future__ import annotations

import datetime as dt
import re

import icalendar
import pytest
import sqlalchemy as sa
from litestar.testing import TestClient

from feedback_portal.audit.models import AuditEvent
from feedback_portal.issues.models import Issue
from feedback_portal.meetings.models import Action, AgendaItem, Meeting
from feedback_portal.notifications.models import Notification
from tests.conftest import ALICE, BOB, CAROL, csrf_token, field_error, sign_in
from tests.meetings.conftest import make_issue, make_meeting, meeting_version


# Runs on SQLite and again on PostgreSQL.


def post(client: TestClient, path: str, **data):
    return client.post(path, data={**data, "_csrf_token": csrf_token(client)}, follow_redirects=False)


def items_of(app, meeting_id: int) -> list[AgendaItem]:
    with app.state.session_factory() as session:
        return list(
            session.scalars(
                sa.select(AgendaItem).where(AgendaItem.meeting_id == meeting_id).order_by(AgendaItem.position)
            )
        )


@pytest.fixture
def as_carol(client: TestClient) -> TestClient:
    sign_in(client, CAROL)
    return client


@pytest.fixture
def built(app, as_carol: TestClient) -> int:
    """A meeting whose agenda was built from two issues."""
    make_issue(app, "Case notes lost when the CMS times out", count=3, severity=1)
    make_issue(app, "Search is slow", count=2)
    meeting_id = make_meeting(app)
    response = post(
        as_carol, f"/meetings/{meeting_id}/agenda/build", version=meeting_version(app, meeting_id)
    )
    assert response.status_code == 303
    return meeting_id


def test_frontline_staff_cannot_open_meetings(as_alice: TestClient) -> None:
    assert as_alice.get("/meetings").status_code == 403
    assert as_alice.get("/actions").status_code == 403
    assert as_alice.get("/decisions").status_code == 403


def test_create_a_series_and_a_meeting_from_the_list_page(app, as_carol: TestClient) -> None:
    page = as_carol.get("/meetings")
    assert page.status_code == 200 and "Create a series" in page.text
    response = post(
        as_carol,
        "/meetings/series",
        series_title="CMS implementation board",
        cadence="fortnightly",
        usual_minutes="60",
        standing_items=["apologies", "action-log"],
    )
    assert response.status_code == 303
    with app.state.session_factory() as session:
        series_id = session.execute(sa.text("select id from meeting_series")).scalar_one()
    response = post(
        as_carol,
        "/meetings",
        series_id=str(series_id),
        title="",
        date="2030-01-10",
        time="10:00",
        duration_minutes="",
    )
    assert response.status_code == 303
    meeting_page = as_carol.get(response.headers["location"])
    assert "CMS implementation board" in meeting_page.text
    assert "10 January 2030 at 10:00am" in meeting_page.text


def test_creating_a_meeting_with_bad_input_says_what_is_wrong_beside_each_field(
    app, as_carol: TestClient
) -> None:
    response = post(as_carol, "/meetings", title="", date="31/02/2030", time="10:00", duration_minutes="5")
    assert response.status_code == 422
    assert field_error(response.text, "title") == "Enter a title for the meeting"
    assert "real date" in field_error(response.text, "date")
    assert "15 to 480" in field_error(response.text, "duration_minutes")
    with app.state.session_factory() as session:
        assert session.scalar(sa.select(sa.func.count(Meeting.id))) == 0


def test_building_with_no_evidence_gives_a_clear_message_and_changes_nothing(
    app, as_carol: TestClient
) -> None:
    meeting_id = make_meeting(app)
    version = meeting_version(app, meeting_id)
    response = post(as_carol, f"/meetings/{meeting_id}/agenda/build", version=version)
    assert response.status_code == 422
    assert "no evidence to build an agenda from" in field_error(response.text, "build")
    assert items_of(app, meeting_id) == []
    assert meeting_version(app, meeting_id) == version


def test_publishing_an_agenda_with_no_items_is_refused(app, as_carol: TestClient) -> None:
    meeting_id = make_meeting(app)
    response = post(
        as_carol, f"/meetings/{meeting_id}/agenda/publish", version=meeting_version(app, meeting_id)
    )
    assert response.status_code == 422
    assert "no items" in field_error(response.text, "publish")
    with app.state.session_factory() as session:
        assert session.get(Meeting, meeting_id).state == "planning"


def test_built_agenda_shows_evidence_and_stays_within_the_meeting(
    app, as_carol: TestClient, built: int
) -> None:
    page = as_carol.get(f"/meetings/{built}")
    assert "Case notes lost when the CMS times out" in page.text
    assert "Apologies" in page.text and "Action log" in page.text
    assert "What people said" in page.text
    items = items_of(app, built)
    assert sum(item.minutes for item in items) <= 60
    assert [item.kind for item in items][:3] == ["apologies", "last-minutes", "action-log"]


def test_move_up_and_down_buttons_reorder_without_javascript(app, as_carol: TestClient, built: int) -> None:
    before = [item.id for item in items_of(app, built)]
    response = post(
        as_carol,
        f"/meetings/{built}/agenda/items/{before[1]}/move",
        version=meeting_version(app, built),
        direction="up",
    )
    assert response.status_code == 303
    after = [item.id for item in items_of(app, built)]
    assert after[:2] == [before[1], before[0]] and after[2:] == before[2:]
    page = as_carol.get(response.headers["location"])
    assert f'id="move-down-{before[1]}"' in page.text and "data-agenda-focus" in page.text


def test_two_chairs_reordering_at_once_the_second_gets_a_conflict_and_nothing_changes(
    app, as_carol, built
) -> None:
    ids = [item.id for item in items_of(app, built)]
    stale = meeting_version(app, built)
    first = post(as_carol, f"/meetings/{built}/agenda/order", version=stale, item=list(reversed(ids)))
    assert first.status_code == 303
    after_first = [item.id for item in items_of(app, built)]
    second = post(as_carol, f"/meetings/{built}/agenda/items/{ids[0]}/move", version=stale, direction="down")
    assert second.status_code == 409
    assert "Someone else changed this agenda while you had it open" in second.text
    assert [item.id for item in items_of(app, built)] == after_first
    also_stale = post(as_carol, f"/meetings/{built}/agenda/order", version=stale, item=ids)
    assert also_stale.status_code == 409
    assert [item.id for item in items_of(app, built)] == after_first


def test_minutes_over_the_meeting_length_get_a_message_beside_the_field(app, as_carol, built) -> None:
    item = items_of(app, built)[0]
    response = post(
        as_carol,
        f"/meetings/{built}/agenda/items/{item.id}/minutes",
        version=meeting_version(app, built),
        minutes="500",
    )
    assert response.status_code == 422
    assert "longer than the meeting" in field_error(response.text, f"minutes-{item.id}")
    assert items_of(app, built)[0].minutes == item.minutes


def test_chair_adds_an_issue_by_ref_and_an_aob_item_and_a_rebuild_keeps_them(app, as_carol, built) -> None:
    extra = make_issue(app, "Printing chronology", count=1)
    response = post(
        as_carol,
        f"/meetings/{built}/agenda/items/{items_of(app, built)[-1].id}/remove",
        version=meeting_version(app, built),
    )
    assert response.status_code == 303
    response = post(
        as_carol,
        f"/meetings/{built}/agenda/items",
        version=meeting_version(app, built),
        kind="issue",
        issue_ref=extra.lower(),
        minutes="4",
    )
    assert response.status_code == 303, response.text
    response = post(
        as_carol,
        f"/meetings/{built}/agenda/items",
        version=meeting_version(app, built),
        kind="aob",
        title="Supplier visit next month",
        minutes="3",
    )
    assert response.status_code == 303
    bad = post(
        as_carol,
        f"/meetings/{built}/agenda/items",
        version=meeting_version(app, built),
        kind="issue",
        issue_ref="ISS-9999",
        minutes="3",
    )
    assert bad.status_code == 422 and field_error(bad.text, "issue_ref") == "There is no issue ISS-9999"
    post(as_carol, f"/meetings/{built}/agenda/build", version=meeting_version(app, built))
    headings = [(item.kind, item.title, item.source) for item in items_of(app, built)]
    assert ("aob", "Supplier visit next month", "manual") in headings
    manual_issue = [item for item in items_of(app, built) if item.source == "manual" and item.kind == "issue"]
    assert len(manual_issue) == 1


def _live_item(app, meeting_id: int) -> AgendaItem:
    return next(item for item in items_of(app, meeting_id) if item.kind == "issue")


def test_wont_fix_without_a_reason_is_refused(app, as_carol, built) -> None:
    item = _live_item(app, built)
    response = post(
        as_carol,
        f"/meetings/{built}/live/{item.id}/outcome",
        outcome="wont-fix",
        outcome_reason="",
        decision_notes="Not worth it",
    )
    assert response.status_code == 422
    assert "reason" in field_error(response.text, "outcome_reason")
    assert _live_item(app, built).outcome is None


def test_an_action_needs_an_owner_and_a_due_date_not_in_the_past(app, as_carol, built) -> None:
    item = _live_item(app, built)
    yesterday = (dt.date.today() - dt.timedelta(days=2)).isoformat()
    response = post(
        as_carol,
        f"/meetings/{built}/live/{item.id}/actions",
        description="Ask the supplier",
        owner="",
        due_on=yesterday,
    )
    assert response.status_code == 422
    assert field_error(response.text, "owner") == "Choose who owns the action"
    assert "today" in field_error(response.text, "due_on")
    with app.state.session_factory() as session:
        assert session.scalar(sa.select(sa.func.count(Action.id))) == 0


def test_live_mode_end_to_end_minutes_update_issues_and_tell_contributors(app, as_carol, built) -> None:
    live = as_carol.get(f"/meetings/{built}/live", follow_redirects=True)
    assert live.status_code == 200 and "minutes</strong> allotted" in live.text
    issue_items = [item for item in items_of(app, built) if item.kind == "issue"]
    first, second = issue_items[0], issue_items[1]
    assert post(as_carol, f"/meetings/{built}/live/{first.id}/open").status_code == 303
    response = post(
        as_carol,
        f"/meetings/{built}/live/{first.id}/outcome",
        outcome="change-request",
        decision_notes="Ask the supplier to keep drafts when a session times out.",
    )
    assert response.status_code == 303
    with app.state.session_factory() as session:
        carol_id = session.scalar(sa.text("select id from users where email = :e"), {"e": CAROL.email})
    due = (dt.date.today() + dt.timedelta(days=7)).isoformat()
    response = post(
        as_carol,
        f"/meetings/{built}/live/{first.id}/actions",
        description="Raise the change request",
        owner=str(carol_id),
        due_on=due,
    )
    assert response.status_code == 303
    page = as_carol.get(f"/meetings/{built}/live/{first.id}")
    assert "Raise the change request" in page.text and "Change request to supplier" in page.text

    with app.state.session_factory() as session:
        version_before = session.get(Issue, first.issue_id).version
    response = post(as_carol, f"/meetings/{built}/minutes/publish")
    assert response.status_code == 303
    with app.state.session_factory() as session:
        meeting = session.get(Meeting, built)
        assert meeting.state == "minutes-published"
        issue = session.get(Issue, first.issue_id)
        assert issue.status == "change-requested" and issue.version == version_before + 1
        events = session.scalars(
            sa.select(AuditEvent).where(
                AuditEvent.action == "issue.updated", AuditEvent.record_ref == issue.ref
            )
        ).all()
        from_meeting = [event for event in events if (event.after or {}).get("meeting")]
        assert len(from_meeting) == 1 and from_meeting[0].after["status"] == "change-requested"
        # The undecided item was carried over to a new meeting made from the cadence.
        carried = session.scalars(
            sa.select(AgendaItem).where(AgendaItem.carried_over_from_id == second.id)
        ).one()
        assert carried.carry_over_count == 1 and carried.meeting_id != built
        told = list(
            session.scalars(
                sa.select(Notification)
                .join(
                    sa.table("users", sa.column("id"), sa.column("email")),
                    sa.text("users.id = notifications.user_id"),
                )
                .where(sa.text("users.email = :e"))
                .params(e=ALICE.email)
            )
        )
    assert any("The implementation board decided: Change request to supplier" in n.body for n in told)
    assert any("What happens next" in n.body for n in told)
    # Published minutes are frozen: a change is an amendment, with who, when and why.
    response = post(
        as_carol,
        f"/meetings/{built}/minutes/items/{first.id}/amend",
        decision_notes="Ask the supplier to keep drafts for 24 hours.",
        reason="",
    )
    assert response.status_code == 422 and field_error(response.text, f"reason-{first.id}")
    response = post(
        as_carol,
        f"/meetings/{built}/minutes/items/{first.id}/amend",
        decision_notes="Ask the supplier to keep drafts for 24 hours.",
        reason="Wording agreed after",
    )
    assert response.status_code == 303
    page = as_carol.get(f"/meetings/{built}")
    assert "Amendments" in page.text and "Wording agreed after" in page.text
    # The decision log, the issue page and the actions tracker show it.
    assert "24 hours" in as_carol.get("/decisions?q=drafts").text
    assert "No decisions match" in as_carol.get("/decisions?q=zebra").text
    issue_page = as_carol.get(f"/issues/{issue.ref}")
    assert "Discussed at meetings" in issue_page.text and "Change request to supplier" in issue_page.text
    actions = as_carol.get("/actions")
    assert "Raise the change request" in actions.text
    assert "Your actions" in as_carol.get("/").text
    action_id = int(re.search(r"/actions/(\d+)/done", actions.text).group(1))
    assert post(as_carol, f"/actions/{action_id}/done", next="/actions").status_code == 303
    assert "Raise the change request" in as_carol.get("/actions?show=done").text


def test_ics_has_london_times_a_stable_uid_and_the_agenda(app, as_carol, built) -> None:
    first = as_carol.get(f"/meetings/{built}/agenda.ics")
    assert first.status_code == 200 and first.headers["content-type"].startswith("text/calendar")
    calendar = icalendar.Calendar.from_ical(first.content)
    event = next(iter(calendar.walk("VEVENT")))
    assert str(event["uid"]) == f"meeting-{built}@portal.test"
    assert event.decoded("dtstart").tzinfo.key == "Europe/London"
    assert (event.decoded("dtend") - event.decoded("dtstart")) == dt.timedelta(minutes=60)
    assert "Case notes lost" in str(event["description"])
    again = icalendar.Calendar.from_ical(as_carol.get(f"/meetings/{built}/agenda.ics").content)
    assert str(next(iter(again.walk("VEVENT")))["uid"]) == str(event["uid"])


def test_the_pack_prints_and_renders_as_pdf(app, as_carol, built) -> None:
    page = as_carol.get(f"/meetings/{built}/pack")
    assert page.status_code == 200
    assert "Action log" in page.text and "<svg" in page.text and "print.css" in page.text
    pdf = as_carol.get(f"/meetings/{built}/pack.pdf")
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")


def test_the_pack_carries_the_insight_charts_with_their_numbers_open_for_print(app, as_carol, built) -> None:
    page = as_carol.get(f"/meetings/{built}/pack")
    assert page.status_code == 200
    assert "The feedback since" in page.text
    for title in ("Open issues at the end of each week, by severity", "Rising issues: this fortnight against"):
        assert title in page.text
    # A closed "Show the data" would not print; each chart's table is open in the pack.
    assert page.text.count('class="govuk-details app-insight-data" open') == 3
    assert "/insight/volume.csv" not in page.text  # downloads belong on the insight page, not on paper


def test_unknown_meeting_is_404(as_carol: TestClient) -> None:
    assert as_carol.get("/meetings/999").status_code == 404
    assert as_carol.get("/meetings/999/agenda.ics").status_code == 404


def test_business_support_can_run_meetings_too(app, client: TestClient) -> None:
    sign_in(client, BOB)
    assert client.get("/meetings").status_code == 200


def test_change_the_meeting_details_and_the_length_cannot_drop_below_the_agenda(app, as_carol, built) -> None:
    version = meeting_version(app, built)
    short = post(
        as_carol,
        f"/meetings/{built}/details",
        version=version,
        title="Board",
        date="2030-02-01",
        time="09:30",
        duration_minutes="15",
    )
    assert short.status_code == 422
    assert "already takes" in field_error(short.text, "details-duration_minutes")
    saved = post(
        as_carol,
        f"/meetings/{built}/details",
        version=version,
        title="Board, rearranged",
        date="2030-07-01",
        time="09:30",
        duration_minutes="90",
    )
    assert saved.status_code == 303
    page = as_carol.get(f"/meetings/{built}")
    assert "Board, rearranged" in page.text and "1 July 2030 at 9:30am" in page.text
    stale = post(
        as_carol,
        f"/meetings/{built}/details",
        version=version,
        title="Old",
        date="2030-07-01",
        time="09:30",
        duration_minutes="90",
    )
    assert stale.status_code == 409 and "Someone else changed this meeting" in stale.text


def test_presenter_and_notes_for_an_item(app, as_carol, built) -> None:
    item = items_of(app, built)[3]
    bad = post(
        as_carol,
        f"/meetings/{built}/agenda/items/{item.id}/details",
        version=meeting_version(app, built),
        presenter="99999",
        notes="x",
    )
    assert (
        bad.status_code == 422
        and field_error(bad.text, f"presenter-{item.id}") == "Choose the presenter from the list"
    )
    with app.state.session_factory() as session:
        carol_id = session.scalar(sa.text("select id from users where email = :e"), {"e": CAROL.email})
    saved = post(
        as_carol,
        f"/meetings/{built}/agenda/items/{item.id}/details",
        version=meeting_version(app, built),
        presenter=str(carol_id),
        notes="Bring the supplier's reply",
    )
    assert saved.status_code == 303
    assert "Presenter: Carol Board" in as_carol.get(f"/meetings/{built}").text
    assert "Bring the supplier&#39;s reply" in as_carol.get(f"/meetings/{built}/pack").text


def test_change_a_series(app, as_carol: TestClient) -> None:  # noqa: ANN001
    post(as_carol, "/meetings/series", series_title="Board", cadence="weekly", usual_minutes="60")
    with app.state.session_factory() as session:
        series_id = session.execute(sa.text("select id from meeting_series")).scalar_one()
    page = as_carol.get(f"/meetings/series/{series_id}")
    assert page.status_code == 200 and 'value="Board"' in page.text
    bad = post(
        as_carol, f"/meetings/series/{series_id}", series_title="", cadence="monthly", usual_minutes="0"
    )
    assert bad.status_code == 422
    assert field_error(bad.text, "series_title") == "Enter a title for the series"
    assert "weekly or fortnightly" in field_error(bad.text, "cadence")
    saved = post(
        as_carol,
        f"/meetings/series/{series_id}",
        series_title="Board (fortnightly)",
        cadence="fortnightly",
        usual_minutes="90",
        standing_items=["apologies"],
    )
    assert saved.status_code == 303
    assert "Board (fortnightly)" in as_carol.get("/meetings").text
    with app.state.session_factory() as session:
        row = session.execute(
            sa.text("select cadence, usual_minutes, standing_items from meeting_series")
        ).one()
    assert row[0] == "fortnightly" and row[1] == 90 and "apologies" in row[2] and "aob" not in row[2]
