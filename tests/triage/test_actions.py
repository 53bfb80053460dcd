"""Triage actions on one item: each goes to the next item with the queue's filters and a banner, sets
triaged_at the first time feedback leaves the queue (audited), and bad input changes nothing."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from feedback_portal.feedback.models import Comment, Feedback
from feedback_portal.issues.models import MeToo
from tests.conftest import ALICE, BOB, ERIN, field_error, sign_in, user_id
from tests.factories import make_feedback
from tests.issues.triage_helpers import audit_events, create_issue, history_lines, post, text_of
from tests.triage.conftest import feedback_row

pytestmark = pytest.mark.postgres

EMAIL_BODY = "The CMS emailed jane.doe@example.com instead of the team inbox when I saved the plan"


def _three(app):
    return [make_feedback(app, ALICE.email, title=f"Item {n}", module="case-notes") for n in (1, 2, 3)]


def test_link_goes_to_the_next_item_with_the_filters_and_a_banner(app, client, session):
    issue_feedback, first, second = _three(app)
    make_feedback(app, ALICE.email, title="Other module", module="reports")
    sign_in(client, BOB)
    issue = create_issue(client, "Grouped", issue_feedback)
    response = post(client, f"/triage/{first}/link", issue=issue, queue="module=case-notes")
    assert response.status_code == 303
    assert (
        response.headers["location"]
        == f"/triage/{second}?module=case-notes&done=linked&ref={first}&target={issue}"
    )
    page = client.get(response.headers["location"])
    assert f"{first} linked to {issue}." in text_of(page.text)
    row = feedback_row(app, first)
    assert row.status == "linked" and row.triaged_at is not None
    linked = [e for e in audit_events(session, "issue", issue) if e.action == "issue.feedback_linked"]
    assert linked[-1].after["triaged"] == {first: row.triaged_at.isoformat()}


def test_the_last_item_goes_back_to_the_queue(app, client):
    ref = make_feedback(app, ALICE.email)
    sign_in(client, BOB)
    response = post(client, f"/triage/{ref}/not-cms", not_cms_reason="It is about the printer", queue="")
    assert response.headers["location"] == f"/triage?done=not-cms&ref={ref}"
    text = text_of(client.get(response.headers["location"]).text)
    assert "marked as not about the CMS" in text and "Nothing is waiting" in text


def test_triaged_at_is_set_once_and_kept(app, client, session):
    ref = make_feedback(app, ALICE.email)
    sign_in(client, BOB)
    first = create_issue(client, "First", ref)  # the existing create path
    when = feedback_row(app, ref).triaged_at
    assert when is not None
    created = next(e for e in audit_events(session, "issue", first) if e.action == "issue.created")
    assert created.after["triaged"] == {ref: when.isoformat()}
    second = create_issue(client, "Second", make_feedback(app, ALICE.email))
    post(client, f"/issues/{second}/link", feedback=ref)  # the existing link path moves it
    assert feedback_row(app, ref).triaged_at == when
    moved = next(e for e in audit_events(session, "issue", second) if e.action == "issue.feedback_linked")
    assert "triaged" not in moved.after  # it was triaged before
    post(client, f"/issues/{second}/unlink", feedback=ref)
    assert feedback_row(app, ref).triaged_at == when  # back in the queue, but it was triaged then
    assert first


def test_link_to_an_unknown_or_missing_issue_is_a_message_beside_the_field(app, client):
    ref = make_feedback(app, ALICE.email)
    sign_in(client, BOB)
    for value, message in (
        ("", "Enter the issue reference"),
        ("ISS-0099", "There is no issue ISS-0099"),
        ("banana", "Enter an issue reference"),
    ):
        response = post(client, f"/triage/{ref}/link", issue=value, queue="")
        assert response.status_code == 422
        assert message in field_error(response.text, "issue")
    assert feedback_row(app, ref).status == "received" and feedback_row(app, ref).triaged_at is None


def test_create_issue_from_the_item(app, client):
    ref, following = make_feedback(app, ALICE.email, module="reports"), make_feedback(app, ALICE.email)
    sign_in(client, BOB)
    response = post(client, f"/triage/{ref}/create-issue", title="Reports time out", queue="")
    assert response.status_code == 303
    assert response.headers["location"].startswith(f"/triage/{following}?done=created&ref={ref}&target=ISS-")
    row = feedback_row(app, ref)
    assert row.issue.title == "Reports time out" and row.issue.module == "reports" and row.triaged_at
    response = post(client, f"/triage/{following}/create-issue", title="", queue="")
    assert (
        response.status_code == 422 and field_error(response.text, "title") == "Enter a title for the issue"
    )


def test_duplicate_of_an_issue_links_it_and_counts_the_sender_as_a_me_too(app, client, session):
    grouped, dup = make_feedback(app, ALICE.email), make_feedback(app, ERIN.email, impact="blocks-work")
    sign_in(client, BOB)
    issue = create_issue(client, "Grouped", grouped)
    response = post(client, f"/triage/{dup}/duplicate", target=issue.lower(), queue="")
    assert (
        response.status_code == 303
        and f"done=duplicate&ref={dup}&target={issue}" in response.headers["location"]
    )
    row = feedback_row(app, dup)
    assert row.issue.ref == issue and row.triaged_at
    assert [e.action for e in audit_events(session, "feedback", dup)].count("feedback.triaged") == 1
    me_too = session.scalar(sa.select(MeToo).where(MeToo.user_id == user_id(app, ERIN)))
    assert me_too.issue_id == row.issue_id and me_too.impact == "blocks-work"


def test_duplicate_of_untriaged_feedback_closes_it_and_adds_the_voice_there(app, client, session):
    original, dup = make_feedback(app, ALICE.email), make_feedback(app, ERIN.email)
    sign_in(client, BOB)
    response = post(client, f"/triage/{dup}/duplicate", target=original, queue="")
    assert response.status_code == 303
    row = feedback_row(app, dup)
    assert row.status == "closed" and original in row.closed_reason and row.triaged_at
    target = feedback_row(app, original)
    assert session.scalar(sa.select(MeToo).where(MeToo.feedback_id == target.id)).user_id == user_id(
        app, ERIN
    )
    # When the original joins an issue, the voice goes with it.
    issue = create_issue(client, "Later", original)
    assert "Me too" in text_of(client.get(f"/issues/{issue}").text)


def test_duplicate_of_anonymous_feedback_adds_no_identity(app, client, session):
    original, dup = make_feedback(app, ALICE.email), make_feedback(app, ERIN.email, anonymity="anonymous")
    sign_in(client, BOB)
    assert post(client, f"/triage/{dup}/duplicate", target=original, queue="").status_code == 303
    assert session.scalar(sa.select(sa.func.count(MeToo.id))) == 0


def test_duplicate_bad_targets(app, client):
    ref = make_feedback(app, ALICE.email)
    closed = make_feedback(app, ALICE.email)
    sign_in(client, BOB)
    post(client, f"/triage/{closed}/not-cms", not_cms_reason="Printer", queue="")
    for value, message in (
        ("", "Enter the feedback or issue"),
        (ref, "cannot be the same as itself"),
        ("FB-999999", "There is no feedback FB-999999"),
        ("ISS-0077", "There is no issue ISS-0077"),
        (closed, "is closed"),
    ):
        response = post(client, f"/triage/{ref}/duplicate", target=value, queue="")
        assert response.status_code == 422, value
        assert message in field_error(response.text, "target"), value
    assert feedback_row(app, ref).status == "received"


def test_classify_sets_module_kind_and_impact_audited(app, client, session):
    ref, following = make_feedback(app, ALICE.email), make_feedback(app, ALICE.email)
    sign_in(client, BOB)
    response = post(
        client,
        f"/triage/{ref}/classify",
        module="reports",
        kind="performance",
        impact="workaround",
        queue="",
        then="stay",
    )
    assert response.headers["location"] == f"/triage/{ref}?done=classified&ref={ref}"
    row = feedback_row(app, ref)
    assert (row.module, row.kind, row.impact, row.status, row.triaged_at) == (
        "reports",
        "performance",
        "workaround",
        "received",
        None,
    )
    event = next(e for e in audit_events(session, "feedback", ref) if e.action == "feedback.classified")
    assert event.before == {"module": "case-notes", "kind": "bug", "impact": "minor"}
    response = post(client, f"/triage/{ref}/classify", module="reports", queue="", then="next")
    assert response.headers["location"].startswith(f"/triage/{following}?")
    response = post(client, f"/triage/{ref}/classify", module="nonsense", kind="bug", queue="")
    assert response.status_code == 422
    assert field_error(response.text, "module") == "Choose the part of the CMS from the list"
    assert feedback_row(app, ref).kind == "performance"


def test_ask_the_sender_a_question(app, client, session):
    ref = make_feedback(app, ALICE.email)
    sign_in(client, BOB)
    response = post(client, f"/triage/{ref}/ask", question="Which browser were you using?", queue="")
    assert response.status_code == 303
    row = feedback_row(app, ref)
    assert row.status == "under-review" and row.triaged_at is None  # still waiting in the queue
    comment = session.scalar(sa.select(Comment).where(Comment.feedback_id == row.id))
    assert comment.visibility == "public" and comment.body == "Which browser were you using?"
    assert "Question asked" in text_of(client.get("/triage").text)
    sign_in(client, ALICE)
    assert "Which browser were you using?" in text_of(client.get(f"/feedback/{ref}").text)
    notifications = text_of(client.get("/notifications").text)
    assert f"Business support have a question about your feedback {ref}" in notifications


def test_no_question_to_anonymous_or_held_feedback_or_without_text(app, client, session):
    anonymous = make_feedback(app, ALICE.email, anonymity="anonymous")
    held = make_feedback(app, ALICE.email, body=EMAIL_BODY)
    ordinary = make_feedback(app, ALICE.email)
    sign_in(client, BOB)
    response = post(client, f"/triage/{anonymous}/ask", question="Hello?", queue="")
    assert response.status_code == 422 and "sent anonymously" in text_of(response.text)
    response = post(client, f"/triage/{held}/ask", question="Hello?", queue="")
    assert response.status_code == 422 and "Redact or clear the personal data before replying" in text_of(
        response.text
    )
    response = post(client, f"/triage/{ordinary}/ask", question="  ", queue="")
    assert response.status_code == 422 and field_error(response.text, "question") == "Enter the public reply"
    assert session.scalar(sa.select(sa.func.count(Comment.id))) == 0


def test_not_cms_needs_a_reason_shown_to_the_sender(app, client, session):
    ref = make_feedback(app, ALICE.email)
    sign_in(client, BOB)
    response = post(client, f"/triage/{ref}/not-cms", not_cms_reason=" ", queue="")
    assert response.status_code == 422
    assert "Enter why this is not about the CMS" in field_error(response.text, "not_cms_reason")
    response = post(client, f"/triage/{ref}/not-cms", not_cms_reason="x" * 501, queue="")
    assert response.status_code == 422
    assert feedback_row(app, ref).status == "received"
    assert (
        post(
            client, f"/triage/{ref}/not-cms", not_cms_reason="This is about the phone system", queue=""
        ).status_code
        == 303
    )
    row = feedback_row(app, ref)
    assert (row.status, row.closed_reason) == ("not-cms", "This is about the phone system") and row.triaged_at
    event = next(e for e in audit_events(session, "feedback", ref) if e.action == "feedback.not_cms")
    assert event.after["closed_reason"] == "This is about the phone system"
    assert [e.action for e in audit_events(session, "feedback", ref)].count("feedback.triaged") == 1
    sign_in(client, ALICE)
    assert "This is about the phone system" in text_of(client.get("/my-feedback").text)


def test_public_reply_on_held_feedback_is_blocked_but_a_note_is_not(app, client, session):
    held = make_feedback(app, ALICE.email, body=EMAIL_BODY)
    sign_in(client, BOB)
    response = post(client, f"/feedback/{held}/replies", reply="Thanks for this")
    assert response.status_code == 422
    assert field_error(response.text, "reply") == "Redact or clear the personal data before replying"
    assert session.scalar(sa.select(sa.func.count(Comment.id))) == 0
    assert post(client, f"/feedback/{held}/notes", note="Check with the team").status_code == 303


def test_comment_service_refuses_public_replies_on_held_feedback(app, session):

    from feedback_portal.accounts.models import User
    from feedback_portal.errors import ValidationFailed
    from feedback_portal.issues.comments import CommentService

    held = make_feedback(app, ALICE.email, body=EMAIL_BODY)
    bob = session.scalar(sa.select(User).where(User.email == BOB.email))
    with pytest.raises(ValidationFailed) as raised:
        CommentService(session).add("feedback", held, "public", "Hello", bob)
    assert raised.value.errors == {"reply": "Redact or clear the personal data before replying"}
    assert session.scalar(sa.select(sa.func.count(Comment.id))) == 0
    assert session.scalar(sa.select(Feedback.held).where(Feedback.ref == held)) is True


def test_not_cms_on_held_feedback_waits_for_the_review(app, client):
    held = make_feedback(app, ALICE.email, body=EMAIL_BODY)
    sign_in(client, BOB)
    response = post(client, f"/triage/{held}/not-cms", not_cms_reason="About email", queue="")
    assert response.status_code == 422
    assert "Redact or clear the personal data before replying" in field_error(response.text, "not_cms_reason")
    assert feedback_row(app, held).status == "received"


def test_the_history_reads_well(app, client):
    ref = make_feedback(app, ALICE.email)
    sign_in(client, BOB)
    post(client, f"/triage/{ref}/not-cms", not_cms_reason="About the phones", queue="")
    lines = history_lines(client.get(f"/triage/{ref}").text)
    assert any("Bob Support changed status from Received to Not about the CMS" in line for line in lines)
    assert any("Bob Support set closing reason to “About the phones”" in line for line in lines)
    assert any("Bob Support took it off the triage queue" in line for line in lines)
    assert not any("triaged at" in line for line in lines)


def test_safeguarding_feedback_without_flagged_pieces_can_still_be_closed(app, client, session):
    ref = make_feedback(
        app, ALICE.email, body="A child is at immediate risk of harm and the form would not submit"
    )
    row = feedback_row(app, ref)
    assert row.restricted and not row.personal_data  # held for safeguarding only: nothing to redact
    sign_in(client, BOB)
    response = post(
        client, f"/triage/{ref}/not-cms", not_cms_reason="Passed to the MASH; not about the CMS", queue=""
    )
    assert response.status_code == 303
    assert feedback_row(app, ref).status == "not-cms"
    assert session.scalar(sa.select(sa.func.count(Comment.id))) == 0  # no reply to held feedback
