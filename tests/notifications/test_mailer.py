"""The outbox sender against a real SMTP server on loopback: delivery, failures that lose nothing, retries
with backoff, two senders at once, login and STARTTLS, the background thread and the cron command."""

from __future__ import annotations

import dataclasses
import datetime as dt
import threading

import pytest
from click.testing import CliRunner
from litestar.testing import TestClient

from feedback_portal import cli, db
from feedback_portal.app import create_app
from feedback_portal.notifications.mailer import OutboxSender, retry_delay
from feedback_portal.notifications.models import OutboxEmail
from tests.conftest import ALICE, BOB, CAROL, DAN, ERIN, cli_env
from tests.factories import make_feedback
from tests.notifications.conftest import (
    SMTP_PASSWORD,
    SMTP_USER,
    make_issue,
    me_too,
    notify,
    outbox,
    wait_until,
    with_smtp,
)

pytestmark = pytest.mark.postgres

TITLE = "Case notes are lost when the CMS times out"


def three_emails(app) -> str:  # noqa: ANN001
    """Alice (named), Dan (business support only) and Carol ("me too") are told; Erin (anonymous) is not."""
    refs = [
        make_feedback(app, ALICE.email),
        make_feedback(app, DAN.email, anonymity="business-support-only"),
        make_feedback(app, ERIN.email, anonymity="anonymous"),
    ]
    issue_ref = make_issue(app, TITLE, refs, BOB)
    me_too(app, CAROL, issue_ref=issue_ref)
    assert notify(app, issue_ref, {"status": "fixed", "reason": "The supplier fixed it in 4.2."}) == 3
    return issue_ref


def sender(app, **changes) -> OutboxSender:  # noqa: ANN001, ANN003
    settings = dataclasses.replace(app.state.settings, **changes) if changes else app.state.settings
    return OutboxSender(app.state.session_factory, settings)


def later(minutes: float) -> dt.datetime:
    return db.utcnow() + dt.timedelta(minutes=minutes)


def test_emails_arrive_with_the_right_subject_and_body_and_are_marked_sent(mail_app, mail_server):
    three_emails(mail_app)
    report = sender(mail_app).send_due()
    assert (report.sent, report.failed) == (3, 0)
    assert sorted(mail_server.collector.recipients) == sorted([ALICE.email, CAROL.email, DAN.email])
    for message in mail_server.collector.messages:
        assert message["Subject"] == f"Fixed: {TITLE}"
        assert message["From"] == "CMS Feedback <cms-feedback@council.example>"
        assert message["Auto-Submitted"] == "auto-generated"
        body = message.get_content().replace("\r\n", "\n")
        assert body.startswith(f"You said: {TITLE}\n\nWe did: Fixed.\n\nWhy: The supplier fixed it in 4.2.\n")
        assert "Sign in to CMS Feedback" in body
        for persona in (ALICE, CAROL, DAN, ERIN):
            assert persona.name not in body
    for email in outbox(mail_app):
        assert email.sent_at is not None and email.attempts == 1 and email.last_error is None
    assert sender(mail_app).send_due().sent == 0  # nothing is sent twice
    assert len(mail_server.collector.envelopes) == 3


def test_with_nothing_listening_the_email_stays_with_the_error_and_a_later_attempt_sends_it(
    settings, stopped_mail_server
):
    app = create_app(with_smtp(settings, stopped_mail_server.port))
    three_emails(app)
    before = db.utcnow()
    report = sender(app).send_due()
    assert (report.sent, report.failed, report.stopped_early) == (0, 1, True)  # it stops: the server is down
    emails = outbox(app)
    assert len(emails) == 3 and all(email.sent_at is None for email in emails)
    tried = [email for email in emails if email.attempts == 1]
    assert len(tried) == 1 and "ConnectionRefusedError" in tried[0].last_error
    assert before + dt.timedelta(minutes=1) <= tried[0].next_attempt_at <= db.utcnow() + dt.timedelta(minutes=1)

    stopped_mail_server.start()
    assert sender(app).send_due().sent == 2  # the others were not tried yet, so they go now
    report = sender(app).send_due(now=later(2))  # the one that failed, after its minute
    assert (report.sent, report.failed) == (1, 0)
    assert all(email.sent_at is not None and email.last_error is None for email in outbox(app))
    assert sorted(stopped_mail_server.collector.recipients) == sorted([ALICE.email, CAROL.email, DAN.email])


def test_a_server_answering_451_keeps_every_email_and_retries_with_backoff(mail_app, mail_server):
    three_emails(mail_app)
    mail_server.collector.fail_with = "451 4.3.0 Try again later"
    report = sender(mail_app).send_due()
    assert (report.sent, report.failed, report.stopped_early) == (0, 3, False)  # each refused, each kept
    for email in outbox(mail_app):
        assert email.sent_at is None and email.attempts == 1
        assert email.last_error == "SMTPDataError: 451 4.3.0 Try again later"

    assert sender(mail_app).send_due().failed == 0  # not due yet: nothing is tried
    assert sender(mail_app).send_due(now=later(2)).failed == 3  # second failure: the next wait is 5 minutes
    assert all(email.attempts == 2 for email in outbox(mail_app))
    assert sender(mail_app).send_due(now=later(4)).failed == 0

    mail_server.collector.fail_with = None
    assert sender(mail_app).send_due(now=later(8)).sent == 3
    assert all(email.sent_at is not None and email.attempts == 3 for email in outbox(mail_app))
    assert len(mail_server.collector.envelopes) == 3


def test_the_retry_delays_grow_and_are_capped():
    minutes = [retry_delay(attempt).total_seconds() / 60 for attempt in range(1, 10)]
    assert minutes == [1, 5, 15, 60, 180, 360, 360, 360, 360]


def test_two_senders_at_once_never_send_the_same_email_twice(mail_app, mail_server):
    with db.write_session(mail_app.state.session_factory) as session:
        session.add_all(
            OutboxEmail(to_address=f"person{n}@council.example", subject=f"Email {n}", body_text="Hello",
                        attempts=0, next_attempt_at=db.utcnow())
            for n in range(40)
        )
    mail_server.collector.delay = 0.005
    # Two "processes": separate engines on the same database file.
    engines = [db.make_engine(mail_app.state.settings.database_url) for _ in range(2)]
    senders = [OutboxSender(db.make_session_factory(engine), mail_app.state.settings) for engine in engines]
    start = threading.Barrier(2)
    reports = [None, None]

    def run(index: int) -> None:
        start.wait()
        reports[index] = senders[index].send_due()

    threads = [threading.Thread(target=run, args=(index,)) for index in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    for engine in engines:
        engine.dispose()
    assert sum(report.sent for report in reports) == 40 and all(report.failed == 0 for report in reports)
    subjects = [message["Subject"] for message in mail_server.collector.messages]
    assert sorted(subjects) == sorted(f"Email {n}" for n in range(40))  # each once
    assert all(email.attempts == 1 and email.sent_at for email in outbox(mail_app))


def test_a_claimed_email_cannot_be_claimed_again_until_its_lease_runs_out(mail_app):
    with db.write_session(mail_app.state.session_factory) as session:
        session.add(OutboxEmail(to_address="a@council.example", subject="S", body_text="B", attempts=0,
                                next_attempt_at=db.utcnow()))
    first, second = sender(mail_app), sender(mail_app)
    now = db.utcnow()
    claimed = first._claim(1, now)
    assert claimed is not None and claimed.attempts == 1
    assert second._claim(1, now) is None
    assert second._claim(1, now + first.lease - dt.timedelta(seconds=1)) is None
    assert second._claim(1, now + first.lease) is not None  # the first sender died mid-send: not lost


def test_login_is_used_when_configured_and_a_wrong_password_keeps_the_email(settings, stopped_mail_server):
    stopped_mail_server.start(with_login=True)
    wrong = with_smtp(settings, stopped_mail_server.port, smtp_username=SMTP_USER, smtp_password="wrong-one")
    app = create_app(wrong)
    three_emails(app)
    report = sender(app).send_due()
    assert report.failed == 1 and report.stopped_early
    assert any("SMTPAuthenticationError: 535" in (email.last_error or "") for email in outbox(app))
    report = sender(app, smtp_password=SMTP_PASSWORD).send_due(now=later(2))
    assert (report.sent, report.failed) == (3, 0)
    assert len(stopped_mail_server.collector.envelopes) == 3


def test_starttls_that_the_server_cannot_do_fails_clearly_and_loses_nothing(settings, mail_server):
    app = create_app(with_smtp(settings, mail_server.port, smtp_starttls=True))
    three_emails(app)
    report = sender(app).send_due()
    assert report.failed == 1 and report.stopped_early
    assert any("STARTTLS" in (email.last_error or "") for email in outbox(app))
    assert all(email.sent_at is None for email in outbox(app))
    assert mail_server.collector.envelopes == []


def test_the_background_sender_sends_after_a_write_and_stops_with_the_app(settings, mail_server):
    app = create_app(dataclasses.replace(with_smtp(settings, mail_server.port), background_mailer=True))
    with TestClient(app, base_url="http://portal.test"):
        assert app.state.background_mailer._thread is not None
        three_emails(app)
        app.state.background_mailer.wake()
        assert wait_until(lambda: len(mail_server.collector.envelopes) == 3)
    assert app.state.background_mailer._thread is None
    assert all(email.sent_at is not None for email in outbox(app))


def test_no_background_sender_without_smtp(app):
    with TestClient(app, base_url="http://portal.test"):
        assert app.state.background_mailer._thread is None


def run_cli(settings, *args: str, **env: str):  # noqa: ANN001, ANN201
    environment = cli_env(settings, **{f"FEEDBACK_PORTAL_{name}": value for name, value in env.items()})
    return CliRunner().invoke(cli.main, list(args), env=environment, catch_exceptions=False)


def test_the_send_command_drains_the_outbox_once(mail_app, mail_server):
    three_emails(mail_app)
    settings = mail_app.state.settings
    result = run_cli(settings, "notifications", "send", SMTP_HOST="127.0.0.1", SMTP_PORT=str(mail_server.port))
    assert result.exit_code == 0, result.output
    assert "Sent 3 emails." in result.output
    assert len(mail_server.collector.envelopes) == 3
    again = run_cli(settings, "notifications", "send", SMTP_HOST="127.0.0.1", SMTP_PORT=str(mail_server.port))
    assert again.exit_code == 0 and "Sent 0 emails." in again.output


def test_the_send_command_reports_failures_and_exits_1(mail_app, mail_server):
    three_emails(mail_app)
    mail_server.collector.fail_with = "451 4.3.0 Try again later"
    result = run_cli(mail_app.state.settings, "notifications", "send", SMTP_HOST="127.0.0.1",
                     SMTP_PORT=str(mail_server.port))
    assert result.exit_code == 1
    assert "3 emails are waiting" in result.output and "451 4.3.0 Try again later" in result.output


def test_the_send_command_explains_when_email_is_not_set_up(settings):
    result = run_cli(settings, "notifications", "send")
    assert result.exit_code != 0 and "FEEDBACK_PORTAL_SMTP_HOST" in result.output


@pytest.mark.parametrize("env", [{"SMTP_HOST": "127.0.0.1", "SMTP_PORT": "abc"}, {"SMTP_HOST": "smtp://x"}])
def test_the_send_command_fails_clearly_on_malformed_settings(settings, env):
    result = run_cli(settings, "notifications", "send", **env)
    assert result.exit_code != 0 and "FEEDBACK_PORTAL_SMTP_" in result.output
