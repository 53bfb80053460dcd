"""notify_contributors: who is told (once each), what they are told, and what they are never told."""

from __future__ import annotations

import sqlalchemy as sa

from feedback_portal import db
from feedback_portal.accounts.models import User
from feedback_portal.issues.models import Issue
from feedback_portal.issues.services import IssueService
from feedback_portal.notifications.models import Notification, OutboxEmail
from feedback_portal.notifications.services import compose, notify_contributors
from tests.conftest import ALICE, BOB, CAROL, DAN, ERIN, PERSONAS
from tests.factories import make_feedback
from tests.notifications.conftest import load_user, make_issue, me_too, notifications_of, notify, outbox


SECRET_BODY = "Erin's private words about a child's case that must never be quoted"
EVENT = {
    "status": "fixed",
    "reason": "The supplier released a fix in version 4.2.",
    "public_response": "Thank you for telling us. Case notes now save every 30 seconds.",
}


def scenario(app) -> tuple[str, dict[str, str]]:  # noqa: ANN001
    """An issue with named (Alice), business-support-only (Dan) and anonymous (Erin) feedback, and me-toos."""
    refs = {
        "alice": make_feedback(app, ALICE.email, title="Alice's own title", body="Alice's words about notes"),
        "dan": make_feedback(app, DAN.email, anonymity="business-support-only", body="Dan's words, unnamed"),
        "erin": make_feedback(app, ERIN.email, anonymity="anonymous", title="Erin's title", body=SECRET_BODY),
    }
    issue_ref = make_issue(app, "Case notes are lost when the CMS times out", list(refs.values()), BOB)
    # Carol says "me too" on the issue twice (the second changes her impact) and on Alice's feedback.
    me_too(app, CAROL, issue_ref=issue_ref, impact="minor")
    me_too(app, CAROL, issue_ref=issue_ref, impact="blocks-work")
    me_too(app, CAROL, feedback_ref=refs["alice"])
    return issue_ref, refs


def told(app) -> dict[str, int]:  # noqa: ANN001
    return {persona.email: len(notifications_of(app, persona)) for persona in PERSONAS}


def test_every_contributor_is_told_once_and_anonymous_senders_are_not(mail_app):
    issue_ref, _ = scenario(mail_app)
    assert notify(mail_app, issue_ref, EVENT) == 3
    assert told(mail_app) == {ALICE.email: 1, BOB.email: 0, CAROL.email: 1, DAN.email: 1, ERIN.email: 0}
    addresses = sorted(email.to_address for email in outbox(mail_app))
    assert addresses == sorted([ALICE.email, CAROL.email, DAN.email])


def test_the_message_says_you_said_we_did_in_plain_words_and_nothing_else(mail_app):
    issue_ref, refs = scenario(mail_app)
    notify(mail_app, issue_ref, EVENT)
    notification = notifications_of(mail_app, CAROL)[0]
    assert notification.subject == "Fixed: Case notes are lost when the CMS times out"
    assert notification.body == (
        "You said: Case notes are lost when the CMS times out\n\n"
        "We did: Fixed.\n\n"
        "Why: The supplier released a fix in version 4.2.\n\n"
        "What we have to say about it:\n"
        "Thank you for telling us. Case notes now save every 30 seconds."
    )
    assert notification.read_at is None
    texts = [n.subject + n.body + (n.link or "") for p in PERSONAS for n in notifications_of(mail_app, p)]
    texts += [e.subject + e.body_text for e in outbox(mail_app)]
    for text in texts:
        for persona in PERSONAS:  # nobody's name, not even the recipient's
            assert persona.name not in text and persona.name.split()[0] not in text
        for words in ("Alice's own title", "Alice's words", "Dan's words", "Erin's title", SECRET_BODY):
            assert words not in text
        assert refs["erin"] not in text


def test_links_go_to_what_each_person_may_open(mail_app):
    issue_ref, refs = scenario(mail_app)
    notify(mail_app, issue_ref, EVENT)
    assert notifications_of(mail_app, ALICE)[0].link == f"/feedback/{refs['alice']}"  # her own feedback
    assert notifications_of(mail_app, CAROL)[0].link == f"/issues/{issue_ref}"  # the board may open issues
    assert notifications_of(mail_app, DAN)[0].link == f"/issues/{issue_ref}"


def test_an_anonymous_sender_who_also_says_me_too_is_told_without_linking_them_to_their_feedback(mail_app):
    issue_ref, refs = scenario(mail_app)
    me_too(mail_app, ERIN, issue_ref=issue_ref)
    assert notify(mail_app, issue_ref, EVENT) == 4
    [notification] = notifications_of(mail_app, ERIN)
    assert notification.link is None  # a frontline "me too" has nothing of theirs to open
    assert refs["erin"] not in notification.body and SECRET_BODY not in notification.body
    # Everyone else's message is the same words: nothing about Erin was added for her or because of her.
    bodies = {n.body for p in (ALICE, CAROL, DAN, ERIN) for n in notifications_of(mail_app, p)}
    assert bodies == {notification.body}


def test_me_too_on_the_feedback_counts_and_a_person_who_spoke_several_ways_is_told_once(mail_app):
    first = make_feedback(mail_app, ALICE.email)
    second = make_feedback(mail_app, ALICE.email)
    issue_ref = make_issue(mail_app, "Search is slow", [first, second], BOB)
    me_too(mail_app, ERIN, feedback_ref=first)
    me_too(mail_app, ERIN, feedback_ref=second)
    me_too(mail_app, ERIN, issue_ref=issue_ref)
    me_too(mail_app, ALICE, issue_ref=issue_ref)  # Alice sent feedback too
    assert notify(mail_app, issue_ref) == 2
    assert len(notifications_of(mail_app, ALICE)) == 1 and len(notifications_of(mail_app, ERIN)) == 1
    assert len(outbox(mail_app)) == 2
    assert notifications_of(mail_app, ALICE)[0].link == f"/feedback/{second}"  # her latest


def test_without_smtp_people_are_told_in_the_portal_only(app):
    assert not app.state.settings.smtp_host
    issue_ref, _ = scenario(app)
    assert notify(app, issue_ref, EVENT) == 3
    assert told(app)[ALICE.email] == 1
    assert outbox(app) == []


def test_it_runs_in_the_callers_transaction_and_never_commits(mail_app):
    issue_ref, _ = scenario(mail_app)
    with mail_app.state.session_factory() as session:
        db.begin_write(session)
        issue = session.scalar(sa.select(Issue).where(Issue.ref == issue_ref))
        assert notify_contributors(session, issue, EVENT) == 3
        assert session.in_transaction()
        session.rollback()  # the caller's change failed: nobody is told about it
    with mail_app.state.session_factory() as session:
        assert session.scalar(sa.select(sa.func.count(Notification.id))) == 0
        assert session.scalar(sa.select(sa.func.count(OutboxEmail.id))) == 0


def test_an_issue_nobody_identified_spoke_about_tells_nobody(mail_app):
    ref = make_feedback(mail_app, ERIN.email, anonymity="anonymous")
    issue_ref = make_issue(mail_app, "Only anonymous", [ref], BOB)
    assert notify(mail_app, issue_ref) == 0
    assert outbox(mail_app) == []


def test_contributors_of_an_issue_merged_into_this_one_are_told(mail_app):
    a = make_feedback(mail_app, ALICE.email)
    b = make_feedback(mail_app, ERIN.email)
    target = make_issue(mail_app, "Target", [a], BOB)
    source = make_issue(mail_app, "Source", [b], BOB)
    me_too(mail_app, CAROL, issue_ref=target)
    me_too(mail_app, CAROL, issue_ref=source)  # kept on the source by the merge: she has one on the target
    with mail_app.state.session_factory() as session:
        IssueService(session).merge(source, target, load_user(mail_app, BOB))
    assert notify(mail_app, target) == 3  # Alice, Erin (her named feedback moved here) and Carol once


def test_inactive_people_are_not_told(mail_app):
    issue_ref, _ = scenario(mail_app)
    with db.write_session(mail_app.state.session_factory) as session:
        session.execute(sa.update(User).where(User.email == DAN.email).values(active=False))
    assert notify(mail_app, issue_ref, EVENT) == 2
    assert told(mail_app)[DAN.email] == 0


def test_the_words_for_a_reply_only_and_for_a_status_without_a_reason():
    issue = Issue(title="  Chronology   entries go missing ", status="investigating")
    assert compose(issue, {}).body == "You said: Chronology entries go missing\n\nWe did: Investigating."
    replied = compose(issue, {"reply": "We are looking at it with the supplier."})
    assert replied.subject == "Investigating: Chronology entries go missing"
    assert replied.body.endswith("What we have to say about it:\nWe are looking at it with the supplier.")
    long = compose(Issue(title="x" * 150, status="new"), {"status": "wont-fix", "status_reason": "Out of scope"})
    assert len(long.subject) <= 200 and long.subject.startswith("Won't fix: ")
    assert "Why: Out of scope" in long.body
