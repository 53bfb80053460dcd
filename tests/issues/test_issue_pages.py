"""The issue pages: who may use them, grouping feedback from the list and a feedback's page, the issue page,
merging and undoing, editing with a version, and "me too" with and without htmx."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from feedback_portal.feedback.models import Feedback
from feedback_portal.issues.models import Issue, IssueMerge, MeToo
from tests.conftest import ALICE, BOB, CAROL, DAN, ERIN, csrf_token, field_error, sign_in
from tests.factories import make_feedback


def post(client, path, **data):  # noqa: ANN001, ANN003, ANN201
    return client.post(path, data={**data, "_csrf_token": csrf_token(client)}, follow_redirects=False)


def create_issue(client, title, *refs):  # noqa: ANN001, ANN201
    response = post(client, "/issues", title=title, feedback=list(refs))
    assert response.status_code == 303, response.text
    return response.headers["location"].split("?")[0].rsplit("/", 1)[1]


def count(session, model) -> int:  # noqa: ANN001
    session.rollback()
    return session.scalar(sa.select(sa.func.count()).select_from(model))


# Who may use the pages


def test_frontline_staff_get_403_on_every_issue_management_page(app, client):
    ref = make_feedback(app, ERIN.email)
    sign_in(client, BOB)
    issue = create_issue(client, "Exists", ref)
    client.cookies.clear()
    sign_in(client, ALICE)
    for path in ("/issues", f"/issues/{issue}", f"/issues/new?feedback={ref}"):
        assert client.get(path).status_code == 403, path
    for path, data in (
        ("/issues", {"title": "Mine", "feedback": ref}),
        (f"/issues/{issue}/link", {"feedback": ref}),
        (f"/issues/{issue}/unlink", {"feedback": ref}),
        (f"/issues/{issue}/merge", {"target": issue}),
        (f"/issues/{issue}/edit", {"title": "Mine", "version": "1"}),
        ("/issue-merges/1/undo", {}),
        (f"/feedback/{ref}/issue", {"issue": issue}),
    ):
        response = post(client, path, **data)
        assert response.status_code == 403, path
        assert "Your role does not give you access" in response.text


def test_signed_out_people_are_sent_to_sign_in(client):
    response = client.get("/issues", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"].startswith("/sign-in")


def test_the_board_can_read_issues_but_not_change_them(app, client):
    ref = make_feedback(app, ALICE.email)
    sign_in(client, BOB)
    issue = create_issue(client, "Readable", ref)
    client.cookies.clear()
    sign_in(client, CAROL)
    assert client.get("/issues").status_code == 200
    page = client.get(f"/issues/{issue}")
    assert page.status_code == 200 and "Readable" in page.text
    assert f'action="/issues/{issue}/edit"' not in page.text and "Remove" not in page.text
    assert post(client, f"/issues/{issue}/edit", title="Board edit", version="1").status_code == 403
    assert "Create an issue from this feedback" not in client.get(f"/feedback/{ref}").text


# Creating issues


def test_business_support_create_an_issue_from_several_selected_feedback(app, as_bob, session):
    refs = [
        make_feedback(app, ALICE.email, title="First report"),
        make_feedback(app, ERIN.email, title="Second"),
    ]
    listing = as_bob.get("/feedback")
    assert '<form method="get" action="/issues/new" id="group-feedback">' in listing.text
    assert f'<label class="govuk-label govuk-checkboxes__label" for="select-{refs[0]}">' in listing.text
    new_page = as_bob.get(f"/issues/new?feedback={refs[0]}&feedback={refs[1]}")
    assert new_page.status_code == 200
    assert 'value="First report"' in new_page.text and f'value="{refs[1]}" checked' in new_page.text

    response = post(as_bob, "/issues", title="Reports go missing", feedback=refs)
    assert response.status_code == 303
    assert response.headers["location"] == "/issues/ISS-0001?done=created"
    page = as_bob.get(response.headers["location"])
    assert "Issue created" in page.text and "Reports go missing" in page.text
    assert all(f'href="/feedback/{ref}"' in page.text for ref in refs)
    assert set(session.scalars(sa.select(Feedback.status))) == {"linked"}


def test_the_board_does_not_get_selection_checkboxes_on_the_feedback_list(app, client):
    make_feedback(app, ALICE.email)
    sign_in(client, CAROL)
    assert 'name="feedback" type="checkbox"' not in client.get("/feedback").text


def test_an_issue_is_created_from_a_feedbacks_own_page(app, as_bob):
    ref = make_feedback(app, ALICE.email, title="Printing fails")
    detail = as_bob.get(f"/feedback/{ref}")
    assert "Create an issue from this feedback" in detail.text and "Link to an existing issue" in detail.text
    issue = create_issue(as_bob, "Printing fails", ref)
    detail = as_bob.get(f"/feedback/{ref}")
    assert f'<a class="govuk-link" href="/issues/{issue}">{issue}: Printing fails</a>' in detail.text


def test_a_missing_title_is_shown_beside_the_field_and_nothing_is_saved(app, as_bob, session):
    ref = make_feedback(app, ALICE.email)
    response = post(as_bob, "/issues", title="", feedback=[ref, "FB-999999"])
    assert response.status_code == 422
    assert field_error(response.text, "title") == "Enter a title for the issue"
    assert field_error(response.text, "feedback") == "There is no feedback FB-999999"
    assert '<a href="#title">Enter a title for the issue</a>' in response.text
    assert count(session, Issue) == 0 and set(session.scalars(sa.select(Feedback.status))) == {"received"}


def test_no_feedback_chosen_is_a_message_not_an_error(as_bob, session):
    response = post(as_bob, "/issues", title="Empty")
    assert response.status_code == 422
    assert field_error(response.text, "feedback") == "Choose at least one feedback to group into the issue"
    assert count(session, Issue) == 0


def test_moving_feedback_from_another_issue_says_which(app, as_bob):
    ref = make_feedback(app, ALICE.email)
    first = create_issue(as_bob, "First", ref)
    response = post(as_bob, "/issues", title="Second", feedback=ref)
    page = as_bob.get(response.headers["location"])
    assert f"{ref} was moved here from {first}." in page.text


# The issue page


def test_the_issue_page_shows_the_evidence_and_an_accessible_trend_chart(app, as_bob):
    refs = [
        make_feedback(app, ALICE.email, team="cp-west", impact="blocks-work"),
        make_feedback(app, ERIN.email, team="youth-justice", impact="minor"),
    ]
    issue = create_issue(as_bob, "Evidence", *refs)
    page = as_bob.get(f"/issues/{issue}").text
    assert (
        "People who have said this" in page
        and "Child Protection West" in page
        and "It stops me working" in page
    )
    svg = re.search(r"<svg class=\"app-chart__svg\"[^>]*>", page).group(0)
    assert 'role="img"' in svg and 'aria-labelledby="trend-title trend-desc"' in svg
    assert '<desc id="trend-desc">2 in the 12 weeks' in page
    assert "Show the data" in page and "<details" in page and "ISO week" in page
    assert page.count('<rect x="') == 1  # one week with voices, so one bar


def test_anonymous_feedback_counts_without_revealing_who_sent_it(app, as_bob, client):
    anonymous = make_feedback(app, ALICE.email, anonymity="anonymous", body="Anonymous words")
    withheld = make_feedback(app, ERIN.email, anonymity="business-support-only")
    issue = create_issue(as_bob, "Identity", anonymous, withheld)
    page = as_bob.get(f"/issues/{issue}").text
    assert "2 (including 1 anonymous feedback)" in page
    assert ALICE.name not in page and "Anonymous" in page
    as_bob.cookies.clear()
    sign_in(client, CAROL)
    board_view = client.get(f"/issues/{issue}").text
    assert ALICE.name not in board_view and ERIN.name not in board_view and "Name withheld" in board_view


def test_an_unknown_issue_is_a_404_page(as_bob):
    response = as_bob.get("/issues/ISS-4242")
    assert response.status_code == 404 and "There is no issue ISS-4242" in response.text


def test_feedback_is_linked_and_unlinked_on_the_issue_page(app, as_bob, session):
    first, second = make_feedback(app, ALICE.email), make_feedback(app, ERIN.email)
    issue = create_issue(as_bob, "Linking", first)
    response = post(as_bob, f"/issues/{issue}/link", feedback=f"{second.lower()}, ")
    assert response.status_code == 303 and "done=linked" in response.headers["location"]
    assert f'href="/feedback/{second}"' in as_bob.get(f"/issues/{issue}").text
    response = post(as_bob, f"/issues/{issue}/unlink", feedback=first)
    assert response.status_code == 303
    page = as_bob.get(response.headers["location"]).text
    assert "Feedback removed from this issue" in page and f'href="/feedback/{first}"' not in page
    session.rollback()
    assert session.scalar(sa.select(Feedback.status).where(Feedback.ref == first)) == "received"
    assert post(as_bob, f"/issues/{issue}/unlink", feedback=first).status_code == 409


def test_linking_bad_refs_shows_the_message_beside_the_field(app, as_bob):
    issue = create_issue(as_bob, "Linking", make_feedback(app, ALICE.email))
    response = post(as_bob, f"/issues/{issue}/link", feedback="FB-999999 toast")
    assert response.status_code == 422
    assert (
        field_error(response.text, "feedback")
        == "“toast” is not a feedback reference (they look like FB-000123)"
    )
    assert 'value="FB-999999 toast"' in response.text


def test_feedback_is_linked_to_an_existing_issue_from_its_own_page(app, as_bob):
    ref, other = make_feedback(app, ALICE.email), make_feedback(app, ERIN.email)
    issue = create_issue(as_bob, "Existing", other)
    response = post(as_bob, f"/feedback/{ref}/issue", issue=issue.lower())
    assert response.status_code == 303 and response.headers["location"].startswith(
        f"/issues/{issue}?done=linked"
    )
    for bad, message in (
        ("", "Enter the reference of the issue, like ISS-0012"),
        ("ISS-0999", "There is no issue ISS-0999"),
    ):
        response = post(as_bob, f"/feedback/{ref}/issue", issue=bad)
        assert response.status_code == 422
        assert field_error(response.text, "issue") == message


# Merging


def test_an_issue_is_merged_and_the_merge_undone_from_the_pages(app, as_bob, session):
    source = create_issue(as_bob, "Source", make_feedback(app, ALICE.email))
    target = create_issue(as_bob, "Target", make_feedback(app, ERIN.email))
    response = post(as_bob, f"/issues/{source}/merge", target=target)
    assert response.status_code == 303 and response.headers["location"].startswith(
        f"/issues/{target}?done=merged"
    )
    target_page = as_bob.get(f"/issues/{target}").text
    assert f"{source}</a> was merged into" in target_page and "Undo merge" in target_page
    source_page = as_bob.get(f"/issues/{source}").text
    assert (
        "This issue was merged into" in source_page and f'action="/issues/{source}/merge"' not in source_page
    )

    merge_id = session.scalar(sa.select(IssueMerge.id))
    response = post(as_bob, f"/issue-merges/{merge_id}/undo")
    assert response.status_code == 303 and response.headers["location"].startswith(
        f"/issues/{source}?done=unmerged"
    )
    assert "Undone on" in as_bob.get(f"/issues/{source}").text
    assert post(as_bob, f"/issue-merges/{merge_id}/undo").status_code == 409


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ("", "Enter the reference of the issue to merge into, like ISS-0001"),
        ("ISS-0001", "An issue cannot be merged into itself: enter a different issue"),
        ("ISS-0404", "There is no issue ISS-0404"),
    ],
)
def test_a_bad_merge_target_is_shown_beside_the_field(app, as_bob, session, target, message):
    issue = create_issue(as_bob, "Alone", make_feedback(app, ALICE.email))
    response = post(as_bob, f"/issues/{issue}/merge", target=target)
    assert response.status_code == 422
    assert field_error(response.text, "target") == message
    assert count(session, IssueMerge) == 0


# Editing


def test_details_are_edited_with_the_version_they_were_read_at(app, as_bob):
    issue = create_issue(as_bob, "Before", make_feedback(app, ALICE.email))
    page = as_bob.get(f"/issues/{issue}").text
    assert '<input type="hidden" name="version" value="1">' in page
    response = post(
        as_bob,
        f"/issues/{issue}/edit",
        version="1",
        title="After",
        summary="Two lines\nof summary",
        module="search",
        supplier_ref="",
        target_release="",
        public_response="",
    )
    assert response.status_code == 303
    page = as_bob.get(response.headers["location"]).text
    assert "Changes saved" in page and '<h1 class="govuk-heading-l">After</h1>' in page
    assert '<input type="hidden" name="version" value="2">' in page


def test_a_stale_edit_gets_a_conflict_message_and_409(app, as_bob, client, session):
    issue = create_issue(as_bob, "Original", make_feedback(app, ALICE.email))
    assert post(as_bob, f"/issues/{issue}/edit", version="1", title="Dan's change").status_code == 303
    response = post(as_bob, f"/issues/{issue}/edit", version="1", title="Bob's change", summary="Mine")
    assert response.status_code == 409
    assert "Someone else changed" in response.text and '<a href="#conflict">' in response.text
    assert 'id="conflict"' in response.text
    assert 'value="Bob&#39;s change"' in response.text  # what they typed is kept
    assert '<input type="hidden" name="version" value="2">' in response.text  # against the latest version
    session.rollback()
    assert session.scalar(sa.select(Issue.title)) == "Dan's change"


def test_bad_edits_get_a_message_beside_the_field_and_save_nothing(app, as_bob, session):
    issue = create_issue(as_bob, "Original", make_feedback(app, ALICE.email))
    response = post(as_bob, f"/issues/{issue}/edit", version="1", title="", supplier_ref="x" * 61)
    assert response.status_code == 422
    assert field_error(response.text, "title") == "Enter a title for the issue"
    assert (
        field_error(response.text, "supplier_ref")
        == "The supplier reference must be 60 characters or fewer (you wrote 61)"
    )
    session.rollback()
    assert session.scalar(sa.select(Issue.version)) == 1


# "Me too"


def test_me_too_redirects_back_with_a_confirmation(app, client, session):
    ref = make_feedback(app, ALICE.email)
    sign_in(client, ERIN)
    response = post(client, f"/feedback/{ref}/me-too", impact="blocks-work", next="/feedback/new")
    assert response.status_code == 303
    assert response.headers["location"] == "/feedback/new?voice_added=2"
    page = client.get(response.headers["location"]).text
    assert "Thanks — your voice has been added (2 people have said this)" in page
    assert count(session, MeToo) == 1


def test_me_too_never_redirects_off_the_site(app, client):
    ref = make_feedback(app, ALICE.email)
    sign_in(client, ERIN)
    response = post(client, f"/feedback/{ref}/me-too", impact="minor", next="https://evil.example/")
    assert response.headers["location"] == "/?voice_added=2"


def test_me_too_over_htmx_gets_a_small_fragment(app, client, session):
    ref = make_feedback(app, ALICE.email)
    sign_in(client, BOB)
    issue = create_issue(client, "Issue", ref)
    client.cookies.clear()
    sign_in(client, ERIN)
    headers = {"HX-Request": "true", "HX-Target": "similar-feedback"}
    for _ in range(2):
        response = client.post(
            f"/issues/{issue}/me-too",
            data={"impact": "minor", "_csrf_token": csrf_token(client)},
            headers=headers,
        )
        assert response.status_code == 200
        assert "<html" not in response.text
        assert "Thanks — your voice has been added (2 people have said this)" in response.text
    assert count(session, MeToo) == 1


def test_me_too_without_an_impact_gets_the_form_again_with_a_message(app, client, session):
    ref = make_feedback(app, ALICE.email)
    sign_in(client, ERIN)
    response = post(client, f"/feedback/{ref}/me-too", next="/feedback/new")
    assert response.status_code == 422
    assert field_error(response.text, "impact") == "Choose how much it affects your work"
    assert f'action="/feedback/{ref}/me-too"' in response.text and 'value="/feedback/new"' in response.text
    fragment = client.post(
        f"/feedback/{ref}/me-too",
        data={"next": "/feedback/new", "_csrf_token": csrf_token(client)},
        headers={"HX-Request": "true"},
    )
    assert fragment.status_code == 422 and "<html" not in fragment.text
    assert "Choose how much it affects your work" in fragment.text
    assert f'href="/feedback/{ref}/me-too?next=%2Ffeedback%2Fnew"' in fragment.text  # a way on without the panel
    assert count(session, MeToo) == 0


def test_me_too_on_your_own_feedback_is_refused_with_a_clear_message(app, client, session):
    ref = make_feedback(app, ALICE.email)
    sign_in(client, ALICE)
    response = post(client, f"/feedback/{ref}/me-too", impact="minor")
    assert response.status_code == 403
    assert "You sent this feedback, so your voice is already counted." in response.text
    fragment = client.post(
        f"/feedback/{ref}/me-too",
        data={"impact": "minor", "_csrf_token": csrf_token(client)},
        headers={"HX-Request": "true"},
    )
    assert fragment.status_code == 200 and "<html" not in fragment.text  # htmx shows it: already counted
    assert "You sent this feedback, so your voice is already counted." in fragment.text
    assert count(session, MeToo) == 0


def test_the_me_too_form_page_works_without_javascript(app, client):
    ref = make_feedback(app, ALICE.email)
    sign_in(client, ERIN)
    page = client.get(f"/feedback/{ref.lower()}/me-too?next=/feedback/new")
    assert page.status_code == 200
    assert f'action="/feedback/{ref}/me-too"' in page.text and 'name="impact"' in page.text
    assert client.get("/feedback/FB-999999/me-too").status_code == 404
    assert client.get("/issues/ISS-0999/me-too").status_code == 404


def test_me_too_on_an_issue_counts_for_any_signed_in_role(app, client, session):
    ref = make_feedback(app, ALICE.email)
    sign_in(client, BOB)
    issue = create_issue(client, "Issue", ref)
    for persona in (ERIN, CAROL, DAN):
        client.cookies.clear()
        sign_in(client, persona)
        assert post(client, f"/issues/{issue}/me-too", impact="workaround").status_code == 303
    assert count(session, MeToo) == 3


def test_the_pages_use_only_data_hx_attributes(app, as_bob):
    ref = make_feedback(app, ALICE.email)
    issue = create_issue(as_bob, "Markup", ref)
    for path in (
        "/issues",
        f"/issues/{issue}",
        f"/issues/new?feedback={ref}",
        f"/feedback/{ref}",
        "/feedback",
        f"/feedback/{ref}/me-too",
    ):
        assert not re.search(r"\shx-[a-z]", as_bob.get(path).text), path
