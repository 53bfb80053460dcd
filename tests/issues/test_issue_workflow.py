"""The issue workflow in IssueService.change(): the transition table, reasons, severity and owner,
all-or-nothing saves with a version, the audit of every change, and the notification hook."""

from __future__ import annotations

import logging

import pytest
import sqlalchemy as sa

from feedback_portal.audit.models import AuditEvent
from feedback_portal.errors import Conflict, ValidationFailed
from feedback_portal.issues.models import IssueStatus, Severity
from feedback_portal.issues.notify import NotificationHook
from feedback_portal.issues.services import TRANSITIONS, IssueService, next_statuses, transition_problem
from tests.conftest import ALICE, BOB, CAROL, DAN, ERIN
from tests.factories import make_feedback
from tests.issues.triage_helpers import FakeNotifications


S = IssueStatus
REASON = {"status_reason": "The supplier will not change this screen."}


@pytest.fixture
def new_issue(app, issues, person):  # noqa: ANN001, ANN201
    return issues.create("Case notes time out", [make_feedback(app, ALICE.email)], person(BOB))


def fresh(app, ref):  # noqa: ANN001, ANN201
    with app.state.session_factory() as db_session:
        return IssueService(db_session).get(ref)


def move(issues, ref, person, *path):  # noqa: ANN001, ANN002, ANN201
    """Walk an issue along statuses (giving a reason where one is needed); returns it at the end."""
    issue = None
    for status in path:
        version = issue.version if issue else issues.get(ref).version
        changes = {"status": status, **(REASON if S(status).needs_reason else {})}
        issue = issues.change(ref, version, changes, person(BOB))
    return issue


# The table


def test_every_status_has_a_row_and_nothing_goes_back_to_new():
    assert set(TRANSITIONS) == set(IssueStatus)
    assert all(S.NEW not in targets for targets in TRANSITIONS.values())
    assert all(status not in TRANSITIONS[status] for status in IssueStatus)  # staying put is not a "move"


@pytest.mark.parametrize(
    ("path"),
    [
        # the main path, one step at a time
        (S.INVESTIGATING, S.CHANGE_REQUESTED, S.FIX_SCHEDULED, S.FIXED, S.CLOSED),
        # skipping forward
        (S.FIX_SCHEDULED,),
        (S.FIXED, S.CLOSED),
        # stepping back while open: the release slipped, the supplier rejected the change
        (S.FIX_SCHEDULED, S.CHANGE_REQUESTED, S.INVESTIGATING),
        # decisions, revising one, closing it, reopening
        (S.INVESTIGATING, S.WONT_FIX, S.GUIDANCE_ISSUED, S.CLOSED, S.INVESTIGATING),
        (S.TRAINING_ARRANGED, S.INVESTIGATING, S.FIXED, S.INVESTIGATING),
        (S.FIXED, S.CLOSED, S.INVESTIGATING, S.FIX_SCHEDULED),
    ],
)
def test_allowed_moves_are_saved(app, issues, person, new_issue, path):
    issue = move(issues, new_issue.ref, person, *path)
    assert issue.status == path[-1]
    assert fresh(app, new_issue.ref).status == path[-1]


@pytest.mark.parametrize(
    ("path", "refused", "message"),
    [
        ((), S.CLOSED, "An issue that is New cannot be closed yet"),
        ((S.INVESTIGATING,), S.NEW, "cannot go back to New"),
        (
            (S.FIXED, S.CLOSED),
            S.FIX_SCHEDULED,
            "This issue is Closed, so it cannot go straight to Fix scheduled. "
            "Reopen it as Investigating first",
        ),
        ((S.WONT_FIX,), S.CHANGE_REQUESTED, "Reopen it as Investigating first"),
        ((S.FIXED,), S.WONT_FIX, "From Fixed it can go to: Investigating, Closed"),
        ((S.FIXED, S.CLOSED), S.GUIDANCE_ISSUED, "From Closed it can go to: Investigating"),
        ((S.FIX_SCHEDULED,), S.CLOSED, "Close it once it is Fixed"),
    ],
)
def test_refused_moves_name_the_status_field_and_save_nothing(
    app, issues, person, new_issue, path, refused, message
):
    before = move(issues, new_issue.ref, person, *path) if path else new_issue
    changes = {"status": refused, "title": "Also renamed", **REASON}
    with pytest.raises(ValidationFailed) as failed:
        issues.change(new_issue.ref, before.version, changes, person(BOB))
    assert set(failed.value.errors) == {"status"}
    assert message in failed.value.errors["status"]
    after = fresh(app, new_issue.ref)
    assert (after.status, after.title, after.version) == (
        before.status,
        "Case notes time out",
        before.version,
    )


def test_the_helpers_agree_with_the_table():
    for status in IssueStatus:
        assert set(next_statuses(status)) == TRANSITIONS[status]
        for target in IssueStatus:
            allowed = target == status or target in TRANSITIONS[status]
            assert (transition_problem(status, target) is None) == allowed, (status, target)


# Reasons


@pytest.mark.parametrize("status", [S.WONT_FIX, S.GUIDANCE_ISSUED, S.TRAINING_ARRANGED])
def test_decisions_need_a_reason(app, issues, person, new_issue, status):
    for reason in (None, "", "   \n "):
        changes = {"status": status} if reason is None else {"status": status, "status_reason": reason}
        with pytest.raises(ValidationFailed) as failed:
            issues.change(new_issue.ref, 1, changes, person(BOB))
        assert set(failed.value.errors) == {"status_reason"}
        assert "Give the reason for" in failed.value.errors["status_reason"]
        assert "staff who gave feedback will see it" in failed.value.errors["status_reason"]
    assert fresh(app, new_issue.ref).status == "new"
    saved = issues.change(new_issue.ref, 1, {"status": status, "status_reason": "Because."}, person(BOB))
    assert saved.status == status and saved.status_reason == "Because."


def test_a_reason_stays_with_its_decision_and_goes_when_the_issue_moves_on(app, issues, person, new_issue):
    issue = issues.change(new_issue.ref, 1, {"status": "wont-fix", **REASON}, person(BOB))
    issue = issues.change(issue.ref, issue.version, {"title": "Renamed"}, person(BOB))
    assert issue.status_reason == REASON["status_reason"]  # kept while the status stays
    with pytest.raises(ValidationFailed) as failed:  # and cannot be blanked while it does
        issues.change(issue.ref, issue.version, {"status_reason": ""}, person(BOB))
    assert "status_reason" in failed.value.errors
    # Reopened: the old reason is cleared, even if the form sent it back (it was pre-filled).
    issue = issues.change(issue.ref, issue.version, {"status": "investigating", **REASON}, person(BOB))
    assert issue.status == "investigating" and issue.status_reason is None
    # A new decision needs its own reason, not the one before.
    with pytest.raises(ValidationFailed):
        issues.change(issue.ref, issue.version, {"status": "guidance-issued"}, person(BOB))


# Severity, owner and the rest


def test_severity_owner_and_details_are_changed_together(app, issues, person, new_issue):
    issue = issues.change(
        new_issue.ref,
        1,
        {
            "status": "fix-scheduled",
            "severity": "1",
            "owner": "CAROL@council.example",
            "supplier_ref": "SUP-991",
            "target_release": "2.4",
        },
        person(BOB),
    )
    assert issue.version == 2
    saved = fresh(app, new_issue.ref)
    assert (saved.status, saved.severity, saved.owner.email) == ("fix-scheduled", 1, CAROL.email)
    assert (saved.supplier_ref, saved.target_release) == ("SUP-991", "2.4")
    assert saved.severity_label == Severity.BLOCKS_WORK.label == "1 – Blocks work"
    cleared = issues.change(new_issue.ref, 2, {"severity": "", "owner": ""}, person(BOB))
    assert cleared.severity is None and cleared.owner is None and cleared.version == 3


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"severity": "4"}, "severity", "Choose a severity"),
        ({"severity": "high"}, "severity", "Choose a severity"),
        ({"severity": 2.5}, "severity", "Choose a severity"),
        ({"severity": True}, "severity", "Choose a severity"),
        (
            {"owner": ALICE.email},
            "owner",
            "Choose an owner from business support, the board or administrators",
        ),
        ({"owner": "nobody@council.example"}, "owner", "Choose an owner"),
        ({"status": "asleep"}, "status", "Choose a status from the list"),
        ({"status_reason": "r" * 5001, "status": "wont-fix"}, "status_reason", "5,000 characters or fewer"),
        ({"priority": "high"}, "priority", "priority cannot be changed"),
    ],
)
def test_bad_values_get_a_message_per_field_and_nothing_is_half_applied(
    app, issues, person, new_issue, changes, field, message
):
    good = {"title": "A better title", "severity": "2", "owner": BOB.email, "target_release": "3.0"}
    with pytest.raises(ValidationFailed) as failed:
        issues.change(new_issue.ref, 1, {**good, **changes}, person(BOB))
    assert message in failed.value.errors[field]
    saved = fresh(app, new_issue.ref)
    assert (saved.title, saved.severity, saved.owner, saved.target_release, saved.version) == (
        "Case notes time out",
        None,
        None,
        None,
        1,
    )


def test_every_problem_is_reported_at_once(issues, person, new_issue):
    with pytest.raises(ValidationFailed) as failed:
        issues.change(new_issue.ref, "x", {"title": "", "severity": "9", "owner": ERIN.email}, person(BOB))
    assert set(failed.value.errors) == {"version", "title", "severity", "owner"}


def test_a_stale_version_is_a_conflict_even_for_a_status_change(app, issues, person, new_issue):
    issues.change(new_issue.ref, 1, {"severity": "3"}, person(DAN))
    with pytest.raises(Conflict, match="Someone else changed"):
        issues.change(new_issue.ref, 1, {"status": "investigating", "severity": "1"}, person(BOB))
    saved = fresh(app, new_issue.ref)
    assert (saved.status, saved.severity, saved.version) == ("new", 3, 2)


def test_a_merged_issue_cannot_be_changed(app, issues, person):
    source = issues.create("Source", [make_feedback(app, ALICE.email)], person(BOB))
    target = issues.create("Target", [make_feedback(app, ERIN.email)], person(BOB))
    issues.merge(source.ref, target.ref, person(BOB))
    merged = fresh(app, source.ref)
    with pytest.raises(Conflict, match="has been merged into"):
        issues.change(source.ref, merged.version, {"status": "investigating"}, person(BOB))


def test_nothing_changed_means_no_new_version_and_no_audit(app, issues, person, new_issue):
    issue = issues.change(new_issue.ref, 1, {"title": "Case notes time out", "status": "new"}, person(BOB))
    assert issue.version == 1
    with app.state.session_factory() as db_session:
        assert db_session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "issue.updated")) is None


# The audit trail


def test_each_change_is_audited_with_who_before_after_and_the_version(app, issues, person, new_issue):
    issues.change(
        new_issue.ref, 1, {"status": "investigating", "severity": 2, "owner": BOB.email}, person(BOB)
    )
    issues.change(new_issue.ref, 2, {"status": "wont-fix", **REASON}, person(DAN))
    with app.state.session_factory() as db_session:
        events = list(
            db_session.scalars(
                sa.select(AuditEvent).where(AuditEvent.action == "issue.updated").order_by(AuditEvent.id)
            )
        )
    first, second = events
    assert first.actor_id == person(BOB).id and first.record_ref == new_issue.ref
    assert first.before == {"version": 1, "status": "new", "severity": None, "owner": None}
    assert first.after == {"version": 2, "status": "investigating", "severity": 2, "owner": BOB.email}
    assert second.actor_id == person(DAN).id
    assert second.before == {"version": 2, "status": "investigating", "status_reason": None}
    assert second.after == {"version": 3, "status": "wont-fix", "status_reason": REASON["status_reason"]}


# Telling contributors


def test_a_status_change_tells_the_contributors_and_other_changes_do_not(app, person, new_issue):
    events = []
    with app.state.session_factory() as db_session:
        service = IssueService(
            db_session, notify=lambda session, issue, event: events.append((issue.ref, event))
        )
        service.change(new_issue.ref, 1, {"title": "Renamed", "severity": "1"}, person(BOB))
        assert events == []
        service.change(
            new_issue.ref, 2, {"status": "guidance-issued", "status_reason": "See the guide."}, person(BOB)
        )
    assert events == [
        (
            new_issue.ref,
            {
                "kind": "status",
                "summary": f"{new_issue.ref} “Renamed” is now Guidance issued: See the guide.",
                "status": "guidance-issued",
                "status_reason": "See the guide.",
            },
        )
    ]


def test_a_refused_or_stale_change_tells_nobody(app, person, new_issue):
    events = []
    with app.state.session_factory() as db_session:
        service = IssueService(db_session, notify=lambda *args: events.append(args))
        with pytest.raises(ValidationFailed):
            service.change(new_issue.ref, 1, {"status": "closed"}, person(BOB))
        with pytest.raises(Conflict):
            service.change(new_issue.ref, 7, {"status": "fixed"}, person(BOB))
    assert events == []


def test_the_hook_does_nothing_until_the_notifications_module_exists(
    app, issues, person, new_issue, monkeypatch
):
    import sys

    # As before feedback_portal.notifications landed: importing it raises ImportError.
    monkeypatch.setitem(sys.modules, "feedback_portal.notifications.services", None)
    issue = issues.change(new_issue.ref, 1, {"status": "investigating"}, person(BOB))
    assert issue.status == "investigating"


def test_the_hook_calls_notify_contributors_when_it_exists(app, issues, person, new_issue, monkeypatch):
    fake = FakeNotifications(monkeypatch)
    issues.change(new_issue.ref, 1, {"status": "fix-scheduled", "target_release": "2.4"}, person(BOB))
    assert fake.calls == [
        (
            new_issue.ref,
            {
                "kind": "status",
                "summary": f"{new_issue.ref} “Case notes time out” is now Fix scheduled",
                "status": "fix-scheduled",
                "status_reason": None,
            },
        )
    ]


def test_a_failing_notifications_module_does_not_lose_the_change(
    app, issues, person, new_issue, monkeypatch, caplog
):
    fake = FakeNotifications(monkeypatch, fail=True)
    with caplog.at_level(logging.ERROR, logger="feedback_portal.issues"):
        issues.change(new_issue.ref, 1, {"status": "investigating"}, person(BOB))
    assert len(fake.calls) == 1
    assert fresh(app, new_issue.ref).status == "investigating"
    assert "Could not notify the contributors" in caplog.text


def test_the_hook_runs_inside_the_change_s_transaction(app, person, new_issue):
    seen = []

    def hook(session, issue, event) -> None:  # noqa: ANN001
        seen.append((session.in_transaction(), issue.status, issue.version))

    with app.state.session_factory() as db_session:
        IssueService(db_session, notify=hook).change(
            new_issue.ref, 1, {"status": "investigating"}, person(BOB)
        )
    assert seen == [(True, "investigating", 2)]  # before the commit: written with the change or not at all


def test_the_default_hook_is_the_lazy_importing_one(issues):
    assert isinstance(issues.notify, NotificationHook)
