"""IssueService: grouping feedback into issues, merging and undoing, "me too", evidence and editing."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa
from sqlalchemy.orm.exc import StaleDataError

from feedback_portal.audit.models import AuditEvent
from feedback_portal.errors import Conflict, Forbidden, NotFound, ValidationFailed
from feedback_portal.feedback.models import Feedback
from feedback_portal.indexing.models import IndexChange
from feedback_portal.issues.models import Issue, IssueMerge, MeToo
from feedback_portal.issues.services import IssueService, parse_feedback_refs
from tests.conftest import ALICE, BOB, CAROL, DAN, ERIN
from tests.factories import make_feedback

pytestmark = pytest.mark.postgres

FEEDBACK_FIELDS = (
    "title",
    "body",
    "module",
    "kind",
    "impact",
    "frequency",
    "team_id",
    "anonymity",
    "submitter_id",
    "submitted_at",
)


def what_feedback_says(app, refs) -> dict[str, tuple]:  # noqa: ANN001
    with app.state.session_factory() as db_session:
        rows = db_session.scalars(sa.select(Feedback).where(Feedback.ref.in_(refs)))
        return {row.ref: tuple(getattr(row, field) for field in FEEDBACK_FIELDS) for row in rows}


def feedback_state(app, ref) -> tuple[str | None, str]:  # noqa: ANN001
    """(the ref of its issue, its status)"""
    with app.state.session_factory() as db_session:
        feedback = db_session.scalar(sa.select(Feedback).where(Feedback.ref == ref))
        return (feedback.issue.ref if feedback.issue else None), feedback.status


def count(app, model) -> int:  # noqa: ANN001
    with app.state.session_factory() as db_session:
        return db_session.scalar(sa.select(sa.func.count()).select_from(model))


def evidence_of(app, ref):  # noqa: ANN001, ANN201
    with app.state.session_factory() as db_session:
        service = IssueService(db_session)
        return service.evidence(service.get(ref))


def people(app, ref) -> tuple[int, int, int, list[str]]:  # noqa: ANN001
    """(contributors, me-toos, anonymous feedback, feedback refs) of an issue."""
    evidence = evidence_of(app, ref)
    return (
        evidence.contributors,
        evidence.me_toos,
        evidence.anonymous_feedback,
        sorted(f.ref for f in evidence.feedback),
    )


# Creating, linking and unlinking


def test_an_issue_is_created_from_several_feedback_with_their_most_common_module(app, issues, person):
    first = make_feedback(app, ALICE.email, module="chronology")
    second = make_feedback(app, ERIN.email, module="chronology")
    third = make_feedback(app, ALICE.email, module="search")
    issue = issues.create("Chronology entries go missing", [first, second, third], person(BOB))
    assert issue.ref == f"ISS-{issue.id:04d}"
    assert issue.module == "chronology" and issue.status == "new" and issue.version == 1
    for ref in (first, second, third):
        assert feedback_state(app, ref) == (issue.ref, "linked")


def test_an_explicit_module_wins_over_the_feedbacks(app, issues, person):
    ref = make_feedback(app, ALICE.email, module="chronology")
    assert issues.create("About reports really", [ref], person(BOB), module="Reports").module == "reports"


def test_feedback_refs_can_be_typed_loosely(app):
    assert parse_feedback_refs("fb-12, FB-000013 14;FB-000012") == (
        ["FB-000012", "FB-000013", "FB-000014"],
        [],
    )
    assert parse_feedback_refs(["FB-000001", "banana"]) == (["FB-000001"], ["banana"])


def test_linking_and_unlinking_never_change_what_the_feedback_says(app, issues, person):
    refs = [
        make_feedback(app, ALICE.email, title="Named"),
        make_feedback(app, ERIN.email, anonymity="anonymous"),
    ]
    before = what_feedback_says(app, refs)
    issue = issues.create("Both", refs[:1], person(BOB))
    issues.link(issue.ref, refs[1:], person(BOB))
    issues.unlink(issue.ref, refs[0], person(BOB))
    other = issues.create("Another", refs, person(BOB))
    issues.merge(other.ref, issue.ref, person(BOB))
    assert what_feedback_says(app, refs) == before


def test_unlinking_puts_the_feedback_back_to_received(app, issues, person):
    ref = make_feedback(app, ALICE.email)
    issue = issues.create("One", [ref], person(BOB))
    issues.unlink(issue.ref, ref, person(BOB))
    assert feedback_state(app, ref) == (None, "received")
    with pytest.raises(Conflict, match="is not part of"):
        issues.unlink(issue.ref, ref, person(BOB))


def test_feedback_already_on_another_issue_moves_and_we_are_told_which(app, issues, person):
    ref, other = make_feedback(app, ALICE.email), make_feedback(app, ERIN.email)
    first = issues.create("First", [ref], person(BOB))
    second = issues.create("Second", [ref, other], person(BOB))
    assert issues.moved_from == {ref: first.ref}
    assert feedback_state(app, ref) == (second.ref, "linked")
    third = issues.create("Third", [other], person(BOB))
    issues.link(first.ref, [other], person(BOB))
    assert issues.moved_from == {other: third.ref}


@pytest.mark.parametrize(
    ("title", "refs", "field", "message"),
    [
        ("", "EXISTING", "title", "Enter a title for the issue"),
        ("   \n ", "EXISTING", "title", "Enter a title for the issue"),
        ("x" * 151, "EXISTING", "title", "The title must be 150 characters or fewer (you wrote 151)"),
        ("Fine", [], "feedback", "Choose at least one feedback to group into the issue"),
        ("Fine", ["FB-999999"], "feedback", "There is no feedback FB-999999"),
        (
            "Fine",
            ["EXISTING", "FB-999998", "FB-999999"],
            "feedback",
            "There is no feedback FB-999998 or FB-999999",
        ),
        (
            "Fine",
            ["nonsense"],
            "feedback",
            "“nonsense” is not a feedback reference (they look like FB-000123)",
        ),
    ],
)
def test_bad_input_names_the_field_and_writes_nothing(app, issues, person, title, refs, field, message):
    existing = make_feedback(app, ALICE.email)
    refs = [existing] if refs == "EXISTING" else [existing if ref == "EXISTING" else ref for ref in refs]
    audit_before, changes_before = count(app, AuditEvent), count(app, IndexChange)
    with pytest.raises(ValidationFailed) as failed:
        issues.create(title, refs, person(BOB))
    assert failed.value.errors[field] == message
    assert count(app, Issue) == 0
    assert feedback_state(app, existing) == (None, "received")
    assert (count(app, AuditEvent), count(app, IndexChange)) == (audit_before, changes_before)


def test_a_title_of_exactly_150_characters_is_fine(app, issues, person):
    assert len(issues.create("x" * 150, [make_feedback(app, ALICE.email)], person(BOB)).title) == 150


def test_linking_to_a_missing_or_merged_issue_is_refused(app, issues, person):
    ref = make_feedback(app, ALICE.email)
    with pytest.raises(NotFound):
        issues.link("ISS-0099", [ref], person(BOB))
    source = issues.create("Source", [make_feedback(app, ERIN.email)], person(BOB))
    target = issues.create("Target", [make_feedback(app, ERIN.email)], person(BOB))
    issues.merge(source.ref, target.ref, person(BOB))
    with pytest.raises(Conflict, match=f"merged into {target.ref}"):
        issues.link(source.ref, [ref], person(BOB))
    assert feedback_state(app, ref) == (None, "received")


def test_every_change_is_audited_with_the_signed_in_person_as_actor(app, issues, person):
    ref = make_feedback(app, ALICE.email)
    bob = person(BOB)
    issue = issues.create("Audited", [ref], bob)
    issues.unlink(issue.ref, ref, bob)
    with app.state.session_factory() as db_session:
        events = db_session.scalars(
            sa.select(AuditEvent).where(AuditEvent.action != "feedback.submitted").order_by(AuditEvent.id)
        ).all()
    assert [event.action for event in events] == [
        "feedback.linked",
        "issue.created",
        "feedback.unlinked",
        "issue.feedback_unlinked",
    ]
    assert {event.actor_id for event in events} == {bob.id}
    assert events[0].before == {"issue": None, "status": "received"}
    assert events[0].after == {"issue": issue.ref, "status": "linked"}
    assert events[3].before == {"feedback": [ref]} and events[3].after == {"feedback": []}


def test_grouping_tells_the_search_index_about_the_feedback_and_the_issues(app, issues, person):
    ref = make_feedback(app, ALICE.email)
    first = issues.create("First", [ref], person(BOB))
    with app.state.session_factory() as db_session:
        logged_before = db_session.scalar(sa.select(sa.func.max(IndexChange.id)))
    second = issues.create("Second", [ref], person(BOB))
    with app.state.session_factory() as db_session:
        logged = set(
            db_session.execute(
                sa.select(IndexChange.record_type, IndexChange.record_id).where(
                    IndexChange.id > logged_before
                )
            )
        )
        feedback_id = db_session.scalar(sa.select(Feedback.id).where(Feedback.ref == ref))
    assert {("feedback", feedback_id), ("issue", first.id), ("issue", second.id)} <= logged


# Merging


def _two_issues_with_voices(app, issues, person):  # noqa: ANN001, ANN202
    """Source: Alice's feedback, an anonymous one, Dan's and Carol's me-toos. Target: Erin's, Carol's me-too."""
    source = issues.create(
        "Lost case notes",
        [
            make_feedback(app, ALICE.email),
            make_feedback(app, ERIN.email, anonymity="anonymous"),
        ],
        person(BOB),
    )
    target = issues.create("Timeouts", [make_feedback(app, ERIN.email, team="youth-justice")], person(BOB))
    issues.me_too(person(DAN), issue_ref=source.ref, impact="blocks-work")
    issues.me_too(person(CAROL), issue_ref=source.ref, impact="minor")
    issues.me_too(person(CAROL), issue_ref=target.ref, impact="workaround")
    return source, target


def test_merging_moves_feedback_and_me_toos_and_counts_each_person_once(app, issues, person):
    source, target = _two_issues_with_voices(app, issues, person)
    source_before, target_before = people(app, source.ref), people(app, target.ref)
    assert source_before[:3] == (4, 2, 1)  # Alice, the anonymous one, Dan, Carol
    assert target_before[:3] == (2, 1, 0)  # Erin, Carol

    merge = issues.merge(source.ref, target.ref, person(BOB))

    assert len(merge.moved_feedback_ids) == 2 and len(merge.moved_me_too_ids) == 1  # Dan's; Carol's stays
    contributors, me_toos, anonymous, refs = people(app, target.ref)
    assert (contributors, me_toos, anonymous) == (5, 2, 1)  # Erin, Carol, Alice, the anonymous one, Dan
    assert refs == sorted(source_before[3] + target_before[3])
    assert people(app, source.ref)[3] == []
    with app.state.session_factory() as db_session:
        assert (
            db_session.scalar(sa.select(Issue).where(Issue.ref == source.ref)).merged_into.ref == target.ref
        )


def test_undoing_a_merge_restores_contributors_and_me_toos_exactly(app, issues, person):
    source, target = _two_issues_with_voices(app, issues, person)
    source_before, target_before = people(app, source.ref), people(app, target.ref)
    with app.state.session_factory() as db_session:
        me_toos_before = set(db_session.execute(sa.select(MeToo.id, MeToo.issue_id, MeToo.impact)))
    merge = issues.merge(source.ref, target.ref, person(BOB))
    later = make_feedback(app, ERIN.email, title="Linked after the merge")
    issues.link(target.ref, [later], person(BOB))

    issues.undo_merge(merge.id, person(BOB))

    assert people(app, source.ref) == source_before
    contributors, me_toos, anonymous, refs = people(app, target.ref)
    assert refs == sorted(target_before[3] + [later])  # what was linked since stays
    assert (contributors, me_toos, anonymous) == target_before[:3]  # Erin was already counted there
    with app.state.session_factory() as db_session:
        assert set(db_session.execute(sa.select(MeToo.id, MeToo.issue_id, MeToo.impact))) == me_toos_before
        assert db_session.scalar(sa.select(Issue).where(Issue.ref == source.ref)).merged_into is None
        assert db_session.get(IssueMerge, merge.id).undone_at is not None
    assert evidence_of(app, source.ref).merges[0].undone_at is not None


def test_feedback_moved_elsewhere_after_a_merge_stays_where_it_was_put(app, issues, person):
    source = issues.create(
        "Source", [make_feedback(app, ALICE.email), moved := make_feedback(app, ERIN.email)], person(BOB)
    )
    target = issues.create("Target", [make_feedback(app, ERIN.email)], person(BOB))
    merge = issues.merge(source.ref, target.ref, person(BOB))
    elsewhere = issues.create("Somewhere else", [moved], person(BOB))
    issues.undo_merge(merge.id, person(BOB))
    assert feedback_state(app, moved) == (elsewhere.ref, "linked")
    assert len(people(app, source.ref)[3]) == 1


@pytest.mark.parametrize("target", ["", "ISS-9999", "a duck", "SAME"])
def test_a_merge_needs_another_real_issue(app, issues, person, target):
    source = issues.create("Source", [make_feedback(app, ALICE.email)], person(BOB))
    with pytest.raises(ValidationFailed) as failed:
        issues.merge(source.ref, source.ref if target == "SAME" else target, person(BOB))
    assert "target" in failed.value.errors
    assert count(app, IssueMerge) == 0


def test_merged_issues_cannot_be_merged_again_either_way(app, issues, person):
    first, second, third = (
        issues.create(name, [make_feedback(app, ALICE.email)], person(BOB))
        for name in ("First", "Second", "Third")
    )
    issues.merge(first.ref, second.ref, person(BOB))
    with pytest.raises(Conflict, match="already been merged"):
        issues.merge(first.ref, third.ref, person(BOB))
    with pytest.raises(ValidationFailed) as failed:
        issues.merge(third.ref, first.ref, person(BOB))
    assert (
        failed.value.errors["target"]
        == f"{first.ref} has been merged into {second.ref}: merge into {second.ref} instead"
    )


def test_a_merge_is_undone_once_and_only_when_its_target_is_not_merged_away(app, issues, person):
    first, second, third = (
        issues.create(name, [make_feedback(app, ALICE.email)], person(BOB))
        for name in ("First", "Second", "Third")
    )
    inner = issues.merge(first.ref, second.ref, person(BOB))
    outer = issues.merge(second.ref, third.ref, person(BOB))
    with pytest.raises(Conflict, match="Undo that merge first"):
        issues.undo_merge(inner.id, person(BOB))
    issues.undo_merge(outer.id, person(BOB))
    issues.undo_merge(inner.id, person(BOB))
    with pytest.raises(Conflict, match="already been undone"):
        issues.undo_merge(inner.id, person(BOB))
    assert [len(people(app, issue.ref)[3]) for issue in (first, second, third)] == [1, 1, 1]


# "Me too"


def test_a_me_too_by_the_same_person_twice_counts_once_with_their_latest_impact(app, issues, person):
    ref = make_feedback(app, ALICE.email)
    issue = issues.create("Issue", [ref], person(BOB))
    assert issues.me_too(person(ERIN), feedback_ref=ref, impact="minor") == 2
    assert issues.me_too(person(ERIN), feedback_ref=ref, impact="blocks-work") == 2
    assert issues.me_too(person(ERIN), issue_ref=issue.ref, impact="blocks-work") == 2  # Alice and Erin
    evidence = evidence_of(app, issue.ref)
    assert (evidence.contributors, evidence.me_toos) == (2, 1)
    with app.state.session_factory() as db_session:
        assert (
            db_session.scalar(sa.select(MeToo.impact).where(MeToo.feedback_id.is_not(None))) == "blocks-work"
        )


def test_nobody_can_me_too_their_own_feedback(app, issues, person):
    ref = make_feedback(app, ALICE.email)
    with pytest.raises(Forbidden, match="You sent this feedback"):
        issues.me_too(person(ALICE), feedback_ref=ref, impact="minor")
    assert count(app, MeToo) == 0


def test_a_me_too_needs_a_known_impact_and_a_real_target(app, issues, person):
    ref = make_feedback(app, ALICE.email)
    for impact in ("", "enormous", None):
        with pytest.raises(ValidationFailed) as failed:
            issues.me_too(person(ERIN), feedback_ref=ref, impact=impact)
        assert failed.value.errors == {"impact": "Choose how much it affects your work"}
    with pytest.raises(NotFound):
        issues.me_too(person(ERIN), feedback_ref="FB-999999", impact="minor")
    with pytest.raises(NotFound):
        issues.me_too(person(ERIN), issue_ref="ISS-9999", impact="minor")
    assert count(app, MeToo) == 0


def test_a_me_too_on_a_merged_issue_counts_where_it_was_merged(app, issues, person):
    source = issues.create("Source", [make_feedback(app, ALICE.email)], person(BOB))
    target = issues.create("Target", [make_feedback(app, ALICE.email)], person(BOB))
    issues.merge(source.ref, target.ref, person(BOB))
    issues.me_too(person(ERIN), issue_ref=source.ref, impact="minor")
    assert evidence_of(app, target.ref).me_toos == 1


# Evidence


def test_evidence_counts_people_once_and_each_anonymous_feedback_as_one(app, issues, person):
    refs = [
        make_feedback(app, ALICE.email),
        make_feedback(app, ALICE.email, anonymity="business-support-only"),
        make_feedback(app, ERIN.email, anonymity="anonymous"),
        make_feedback(app, ERIN.email, anonymity="anonymous"),
    ]
    issue = issues.create("Evidence", refs, person(BOB))
    issues.me_too(person(ERIN), feedback_ref=refs[0], impact="minor")
    issues.me_too(person(CAROL), issue_ref=issue.ref, impact="minor")
    evidence = evidence_of(app, issue.ref)
    assert evidence.contributors == 5  # Alice (twice), two anonymous, Erin, Carol
    assert evidence.anonymous_feedback == 2 and evidence.me_toos == 2
    assert [item.ref for item in evidence.feedback] == list(reversed(refs))  # newest first


def test_evidence_has_teams_impacts_and_a_twelve_week_trend(app, issues, person):
    monday = dt.date(2026, 11, 16)

    def at(days_before: int) -> dt.datetime:
        return dt.datetime.combine(monday, dt.time(9), tzinfo=dt.UTC) - dt.timedelta(days=days_before)

    refs = [
        make_feedback(app, ALICE.email, team="cp-west", impact="blocks-work", submitted_at=at(0)),
        make_feedback(app, ALICE.email, team="cp-west", impact="workaround", submitted_at=at(-3)),
        make_feedback(app, ERIN.email, team="youth-justice", impact="blocks-work", submitted_at=at(7)),
        make_feedback(app, ERIN.email, impact="minor", submitted_at=at(200)),  # too old for the trend
    ]
    issue = issues.create("Trend", refs, person(BOB))
    issues.me_too(person(BOB), issue_ref=issue.ref, impact="blocks-work")  # Bob's team: business support
    with app.state.session_factory() as db_session:
        db_session.execute(sa.update(MeToo).values(created_at=at(1)))  # the Sunday before: last week
        db_session.commit()
        service = IssueService(db_session)
        evidence = service.evidence(service.get(issue.ref), today=monday + dt.timedelta(days=2))
    assert evidence.teams == [
        ("Child Protection West", 2),
        ("Business Support", 1),
        ("Team not given", 1),
        ("Youth Justice Service", 1),
    ]
    assert evidence.impacts == {"blocks-work": 3, "workaround": 1, "minor": 1}
    assert len(evidence.trend) == 12
    assert evidence.trend[0].starts == monday - dt.timedelta(weeks=11)
    assert evidence.trend[-1].starts == monday and evidence.trend[-1].iso_week == "2026-W47"
    assert evidence.trend[-1].count == 2 and evidence.trend[-2].count == 2  # Erin's feedback and Bob's me-too
    assert sum(week.count for week in evidence.trend[:-2]) == 0


# Editing


def test_update_changes_the_details_and_audits_before_and_after(app, issues, person):
    issue = issues.create("Old title", [make_feedback(app, ALICE.email)], person(BOB))
    updated = issues.update(
        issue.ref,
        1,
        {
            "title": "New title",
            "summary": "Why",
            "module": "search",
            "supplier_ref": "SUP-12",
            "target_release": "2.4",
            "public_response": "Fixed in 2.4",
        },
        person(BOB),
    )
    assert updated.version == 2 and updated.title == "New title" and updated.target_release == "2.4"
    with app.state.session_factory() as db_session:
        event = db_session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "issue.updated"))
    assert event.before["title"] == "Old title" and event.after["title"] == "New title"
    assert event.actor_id == person(BOB).id


def test_a_stale_version_is_a_conflict_and_saves_nothing(app, issues, person):
    issue = issues.create("Title", [make_feedback(app, ALICE.email)], person(BOB))
    issues.update(issue.ref, 1, {"title": "Someone else's change"}, person(DAN))
    with pytest.raises(Conflict, match="Someone else changed"):
        issues.update(issue.ref, 1, {"title": "Mine"}, person(BOB))
    assert evidence_of(app, issue.ref).issue.title == "Someone else's change"


def test_a_change_slipping_in_between_the_check_and_the_write_is_still_a_conflict(
    app, issues, person, monkeypatch
):
    issue = issues.create("Title", [make_feedback(app, ALICE.email)], person(BOB))

    real_flush = issues.session.flush

    def stale_flush(*args, **kwargs) -> None:  # noqa: ANN002, ANN003
        monkeypatch.setattr(issues.session, "flush", real_flush)  # just once: as if the row changed under us
        raise StaleDataError(
            "UPDATE statement on table 'issues' expected to update 1 row(s); 0 were matched."
        )

    monkeypatch.setattr(issues.session, "flush", stale_flush)
    with pytest.raises(Conflict, match="Someone else changed"):
        issues.update(issue.ref, 1, {"title": "Mine"}, person(BOB))
    monkeypatch.undo()
    assert evidence_of(app, issue.ref).issue.title == "Title"


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"title": ""}, "title"),
        ({"title": "y" * 151}, "title"),
        ({"module": "teleporter"}, "module"),
        ({"supplier_ref": "z" * 61}, "supplier_ref"),
        ({"summary": "s" * 5001}, "summary"),
        ({"status": "fixed"}, "status"),
        ({"title": ["a list"]}, "title"),
    ],
)
def test_bad_changes_name_the_field_and_save_nothing(app, issues, person, changes, field):
    issue = issues.create("Title", [make_feedback(app, ALICE.email)], person(BOB))
    with pytest.raises(ValidationFailed) as failed:
        issues.update(issue.ref, 1, changes, person(BOB))
    assert field in failed.value.errors
    assert evidence_of(app, issue.ref).issue.version == 1


def test_the_version_must_be_a_whole_number(app, issues, person):
    issue = issues.create("Title", [make_feedback(app, ALICE.email)], person(BOB))
    for version in (None, "one", 1.5, True):
        with pytest.raises(ValidationFailed) as failed:
            issues.update(issue.ref, version, {"title": "x"}, person(BOB))
        assert "version" in failed.value.errors


# Listing


def test_the_list_leaves_out_merged_issues_and_counts_people(app, issues, person):
    source = issues.create("Source", [make_feedback(app, ALICE.email)], person(BOB))
    target = issues.create(
        "Target", [make_feedback(app, ERIN.email), make_feedback(app, ERIN.email)], person(BOB)
    )
    issues.me_too(person(CAROL), issue_ref=target.ref, impact="minor")
    issues.merge(source.ref, target.ref, person(BOB))
    page = issues.list()
    assert [item.issue.ref for item in page.items] == [target.ref]
    tally = page.items[0].tally
    assert (tally.feedback, tally.contributors, tally.me_toos) == (3, 3, 1)
    assert {item.issue.ref for item in issues.list(include_merged=True).items} == {source.ref, target.ref}
    assert issues.list(module="search").total == 0
    with pytest.raises(ValidationFailed):
        issues.list(status="sleeping")
