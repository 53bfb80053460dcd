"""\"You said, we did\": every signed-in person sees what was fixed or decided lately, in plain words, with how many
people raised each, and nothing that is not public (no internal notes, no feedback text, no names)."""

from __future__ import annotations

import datetime as dt

import pytest
from litestar.testing import TestClient

from feedback_portal.db import utcnow
from feedback_portal.feedback.models import Comment
from tests.conftest import ALICE, BOB, CAROL, ERIN, PERSONAS, field_error, sign_in
from tests.insight.conftest import Builder



def days_ago(days: float) -> str:
    return (utcnow() - dt.timedelta(days=days)).strftime("%Y-%m-%d %H:%M")


@pytest.fixture
def outcomes(build: Builder) -> dict[str, str]:
    alice, erin, carol = build.user(ALICE.email), build.user(ERIN.email), build.user(CAROL.email)
    fixed = build.issue(
        "Case notes vanish after a timeout",
        days_ago(60),
        module="case-notes",
        status="fixed",
        decided=days_ago(30),
        fixed=days_ago(10),
        resolved=days_ago(10),
        target_release="Release 2.3",
        public_response="Drafts are now saved every minute.",
    )
    build.feedback(days_ago(50), issue=fixed, submitter=alice, body="SECRET FEEDBACK TEXT about Jo Bloggs")
    build.feedback(days_ago(49), issue=fixed, submitter=alice)  # Alice twice: one person
    build.feedback(days_ago(48), issue=fixed)  # anonymous: one more person
    build.feedback(days_ago(47), issue=fixed, submitter=erin, held=True, body="HELD TEXT with a phone number")
    build.me_too(carol, days_ago(20), issue=fixed)  # 4 people
    build.me_too(erin, days_ago(20), issue=fixed)  # Erin again: still 4
    build.session.add(
        Comment(
            issue_id=fixed.id,
            visibility="internal",
            body="INTERNAL NOTE: supplier is late",
            created_at=utcnow(),
        )
    )
    build.session.commit()
    guidance = build.issue(
        "Nobody knows how to record a joint visit",
        days_ago(40),
        module="training-guidance",
        status="guidance-issued",
        decided=days_ago(5),
        resolved=days_ago(5),
        status_reason="A quick guide is on the intranet under CMS help.",
    )
    build.feedback(days_ago(30), issue=guidance, submitter=erin)
    scheduled = build.issue(
        "Forms ask twice for the address",
        days_ago(40),
        module="forms-templates",
        status="fix-scheduled",
        decided=days_ago(14),
        target_release="Release 2.5",
    )
    build.issue(
        "Too old to show",
        days_ago(400),
        status="fixed",
        decided=days_ago(200),
        fixed=days_ago(200),
        resolved=days_ago(200),
    )
    build.issue(
        "Reopened and being looked at again", days_ago(50), status="investigating", decided=days_ago(20)
    )
    build.issue("Still new", days_ago(3))
    build.issue(
        "Merged away",
        days_ago(30),
        status="fixed",
        decided=days_ago(3),
        fixed=days_ago(3),
        resolved=days_ago(3),
        merged_into=fixed,
    )
    return {"fixed": fixed.ref, "guidance": guidance.ref, "scheduled": scheduled.ref}


@pytest.mark.parametrize("persona", PERSONAS, ids=[p.role for p in PERSONAS])
def test_everyone_signed_in_can_read_it(client: TestClient, persona) -> None:  # noqa: ANN001
    sign_in(client, persona)
    response = client.get("/you-said-we-did")
    assert response.status_code == 200
    assert "You said, we did" in response.text


def test_signed_out_people_are_asked_to_sign_in(client: TestClient) -> None:
    assert client.get("/you-said-we-did", follow_redirects=False).status_code == 303


def test_recent_fixes_and_decisions_are_told_in_plain_words_grouped_by_module(
    client: TestClient, outcomes: dict[str, str]
) -> None:
    sign_in(client, ALICE)
    page = client.get("/you-said-we-did").text
    assert "3 changes since" in page
    case_notes, forms, training = (
        page.index(">Case notes<"),
        page.index(">Forms &amp; templates<"),
        page.index(">Training &amp; guidance<"),
    )
    assert case_notes < forms < training  # modules in order of their names
    assert "You told us: Case notes vanish after a timeout" in page
    assert "We fixed it in Release 2.3." in page and "Drafts are now saved every minute." in page
    assert "A fix is scheduled for Release 2.5." in page
    assert "We published guidance. A quick guide is on the intranet under CMS help." in page
    assert "4 people raised this, including you" in page  # Alice, anonymous, Erin, Carol
    assert "1 person raised this ·" in page
    for hidden in ("Too old to show", "Reopened and being looked at again", "Still new", "Merged away"):
        assert hidden not in page


def test_nothing_private_is_shown(client: TestClient, outcomes: dict[str, str]) -> None:
    sign_in(client, BOB)  # even business support, who may read all of it elsewhere
    page = client.get("/you-said-we-did").text
    for private in (
        "SECRET FEEDBACK TEXT",
        "Jo Bloggs",
        "HELD TEXT",
        "INTERNAL NOTE",
        "Alice Frontline",
        "Erin Frontline",
        "Carol Board",
    ):
        assert private not in page


def test_a_longer_look_back_finds_older_changes(client: TestClient, outcomes: dict[str, str]) -> None:
    sign_in(client, ERIN)
    assert "Too old to show" in client.get("/you-said-we-did?weeks=52").text
    assert "Too old to show" not in client.get("/you-said-we-did?weeks=4").text


@pytest.mark.parametrize("weeks", ["7", "-4", "lots", "1000000"])
def test_a_look_back_not_on_the_list_is_a_400_with_the_message_beside_it(
    client: TestClient, weeks: str
) -> None:
    sign_in(client, ALICE)
    response = client.get(f"/you-said-we-did?weeks={weeks}")
    assert response.status_code == 400
    assert field_error(response.text, "weeks") == "Choose how far back to look: 4, 12, 26 or 52 weeks"


def test_with_nothing_decided_the_page_says_so(client: TestClient) -> None:
    sign_in(client, ALICE)
    assert "Nothing has been fixed or decided since" in client.get("/you-said-we-did").text
