"""Internal notes and public replies, on feedback and on issues: who may add each, who sees each (frontline
staff never see an internal note: not on My feedback, their feedback's page, nor the API), how they look, what
the contributors see of their issue, bad input, and telling contributors about a public reply."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from feedback_portal import db
from feedback_portal.audit.models import AuditEvent
from feedback_portal.errors import Forbidden
from feedback_portal.feedback.models import Comment, Feedback
from feedback_portal.issues.comments import CommentService
from tests.conftest import ALICE, BOB, CAROL, DAN, ERIN, api_token, field_error, sign_in
from tests.factories import make_feedback
from tests.issues.triage_helpers import FakeNotifications, create_issue, post, text_of

NOTE = "Internal: Alice's team lead says this is a training gap, not a bug."
REPLY = "Thanks — we have raised this with the supplier."
ISSUE_NOTE = "Internal: supplier ticket is SUP-88; do not promise a date."
ISSUE_REPLY = "A fix is planned for the March release."
INTERNAL_LABEL = "Internal note — not shown to staff who gave feedback"


def bearer(app, persona) -> dict[str, str]:  # noqa: ANN001
    return {"Authorization": f"Bearer {api_token(app, persona)}"}


def comments_count(session) -> int:  # noqa: ANN001
    session.rollback()
    return session.scalar(sa.select(sa.func.count(Comment.id)))


@pytest.fixture
def discussed(app, client):  # noqa: ANN001, ANN201
    """Alice's feedback in an issue, with a note and a reply on each (Bob), then Bob signed out."""
    ref = make_feedback(app, ALICE.email, title="Chronology will not load")
    sign_in(client, BOB)
    issue = create_issue(client, "Chronology is slow", ref)
    assert post(client, f"/feedback/{ref}/notes", note=NOTE).status_code == 303
    assert post(client, f"/feedback/{ref}/replies", reply=REPLY).status_code == 303
    assert post(client, f"/issues/{issue}/notes", note=ISSUE_NOTE).status_code == 303
    assert post(client, f"/issues/{issue}/replies", reply=ISSUE_REPLY).status_code == 303
    assert (
        post(
            client,
            f"/issues/{issue}/edit",
            version="1",
            status="wont-fix",
            status_reason="The supplier cannot make it faster this year.",
            public_response="We will keep pressing the supplier.",
        ).status_code
        == 303
    )
    client.cookies.clear()
    return ref, issue


# Frontline staff


def test_frontline_never_see_internal_notes_on_any_page_or_the_api(app, client, discussed):
    ref, issue = discussed
    sign_in(client, ALICE)
    mine = client.get("/my-feedback").text
    detail = client.get(f"/feedback/{ref}").text
    api = client.get(f"/api/v1/feedback/{ref}", headers=bearer(app, ALICE))
    assert api.status_code == 200
    for where, content in (("My feedback", mine), ("feedback page", detail), ("API", api.text)):
        assert "Internal:" not in content, where
        assert "Internal note" not in content, where
        assert "SUP-88" not in content, where
    assert [reply["body"] for reply in api.json()["public_replies"]] == [REPLY]
    # Nor the issue's own pages or API.
    assert client.get(f"/issues/{issue}").status_code == 403
    assert client.get(f"/api/v1/issues/{issue}", headers=bearer(app, ALICE)).status_code == 403


def test_contributors_see_their_issue_s_status_reason_response_and_replies(app, client, discussed):
    ref, issue = discussed
    sign_in(client, ALICE)
    for path in ("/my-feedback", f"/feedback/{ref}"):
        page = text_of(client.get(path).text)
        assert f"Part of issue {issue}: Chronology is slow" in page, path
        assert "Issue: Won't fix" in page, path
        assert "The supplier cannot make it faster this year." in page, path
        assert "Public response We will keep pressing the supplier." in page, path
        assert "Public reply Business support," in page and ISSUE_REPLY in page, path
        assert REPLY in page, path  # the reply on the feedback itself
        assert "Bob Support" not in page, path  # staff see "Business support", not who wrote it


def test_someone_else_s_feedback_and_its_replies_stay_private(app, client, discussed):
    ref, _ = discussed
    sign_in(client, ERIN)
    assert client.get(f"/feedback/{ref}").status_code == 403
    assert REPLY not in client.get("/my-feedback").text
    assert client.get(f"/api/v1/feedback/{ref}", headers=bearer(app, ERIN)).status_code == 403


def test_frontline_cannot_add_notes_or_replies(app, client):
    ref = make_feedback(app, ALICE.email)
    sign_in(client, BOB)
    issue = create_issue(client, "Issue", ref)
    client.cookies.clear()
    sign_in(client, ALICE)
    for path, field in (
        (f"/feedback/{ref}/notes", "note"),
        (f"/feedback/{ref}/replies", "reply"),
        (f"/issues/{issue}/notes", "note"),
        (f"/issues/{issue}/replies", "reply"),
    ):
        response = post(client, path, **{field: "From Alice"})
        assert response.status_code == 403, path
        assert "Your role does not give you access" in response.text
    for path in (f"/api/v1/feedback/{ref}/comments", f"/api/v1/issues/{issue}/comments"):
        for visibility in ("internal", "public"):
            response = client.post(
                path, json={"visibility": visibility, "body": "x"}, headers=bearer(app, ALICE)
            )
            assert response.status_code == 403, (path, visibility)
    assert "Add an internal note" not in client.get(f"/feedback/{ref}").text
    assert "Add a public reply" not in client.get(f"/feedback/{ref}").text


# Business support, the board and admins


def test_readers_see_notes_and_replies_visibly_different(app, client, discussed):
    ref, issue = discussed
    for persona in (BOB, CAROL, DAN):
        client.cookies.clear()
        sign_in(client, persona)
        for path, note, reply in (
            (f"/feedback/{ref}", NOTE, REPLY),
            (f"/issues/{issue}", ISSUE_NOTE, ISSUE_REPLY),
        ):
            html = client.get(path).text
            note_box = html[html.index('<div class="app-note">') :]
            note_box = note_box[: note_box.index("</div>")]
            assert INTERNAL_LABEL in note_box and note.replace("'", "&#39;") in note_box, (persona, path)
            reply_box = html[html.index('<div class="app-reply">', html.index('id="comments"')) :]
            reply_box = reply_box[: reply_box.index("</div>")]
            assert "Public reply" in reply_box and reply in reply_box, (persona, path)
            assert "Bob Support" in reply_box  # readers see who wrote it


def test_the_board_adds_internal_notes_but_not_public_replies(app, client, session):
    ref = make_feedback(app, ALICE.email)
    sign_in(client, BOB)
    issue = create_issue(client, "Issue", ref)
    client.cookies.clear()
    sign_in(client, CAROL)
    page = client.get(f"/issues/{issue}").text
    assert f'action="/issues/{issue}/notes"' in page and f'action="/issues/{issue}/replies"' not in page
    assert post(client, f"/issues/{issue}/notes", note="Board view: prioritise").status_code == 303
    assert post(client, f"/feedback/{ref}/notes", note="Board view again").status_code == 303
    assert post(client, f"/issues/{issue}/replies", reply="Board says hi").status_code == 403
    assert post(client, f"/feedback/{ref}/replies", reply="Board says hi").status_code == 403
    api = client.post(
        f"/api/v1/issues/{issue}/comments",
        json={"visibility": "public", "body": "x"},
        headers=bearer(app, CAROL),
    )
    assert api.status_code == 403
    session.rollback()
    assert set(session.scalars(sa.select(Comment.visibility))) == {"internal"}


def test_notes_and_replies_are_audited(app, client, session, discussed):
    ref, issue = discussed
    session.rollback()
    events = list(
        session.scalars(
            sa.select(AuditEvent).where(AuditEvent.action == "comment.added").order_by(AuditEvent.id)
        )
    )
    assert [(event.record_type, event.record_ref, event.after["visibility"]) for event in events] == [
        ("feedback", ref, "internal"),
        ("feedback", ref, "public"),
        ("issue", issue, "internal"),
        ("issue", issue, "public"),
    ]
    assert events[0].after["body"] == NOTE and events[0].actor_id is not None


def test_the_issue_api_lists_notes_and_replies_apart_for_readers(app, client, discussed):
    _, issue = discussed
    document = client.get(f"/api/v1/issues/{issue}", headers=bearer(app, CAROL)).json()
    assert [c["body"] for c in document["internal_notes"]] == [ISSUE_NOTE]
    assert [c["body"] for c in document["public_replies"]] == [ISSUE_REPLY]


def test_the_comments_api(app, client, session):
    ref = make_feedback(app, ALICE.email)
    issue = client.post(
        "/api/v1/issues", json={"title": "API", "feedback": [ref]}, headers=bearer(app, BOB)
    ).json()
    created = client.post(
        f"/api/v1/feedback/{ref}/comments",
        json={"visibility": "public", "body": " Hello "},
        headers=bearer(app, BOB),
    )
    assert created.status_code == 201 and created.json()["body"] == "Hello"
    assert created.json()["visibility"] == "public" and created.json()["author"] == "Bob Support"
    for body, field in (
        ({"visibility": "secret", "body": "x"}, "visibility"),
        ({"visibility": "internal"}, "note"),
        ({"visibility": "public", "body": ["x"]}, "reply"),
    ):
        response = client.post(f"/api/v1/issues/{issue['ref']}/comments", json=body, headers=bearer(app, BOB))
        assert response.status_code == 422 and field in response.json()["errors"], body
    assert (
        client.post(
            "/api/v1/issues/ISS-0404/comments",
            json={"visibility": "internal", "body": "x"},
            headers=bearer(app, BOB),
        ).status_code
        == 404
    )
    assert comments_count(session) == 1


# Bad input


def test_an_empty_or_too_long_note_is_refused_beside_the_field(app, client, session):
    ref = make_feedback(app, ALICE.email)
    sign_in(client, BOB)
    issue = create_issue(client, "Issue", ref)
    on_issue = post(client, f"/issues/{issue}/notes", note="   ")
    assert on_issue.status_code == 422
    assert field_error(on_issue.text, "note") == "Enter the internal note"
    assert '<a href="#note">' in on_issue.text
    on_feedback = post(client, f"/feedback/{ref}/replies", reply="x" * 5001)
    assert on_feedback.status_code == 422
    assert (
        field_error(on_feedback.text, "reply")
        == "The public reply must be 5,000 characters or fewer (you wrote 5,001)"
    )
    assert '<a href="#reply">' in on_feedback.text
    assert "x" * 5001 in on_feedback.text  # what they wrote is kept
    assert post(client, "/feedback/FB-999999/notes", note="Lost").status_code == 404
    assert comments_count(session) == 0


def test_a_merged_issue_takes_no_more_notes(app, client, session):
    sign_in(client, BOB)
    source = create_issue(client, "Source", make_feedback(app, ALICE.email))
    target = create_issue(client, "Target", make_feedback(app, ERIN.email))
    post(client, f"/issues/{source}/merge", target=target)
    response = post(client, f"/issues/{source}/notes", note="Late")
    assert response.status_code == 409 and f"merged into {target}" in response.text
    assert comments_count(session) == 0


# Telling contributors


def test_a_public_reply_on_an_issue_tells_its_contributors_and_a_note_does_not(app, client, monkeypatch):
    fake = FakeNotifications(monkeypatch)
    ref = make_feedback(app, ALICE.email)
    sign_in(client, BOB)
    issue = create_issue(client, "Issue", ref)
    post(client, f"/issues/{issue}/notes", note="Just for us")
    post(client, f"/feedback/{ref}/replies", reply="On the feedback")  # notify_contributors takes an issue
    post(client, f"/issues/{issue}/replies", reply=ISSUE_REPLY)
    post(client, f"/issues/{issue}/edit", version="1", status="investigating")
    assert fake.calls == [
        (issue, {"kind": "reply", "summary": ISSUE_REPLY, "reply": ISSUE_REPLY}),
        (
            issue,
            {
                "kind": "status",
                "summary": f"{issue} “Issue” is now Investigating",
                "status": "investigating",
                "status_reason": None,
            },
        ),
    ]


def test_the_service_refuses_a_public_reply_from_the_board_whatever_the_route(app, person):
    ref = make_feedback(app, ALICE.email)
    with app.state.session_factory() as db_session:
        with pytest.raises(Forbidden):
            CommentService(db_session).add("feedback", ref, "public", "Hello", person(CAROL))
        with pytest.raises(Forbidden):
            CommentService(db_session).add("feedback", ref, "internal", "Hello", person(ALICE))


@pytest.mark.skipif(
    "restricted" not in Feedback.__table__.c, reason="Feedback.restricted comes with the privacy work"
)
def test_the_board_cannot_comment_on_restricted_feedback(app, client, session):
    ref = make_feedback(app, ALICE.email)
    with app.state.session_factory() as db_session:
        db.begin_write(db_session)
        db_session.execute(sa.update(Feedback).where(Feedback.ref == ref).values(restricted=True))
        db_session.commit()
    sign_in(client, CAROL)
    assert post(client, f"/feedback/{ref}/notes", note="Board note").status_code == 403
    client.cookies.clear()
    sign_in(client, BOB)
    assert post(client, f"/feedback/{ref}/notes", note="Support note").status_code == 303
    assert comments_count(session) == 1


def test_with_the_real_notifications_module_contributors_are_told(app, client, session):
    """Once feedback_portal.notifications is there, a status change and a public reply reach Alice."""
    services = pytest.importorskip("feedback_portal.notifications.services")
    from feedback_portal.notifications.models import Notification

    ref = make_feedback(app, ALICE.email)
    sign_in(client, BOB)
    issue = create_issue(client, "Issue", ref)
    post(client, f"/issues/{issue}/edit", version="1", status="wont-fix", status_reason="Not possible")
    post(client, f"/issues/{issue}/replies", reply=ISSUE_REPLY)
    post(client, f"/issues/{issue}/notes", note="Internal: never sent")
    session.rollback()
    bodies = [n.body for n in session.scalars(sa.select(Notification).order_by(Notification.id))]
    assert len(bodies) == 2, (services, bodies)
    assert "Not possible" in bodies[0] and ISSUE_REPLY in bodies[1]
    assert not any("Internal" in body for body in bodies)
