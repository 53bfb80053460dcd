"""The agenda builder's rules: the documented priority score, minutes by weight of evidence that never
exceed the meeting, redacted quotes only (never held feedback), small teams folded into "Other",
carried-over items, and rebuilds that keep the chair's own items."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from feedback_portal import db
from feedback_portal.accounts.models import Team
from feedback_portal.accounts.services import AccountService
from feedback_portal.errors import Conflict, ValidationFailed
from feedback_portal.meetings import agenda
from feedback_portal.meetings.models import AgendaItem, ItemKind
from feedback_portal.meetings.services import MeetingService
from tests.conftest import CAROL
from tests.meetings.conftest import hold_feedback, load_user, make_issue, make_meeting, meeting_version

# The builder's SQL (GROUP BYs, a window function) runs on SQLite and on PostgreSQL.
pytestmark = pytest.mark.postgres

NOW = dt.datetime(2026, 11, 27, 9, tzinfo=dt.UTC)


def stats(**changes) -> agenda.IssueStats:
    values = {"issue_id": 1, "ref": "ISS-0001", "title": "t", "severity": 3, "created_at": NOW}
    return agenda.IssueStats(**{**values, **changes})


def test_priority_score_follows_the_documented_parts() -> None:
    item = stats(
        severity=1,
        identified=5,
        anonymous=1,
        me_toos=1,
        recent=4,
        previous=1,
        team_voices={1: 3, 2: 2, None: 1},
        created_at=NOW - dt.timedelta(weeks=3, days=2),
    )
    parts = agenda.score_parts(item, NOW.date())
    assert parts == {"severity": 40.0, "people": 30.0, "teams": 10.0, "trend": 9.0, "age": 3.0}
    assert agenda.priority_score(item, NOW.date()) == 92.0


def test_priority_score_ranks_severity_voices_and_trend() -> None:
    today = NOW.date()
    severe = agenda.priority_score(stats(severity=1, identified=2), today)
    minor = agenda.priority_score(stats(severity=3, identified=2), today)
    assert severe > minor
    assert agenda.priority_score(stats(identified=20), today) > agenda.priority_score(
        stats(identified=2), today
    )
    rising = agenda.priority_score(stats(identified=3, recent=5, previous=0), today)
    falling = agenda.priority_score(stats(identified=3, recent=0, previous=5), today)
    assert rising > falling
    # Trend and age are capped, so nothing runs away.
    assert agenda.score_parts(stats(recent=100), today)["trend"] == 30
    assert agenda.score_parts(stats(recent=0, previous=100), today)["trend"] == -10
    assert agenda.score_parts(stats(created_at=NOW - dt.timedelta(weeks=80)), today)["age"] == 12


def test_minutes_follow_the_weight_of_evidence_between_3_and_15() -> None:
    assert agenda.minutes_for(0) == 3
    assert agenda.minutes_for(60) == 9
    assert agenda.minutes_for(500) == 15
    assert agenda.minutes_for(-20) == 3


@pytest.mark.parametrize("length", [15, 20, 30, 45, 60, 90])
def test_allocation_never_exceeds_the_meeting_length(length: int) -> None:
    standing = agenda.standing_minutes(
        ["apologies", "last-minutes", "action-log", "actions-due", "aob"], 9, length
    )
    assert sum(standing) <= max(5, length // 2)
    candidates = [
        agenda.ProposedItem(kind="issue", minutes=agenda.minutes_for(score), issue_id=i)
        for i, score in enumerate([120, 90, 75, 60, 40, 30, 20, 10, 5, 0])
    ]
    taken, left = agenda.fill(candidates, length - sum(standing))
    assert sum(standing) + sum(item.minutes for item in taken) <= length
    assert all(item.minutes >= agenda.MIN_ISSUE_MINUTES for item in taken)
    assert len(taken) + len(left) == len(candidates)


def test_built_agenda_is_full_but_never_longer_than_the_meeting(app) -> None:
    for number in range(12):
        make_issue(app, f"Issue number {number}", count=1 + number % 3, severity=1 + number % 3)
    meeting_id = make_meeting(app, minutes=45)
    carol = load_user(app, CAROL)
    with app.state.session_factory() as session:
        result = MeetingService(session).build_agenda(meeting_id, meeting_version(app, meeting_id), carol)
        meeting = MeetingService(session).get(meeting_id)
        assert meeting.allotted_minutes <= 45
        assert result.left_out  # twelve issues do not fit in 45 minutes
        issues = [item for item in meeting.items if item.kind == ItemKind.ISSUE]
        # New severity 1-2 issues come first, then the rest by score.
        reasons = [item.evidence["why"] for item in issues]
        assert reasons == sorted(reasons, key=lambda why: why != "new-severe")
        assert all(item.evidence["why"] in {"new-severe", "score"} for item in issues)
        assert all(item.evidence["why"] == "new-severe" for item in issues if item.issue.severity in (1, 2))


def test_held_feedback_is_never_quoted(app) -> None:
    ref = make_issue(app, "Held evidence", count=2, body="Jane Smith's address was shown to another family")
    held = hold_feedback(app, ref)
    make_issue(app, "Visible evidence", count=1, body="The chronology does not print")
    meeting_id = make_meeting(app)
    carol = load_user(app, CAROL)
    with app.state.session_factory() as session:
        MeetingService(session).build_agenda(meeting_id, meeting_version(app, meeting_id), carol)
        items = session.scalars(sa.select(AgendaItem).where(AgendaItem.kind == "issue")).all()
        quoted = {quote["ref"] for item in items for quote in item.evidence["quotes"]}
        texts = " ".join(quote["text"] for item in items for quote in item.evidence["quotes"])
    assert not quoted & set(held)
    assert "Jane Smith" not in texts
    assert "chronology does not print" in texts
    # Held feedback still counts: the board sees the size of the problem, not the words.
    held_item = next(item for item in items if item.issue.ref == ref)
    assert held_item.evidence["feedback"] == 2 and held_item.evidence["quotes"] == []


def test_teams_under_five_people_are_folded_into_other(app) -> None:
    with db.write_session(app.state.session_factory) as session:
        accounts = AccountService(session)
        accounts.ensure_team("big-team", "Big Team")
        for number in range(5):
            accounts.create_user(
                email=f"big{number}@council.example",
                name=f"Big {number}",
                role="frontline",
                team_slug="big-team",
                password="correct horse battery",
            )
    make_issue(app, "Folded teams", count=2, team="big-team", submitter="big0@council.example")
    with app.state.session_factory() as session:
        small = session.scalar(sa.select(Team.id).where(Team.slug == "cp-west"))  # Alice's team: 1 person
        big = session.scalar(sa.select(Team.id).where(Team.slug == "big-team"))
        folded = agenda.folded_teams(session, {big: 2, small: 3, None: 1})
    assert folded == [{"team": "Big Team", "count": 2}, {"team": "Other", "count": 4}]


def test_rebuild_keeps_manual_items_and_replaces_proposed_ones(app) -> None:
    make_issue(app, "Proposed one", count=2)
    manual = make_issue(app, "Added by the chair", count=1)
    meeting_id = make_meeting(app)
    carol = load_user(app, CAROL)
    with app.state.session_factory() as session:
        service = MeetingService(session)
        service.build_agenda(meeting_id, meeting_version(app, meeting_id), carol)
        service.add_item(
            meeting_id, meeting_version(app, meeting_id), kind="aob", title="Budget", minutes=2, actor=carol
        )
        service.remove_item(
            meeting_id,
            meeting_version(app, meeting_id),
            next(i.id for i in service.get(meeting_id).items if i.issue and i.issue.ref == manual),
            carol,
        )
        service.add_item(
            meeting_id,
            meeting_version(app, meeting_id),
            kind="issue",
            issue_ref=manual,
            minutes=4,
            actor=carol,
        )
        service.build_agenda(meeting_id, meeting_version(app, meeting_id), carol)
        session.expire_all()
        items = service.get(meeting_id).items
        assert [i.issue.ref for i in items if i.issue].count(manual) == 1
        assert any(i.kind == "aob" and i.title == "Budget" and i.source == "manual" for i in items)
        assert [i.position for i in items] == list(range(1, len(items) + 1))


def test_a_stale_version_is_refused_and_nothing_changes(app) -> None:
    make_issue(app, "Something", count=2)
    meeting_id = make_meeting(app)
    carol = load_user(app, CAROL)
    stale = meeting_version(app, meeting_id)
    with app.state.session_factory() as session:
        MeetingService(session).build_agenda(meeting_id, stale, carol)
    with app.state.session_factory() as session, pytest.raises(Conflict):
        MeetingService(session).build_agenda(meeting_id, stale, carol)


def test_ending_a_meeting_carries_undecided_items_to_the_next_meeting_of_the_series(app) -> None:
    make_issue(app, "Decided", count=3, severity=1)
    make_issue(app, "Undecided", count=1)
    carol = load_user(app, CAROL)
    with app.state.session_factory() as session:
        service = MeetingService(session)
        series = service.create_series(title="Board", cadence="weekly", usual_minutes=60, actor=carol)
        series_id = series.id
    meeting_id = make_meeting(app, series_id=series_id, when=dt.datetime(2026, 10, 22, 9, tzinfo=dt.UTC))
    with app.state.session_factory() as session:
        service = MeetingService(session)
        service.build_agenda(meeting_id, meeting_version(app, meeting_id), carol)
        issues = [i for i in service.get(meeting_id).items if i.kind == "issue"]
        service.record_outcome(meeting_id, issues[0].id, outcome="deferred", actor=carol)
        following = service.end_meeting(meeting_id, carol)
        assert following.series_id == series_id
        # One week later, the same London wall-clock time (10:00 BST became 10:00 GMT after the clock change).
        assert following.scheduled_for == dt.datetime(2026, 10, 29, 10, tzinfo=dt.UTC)
        carried = [i for i in following.items if i.carried_over_from_id]
        assert [i.issue_id for i in carried] == [issues[1].issue_id]
        assert carried[0].carry_over_count == 1
        # Rebuilding the next agenda keeps the carried item, once.
        service.build_agenda(following.id, following.version, carol)
        session.expire_all()
        again = [i for i in service.get(following.id).items if i.issue_id == issues[1].issue_id]
        assert len(again) == 1 and again[0].carry_over_count == 1


def test_publishing_minutes_with_no_outcome_is_refused(app) -> None:
    make_issue(app, "Something", count=2)
    meeting_id = make_meeting(app)
    carol = load_user(app, CAROL)
    with app.state.session_factory() as session:
        service = MeetingService(session)
        service.build_agenda(meeting_id, meeting_version(app, meeting_id), carol)
        with pytest.raises(ValidationFailed) as failed:
            service.publish_minutes(meeting_id, carol)
        assert "publish_minutes" in failed.value.errors
        assert service.get(meeting_id).state == "planning"


def test_wont_fix_sets_the_issue_status_with_the_reason(app) -> None:
    ref = make_issue(app, "Colour of the buttons", count=1)
    meeting_id = make_meeting(app)
    carol = load_user(app, CAROL)
    with app.state.session_factory() as session:
        service = MeetingService(session)
        service.build_agenda(meeting_id, meeting_version(app, meeting_id), carol)
        item = next(i for i in service.get(meeting_id).items if i.kind == "issue")
        service.record_outcome(
            meeting_id,
            item.id,
            outcome="wont-fix",
            reason="The supplier's design system sets it",
            actor=carol,
        )
        result = service.publish_minutes(meeting_id, carol)
        assert result.issues_changed == [ref]
        issue = service.get(meeting_id).items[item.position - 1].issue
        assert issue.status == "wont-fix" and issue.status_reason == "The supplier's design system sets it"


def test_carrying_items_into_a_full_agenda_keeps_it_within_the_meeting(app) -> None:
    for number in range(8):
        make_issue(app, f"Issue {number}", count=2 + number % 3)
    carol = load_user(app, CAROL)
    with app.state.session_factory() as session:
        series_id = (
            MeetingService(session)
            .create_series(title="Board", cadence="weekly", usual_minutes=30, actor=carol)
            .id
        )
    first = make_meeting(
        app, minutes=30, series_id=series_id, when=dt.datetime(2026, 11, 20, 10, tzinfo=dt.UTC)
    )
    second = make_meeting(
        app, minutes=30, series_id=series_id, when=dt.datetime(2026, 11, 27, 10, tzinfo=dt.UTC)
    )
    with app.state.session_factory() as session:
        service = MeetingService(session)
        service.build_agenda(first, meeting_version(app, first), carol)
        service.build_agenda(second, meeting_version(app, second), carol)
        assert service.end_meeting(first, carol).id == second
        session.expire_all()
        following = service.get(second)
        assert following.allotted_minutes <= 30
        carried = [item for item in following.items if item.carried_over_from_id is not None]
        assert carried and all(item.carry_over_count == 1 for item in carried)
        kinds = [item.kind for item in following.items]
        assert kinds.index("issue") > kinds.index("action-log")
        assert [item.position for item in following.items] == list(range(1, len(kinds) + 1))


def test_feedback_held_after_the_agenda_was_built_is_no_longer_quoted(app, client) -> None:  # noqa: ANN001
    from tests.conftest import api_token, sign_in

    ref = make_issue(app, "Flagged later", count=1, body="Words that turn out to identify someone")
    meeting_id = make_meeting(app)
    carol = load_user(app, CAROL)
    with app.state.session_factory() as session:
        MeetingService(session).build_agenda(meeting_id, meeting_version(app, meeting_id), carol)
    sign_in(client, CAROL)
    assert "turn out to identify" in client.get(f"/meetings/{meeting_id}/pack").text
    hold_feedback(app, ref)
    for path in (f"/meetings/{meeting_id}", f"/meetings/{meeting_id}/pack"):
        page = client.get(path)
        assert page.status_code == 200 and "turn out to identify" not in page.text, path
    token = {"Authorization": f"Bearer {api_token(app, CAROL)}"}
    agenda = client.get(f"/api/v1/meetings/{meeting_id}/agenda", headers=token)
    assert agenda.status_code == 200 and "turn out to identify" not in agenda.text
