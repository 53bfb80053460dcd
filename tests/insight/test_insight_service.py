"""The numbers behind each insight chart, against data built by hand: every expected number is worked out in the
comments from the records each test writes."""

from __future__ import annotations

import datetime as dt

import pytest

from feedback_portal.insight import charts
from feedback_portal.insight.services import InsightService, change_phrase
from tests.conftest import ALICE, ERIN
from tests.insight.conftest import GO_LIVE, Builder, span

# The week, month and day arithmetic differs by database: every test runs on SQLite and PostgreSQL.
pytestmark = pytest.mark.postgres


def by_series(chart) -> dict[str, tuple]:  # noqa: ANN001
    return {series.label: series.values for series in chart.series}


# Feedback per week


def test_feedback_is_counted_in_monday_to_sunday_weeks_and_stacked_by_module(
    build: Builder, insight: InsightService
) -> None:
    build.feedback("2026-03-02 09:00", module="case-notes", count=2)  # Monday of week 1
    build.feedback("2026-03-08 23:00", module="assessments")  # Sunday night: still week 1
    build.feedback("2026-03-09 00:30", module="case-notes")  # Monday: week 2
    build.feedback("2026-03-23 10:00", module="case-notes")  # after the range
    build.feedback("2026-03-01 10:00", module="case-notes")  # before it

    chart = insight.volume(span("2026-03-02", "2026-03-22"))

    assert chart.categories == ("2 March 2026", "9 March 2026", "16 March 2026")
    assert by_series(chart) == {"Case notes": (2, 1, 0), "Assessments": (1, 0, 0)}
    assert chart.header() == ["Week starting", "Case notes", "Assessments", "Total"]
    assert chart.rows() == [
        ["2 March 2026", "2", "1", "3"],
        ["9 March 2026", "1", "0", "1"],
        ["16 March 2026", "0", "0", "0"],
    ]


def test_a_range_that_starts_mid_week_starts_at_that_weeks_monday(insight: InsightService) -> None:
    assert insight.weeks(span("2026-03-04", "2026-03-16")) == [
        dt.date(2026, 3, 2),
        dt.date(2026, 3, 9),
        dt.date(2026, 3, 16),
    ]


def test_the_five_busiest_modules_are_stacked_and_the_rest_folded_together(
    build: Builder, insight: InsightService
) -> None:
    for count, module in zip(
        (7, 6, 5, 4, 3, 2, 1),
        ("case-notes", "assessments", "documents", "chronology", "search", "reports", "other"),
    ):
        build.feedback("2026-03-03 10:00", module=module, count=count)

    chart = insight.volume(span("2026-03-02", "2026-03-08"))

    # Reports (2) and the module called "Other" (1) are folded into "Other parts of the CMS": 3.
    assert by_series(chart) == {
        "Case notes": (7,),
        "Assessments": (6,),
        "Documents": (5,),
        "Chronology": (4,),
        "Search": (3,),
        "Other parts of the CMS": (3,),
    }
    assert chart.rows() == [["2 March 2026", "7", "6", "5", "4", "3", "3", "28"]]


def test_six_modules_are_all_shown_rather_than_folding_one(build: Builder, insight: InsightService) -> None:
    for module in ("case-notes", "assessments", "documents", "chronology", "search", "reports"):
        build.feedback("2026-03-03 10:00", module=module)
    chart = insight.volume(span("2026-03-02", "2026-03-08"))
    assert len(chart.series) == 6 and "Other parts of the CMS" not in by_series(chart)


def test_filters_narrow_feedback_by_module_team_and_kind(build: Builder, insight: InsightService) -> None:
    mash = build.team("mash", "MASH", people=5)
    build.feedback("2026-03-03 10:00", module="case-notes", kind="bug", team=mash, count=2)
    build.feedback("2026-03-03 10:00", module="case-notes", kind="usability", team=mash)
    build.feedback("2026-03-03 10:00", module="assessments", kind="bug", team=mash)
    build.feedback("2026-03-03 10:00", module="case-notes", kind="bug")

    chart = insight.volume(span("2026-03-02", "2026-03-08", module="case-notes", team="mash", kind="bug"))

    assert by_series(chart) == {"Case notes": (2,)}


@pytest.mark.parametrize(
    ("before", "after", "words"),
    [
        (10, 6, "fell 40% from 10 to 6"),
        (5, 10, "rose 100% from 5 to 10"),
        (4, 4, "stayed at 4"),
        (0, 3, "rose from 0 to 3"),
    ],
)
def test_the_volume_summary_compares_the_last_four_weeks_with_the_four_before(
    app,
    build: Builder,
    before: int,
    after: int,
    words: str,  # noqa: ANN001
) -> None:
    # Weeks of 2, 9, 16, 23 March (before) and 30 March, 6, 13, 20 April (the last four); all complete by 27 April.
    if before:
        build.feedback("2026-03-10 10:00", count=before)
    build.feedback("2026-04-14 10:00", count=after)
    with app.state.session_factory() as session:
        service = InsightService(session, go_live=GO_LIVE, today=dt.date(2026, 4, 27))
        chart = service.volume(span("2026-03-02", "2026-04-26"))
    assert chart.summary == f"Feedback in the last 4 weeks {words} compared with the 4 weeks before."


def test_the_volume_summary_leaves_out_the_week_still_going_and_names_the_busiest_module(
    app,
    build: Builder,  # noqa: ANN001
) -> None:
    build.feedback("2026-03-03 10:00", module="case-notes", count=3)  # week of 2 March
    build.feedback("2026-03-10 10:00", module="assessments", count=1)  # week of 9 March
    build.feedback("2026-03-17 10:00", module="assessments", count=9)  # this week: not complete, not compared
    with app.state.session_factory() as session:
        service = InsightService(session, go_live=GO_LIVE, today=dt.date(2026, 3, 18))
        chart = service.volume(span("2026-03-02", "2026-03-18"))
    assert chart.summary == (
        "Feedback in the last complete week fell 67% from 3 to 1 compared with the week before; "
        "Assessments had the most (10)."
    )


def test_no_feedback_gives_an_empty_state_that_says_why(insight: InsightService) -> None:
    chart = insight.volume(span("2026-03-02", "2026-03-08", module="case-notes"))
    assert chart.is_empty
    assert chart.empty_reason == "No feedback was sent for Case notes between 2 March 2026 and 8 March 2026."
    assert chart.summary == chart.empty_reason
    drawn = charts.draw(chart)
    assert drawn.rects == () and drawn.polylines == ()


# Open issues over time, by severity, and by age


@pytest.fixture
def open_issues(build: Builder) -> None:
    build.issue("A", "2026-03-03 10:00", severity=1, resolved="2026-03-18 10:00", status="fixed")
    build.issue("B", "2026-02-20 10:00", severity=2)  # before go-live: open from the first week
    build.issue("C", "2026-03-10 10:00", severity=3)
    build.issue(
        "D", "2026-03-17 10:00", resolved="2026-03-19 10:00", status="wont-fix"
    )  # in and out in a week
    target = build.issue("E", "2026-03-04 10:00", severity=1)
    build.issue("F merged", "2026-03-04 10:00", severity=1, merged_into=target)  # counted as E only
    target_close = build.issue(
        "G", "2026-03-01 10:00", severity=3, resolved="2026-03-05 10:00", status="closed"
    )
    assert target_close


def test_open_issues_at_the_end_of_each_week_by_severity(open_issues: None, insight: InsightService) -> None:
    chart = insight.severity(span("2026-03-02", "2026-03-22"))
    # End of week 1 (9 March): A, B, E open (G was closed on 5 March). Week 2: A, B, C, E. Week 3: A fixed on the
    # 18th, D opened and decided in the same week: B, C, E.
    assert by_series(chart) == {
        "Severity 1 – blocks work": (2, 2, 1),
        "Severity 2 – workaround exists": (1, 1, 1),
        "Severity 3 – minor": (0, 1, 1),
    }
    assert [row[-1] for row in chart.rows()] == ["3", "4", "3"]
    assert chart.summary == "Open issues stayed at 3 in the last 2 weeks, 1 of them blocking work."


def test_the_severity_summary_says_when_open_issues_fell(build: Builder, insight: InsightService) -> None:
    build.issue("A", "2026-03-03 10:00", severity=2)
    build.issue("B", "2026-03-03 10:00", severity=2, resolved="2026-03-11 10:00", status="fixed")
    chart = insight.severity(span("2026-03-02", "2026-03-15"))
    assert chart.summary == "Open issues fell 50% from 2 to 1 in the last week."


def test_open_issues_by_age_are_counted_at_the_end_of_the_range(
    open_issues: None, insight: InsightService
) -> None:
    chart = insight.ageing(span("2026-03-02", "2026-03-22"))
    # At midnight after 22 March: B (since 20 February: 31 days, 1 to 3 months), C (12 days), E (18 days).
    assert chart.rows() == [
        ["Under 2 weeks", "0", "0", "1", "1"],
        ["2 to 4 weeks", "1", "0", "0", "1"],
        ["1 to 3 months", "0", "1", "0", "1"],
        ["3 to 6 months", "0", "0", "0", "0"],
        ["Over 6 months", "0", "0", "0", "0"],
    ]
    assert chart.summary == "3 issues open on 22 March 2026; 1 has been open for more than 4 weeks."


def test_no_open_issues_is_an_empty_state(insight: InsightService) -> None:
    assert insight.severity(span("2026-03-02", "2026-03-22")).empty_reason == (
        "No issues were open between 2 March 2026 and 22 March 2026."
    )
    assert (
        insight.ageing(span("2026-03-02", "2026-03-22")).empty_reason
        == "No issues were open on 22 March 2026."
    )


def test_issue_filters_use_the_issue_module_and_the_team_or_kind_of_its_feedback(
    build: Builder, insight: InsightService
) -> None:
    mash = build.team("mash", "MASH", people=5)
    from_mash = build.issue("From MASH", "2026-03-03 10:00", severity=1)
    build.feedback("2026-03-03 09:00", team=mash, issue=from_mash)
    other = build.issue("From nobody in MASH", "2026-03-03 10:00", severity=1)
    build.feedback("2026-03-03 09:00", issue=other)
    build.issue("Assessments", "2026-03-03 10:00", severity=2, module="assessments")

    assert by_series(insight.severity(span("2026-03-02", "2026-03-08", team="mash"))) == {
        "Severity 1 – blocks work": (1,),
        "Severity 2 – workaround exists": (0,),
        "Severity 3 – minor": (0,),
    }
    assert [
        row[-1] for row in insight.severity(span("2026-03-02", "2026-03-08", module="assessments")).rows()
    ] == ["1"]


# Median times


def test_median_days_to_triage_decision_and_fix_per_month(build: Builder, insight: InsightService) -> None:
    # Triaged in March after 1, 2 and 10 days: median 2. In April after 1 and 3 days: median (1 + 3) / 2 = 2.
    build.feedback("2026-03-02 10:00", triaged="2026-03-03 10:00")
    build.feedback("2026-03-05 10:00", triaged="2026-03-07 10:00")
    build.feedback("2026-03-10 10:00", triaged="2026-03-20 10:00")
    build.feedback("2026-04-01 10:00", triaged="2026-04-02 10:00")
    build.feedback("2026-04-05 10:00", triaged="2026-04-08 10:00")
    build.feedback("2026-04-20 10:00")  # not triaged yet: not counted
    # X: first feedback 2 March, decided 12 March (10 days), fixed 1 April (30 days). Y: 3 to 7 March (4 days).
    x = build.issue(
        "X", "2026-03-02 12:00", decided="2026-03-12 10:00", fixed="2026-04-01 10:00", status="fixed"
    )
    build.feedback("2026-03-02 10:00", issue=x)
    build.feedback("2026-03-05 10:00", issue=x)
    y = build.issue("Y", "2026-03-03 12:00", decided="2026-03-07 10:00", status="change-requested")
    build.feedback("2026-03-03 10:00", issue=y)

    chart = insight.timings(span("2026-03-02", "2026-04-30"))

    assert chart.categories == ("March 2026", "April 2026")
    assert by_series(chart) == {
        "Sent to triaged": (2.0, 2.0),
        "First feedback to decision": (7.0, None),
        "First feedback to fix": (None, 30.0),
    }
    assert chart.rows() == [
        ["March 2026", "2", "7", "", "3", "2", "0"],
        ["April 2026", "2", "", "30", "2", "0", "1"],
    ]
    assert chart.summary == (
        "The median time to triage stayed at 2 days between March and April; 7 days to a decision in March; "
        "30 days to a fix in April."
    )


def test_the_timings_summary_says_when_triage_got_faster(build: Builder, insight: InsightService) -> None:
    build.feedback("2026-03-02 10:00", triaged="2026-03-06 10:00")  # 4 days, in March
    build.feedback("2026-05-04 10:00", triaged="2026-05-05 10:00")  # 1 day, in May; nothing in April
    chart = insight.timings(span("2026-03-02", "2026-05-31"))
    assert by_series(chart)["Sent to triaged"] == (4.0, None, 1.0)
    assert chart.summary == "The median time to triage fell 75% from 4 to 1 days between March and May."


def test_nothing_triaged_decided_or_fixed_is_an_empty_state(insight: InsightService) -> None:
    chart = insight.timings(span("2026-03-02", "2026-03-31"))
    assert chart.empty_reason == (
        "Nothing was triaged, decided or fixed between 2 March 2026 and 31 March 2026, so there are no times to show."
    )


# Rising issues


def test_rising_issues_compare_new_voices_this_fortnight_with_the_one_before(
    build: Builder, insight: InsightService
) -> None:
    # The range ends 28 April: this fortnight is 15 to 28 April, the one before 1 to 14 April.
    alice, erin = build.user(ALICE.email), build.user(ERIN.email)
    p = build.issue("Printing fails", "2026-03-01 10:00")
    build.feedback("2026-04-05 10:00", issue=p)  # before: 1
    build.feedback("2026-04-20 10:00", issue=p, count=2)  # this fortnight: 2
    build.me_too(alice, "2026-04-22 10:00", issue=p)  # this fortnight: 3
    q = build.issue("Steady", "2026-03-01 10:00")
    build.feedback("2026-04-03 10:00", issue=q, count=2)
    build.feedback("2026-04-16 10:00", issue=q, count=2)  # 2 and 2: not rising
    r = build.issue("Quietly growing", "2026-03-01 10:00")
    (old,) = build.feedback("2026-03-10 10:00", issue=r)  # outside both fortnights
    build.me_too(
        erin, "2026-04-25 10:00", feedback=old
    )  # a "me too" on its feedback counts for the issue: 0 -> 1
    s = build.issue("Falling", "2026-03-01 10:00")
    build.feedback("2026-04-02 10:00", issue=s, count=3)

    chart = insight.rising(span("2026-03-02", "2026-04-28"))

    assert chart.categories == (f"{p.ref} Printing fails", f"{r.ref} Quietly growing")
    assert chart.header() == ["Issue", "Fortnight to 14 April 2026", "Fortnight to 28 April 2026"]
    assert chart.rows() == [[f"{p.ref} Printing fails", "1", "3"], [f"{r.ref} Quietly growing", "0", "1"]]
    assert chart.summary == (
        f"“Printing fails” ({p.ref}) rose most: its new feedback and “me too”s rose 200% from 1 to 3 compared "
        "with the fortnight before."
    )


def test_no_rising_issue_is_an_empty_state(build: Builder, insight: InsightService) -> None:
    q = build.issue("Steady", "2026-03-01 10:00")
    build.feedback("2026-04-03 10:00", issue=q)
    build.feedback("2026-04-16 10:00", issue=q)
    chart = insight.rising(span("2026-03-02", "2026-04-28"))
    assert chart.empty_reason == (
        "No issue had more new feedback and “me too”s in the fortnight to 28 April 2026 than in the fortnight before."
    )


# Teams


def test_teams_of_fewer_than_five_people_are_folded_into_other_teams(
    build: Builder, insight: InsightService
) -> None:
    mash = build.team("mash", "MASH", people=5)
    tiny = build.team("tiny", "Tiny Team", people=2)
    cp_west = build.team("cp-west", "Child Protection West", people=0)  # Alice alone: 1 person
    build.feedback("2026-03-03 10:00", team=mash, count=3)
    build.feedback("2026-03-03 10:00", team=tiny, count=2)
    build.feedback("2026-03-03 10:00", team=cp_west)
    build.feedback("2026-03-03 10:00")  # no team given

    chart = insight.by_team(span("2026-03-02", "2026-03-08"))

    assert chart.rows() == [["MASH", "3"], ["Other teams", "3"], ["Team not given", "1"]]
    assert chart.summary == "MASH sent the most feedback: 3 of 7 (43%) between 2 March 2026 and 8 March 2026."
    assert [slug for slug, _ in insight.team_choices()] == ["mash"]


# Filters


@pytest.mark.parametrize(
    ("raw", "field", "message"),
    [
        (
            {"from": "2026-05-01", "to": "2026-04-01"},
            "to",
            "The end date must be the same as or after the start date",
        ),
        (
            {"from": "2019-01-01"},
            "from",
            "The start date must be on or after 1 March 2025: the CMS went live on 2 March 2026",
        ),
        ({"to": "2099-12-31"}, "to", "The end date must be on or before 28 November 2027"),
        ({"from": "31/3/2026"}, "from", "Enter the start date as a real date, like 2 March 2026"),
        ({"to": "2026-02-30"}, "to", "Enter the end date as a real date, like 2 March 2026"),
        ({"module": "teleporter"}, "module", "Choose a part of the CMS from the list"),
        ({"kind": "rant"}, "kind", "Choose a kind of feedback from the list"),
        (
            {"team": "no-such-team"},
            "team",
            "Choose a team from the list (teams of fewer than 5 people are not listed, so that nobody can be singled out)",
        ),
    ],
)
def test_bad_filters_get_a_message_for_their_field_and_the_default_instead(
    insight: InsightService, raw: dict[str, str], field: str, message: str
) -> None:
    form = insight.read_filters(raw)
    assert form.errors == {field: message}
    default = insight.default_filters()
    assert getattr(form.filters, {"from": "date_from", "to": "date_to"}.get(field, field)) == getattr(
        default, {"from": "date_from", "to": "date_to"}.get(field, field)
    )


def test_a_team_too_small_to_list_is_refused_by_the_filter(build: Builder, insight: InsightService) -> None:
    build.team("tiny", "Tiny Team", people=2)
    assert "team" in insight.read_filters({"team": "tiny"}).errors


def test_filters_accept_labels_and_default_to_go_live_until_today(insight: InsightService) -> None:
    form = insight.read_filters({"module": "Case notes", "kind": "BUG", "from": "", "to": ""})
    assert form.errors == {}
    assert form.filters == span("2026-03-02", "2026-11-27", module="case-notes", kind="bug")


@pytest.mark.parametrize(
    ("before", "after", "words"),
    [
        (120, 72, "fell 40% from 120 to 72"),
        (52, 41, "fell 21% from 52 to 41"),
        (3, 3, "stayed at 3"),
        (0, 0, "stayed at 0"),
        (2, 0, "fell 100% from 2 to 0"),
        (1.5, 3, "rose 100% from 1.5 to 3"),
    ],
)
def test_change_phrases(before: float, after: float, words: str) -> None:
    assert change_phrase(before, after) == words
