"""The email outbox sender: delivers OutboxEmail rows over SMTP, and a failing mail server loses nothing.

Each email is claimed before it is sent, with one UPDATE that moves its next attempt a lease into the
future only if it is still due:

    UPDATE outbox_emails SET next_attempt_at = now + lease, attempts = attempts + 1
    WHERE id = ? AND sent_at IS NULL AND next_attempt_at <= now

Only one worker's UPDATE can match, so every worker (and the cron command) may run a sender and no email
is sent twice by two of them. Sent: sent_at is set. Failed: last_error is kept and the next attempt is
put off by RETRY_MINUTES (1, 5, 15, 60, 180 minutes, then every 6 hours until it goes). A worker that
dies mid-send leaves the email claimed; it is tried again when the lease runs out (so, rarely, an email
can arrive twice, but none is lost).
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import email.utils
import logging
import smtplib
import ssl
import threading
from collections.abc import Callable
from email.message import EmailMessage

import sqlalchemy as sa
from sqlalchemy import orm

from feedback_portal import db
from feedback_portal.notifications.models import OutboxEmail
from feedback_portal.settings import Settings

log = logging.getLogger("feedback_portal.notifications")

RETRY_MINUTES = (1, 5, 15, 60, 180, 360)  # after the 1st, 2nd, ... failed attempt; then the last, forever
MIN_LEASE = dt.timedelta(minutes=5)
BATCH_SIZE = 50
ERROR_MAX = 1000
SENDER_NAME = "CMS Feedback"


def retry_delay(attempts: int) -> dt.timedelta:
    """How long to wait after the `attempts`-th failed attempt before trying again."""
    return dt.timedelta(minutes=RETRY_MINUTES[min(max(attempts, 1), len(RETRY_MINUTES)) - 1])


def describe(error: BaseException) -> str:
    """The error in one line, for last_error (the server's words where it gave some)."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        parts = [
            f"{code} {reply.decode('utf-8', 'replace') if isinstance(reply, bytes) else reply}"
            for code, reply in error.recipients.values()
        ]
        text = "Recipient refused: " + "; ".join(parts)
    elif isinstance(error, smtplib.SMTPResponseException):
        reply = error.smtp_error
        if isinstance(reply, bytes):
            reply = reply.decode("utf-8", "replace")
        text = f"{type(error).__name__}: {error.smtp_code} {reply}"
    else:
        text = f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
    text = " ".join(text.split())
    return text if len(text) <= ERROR_MAX else text[: ERROR_MAX - 1] + "…"


@dataclasses.dataclass(frozen=True)
class Claimed:
    """What the sender needs of a claimed email, read in the claiming transaction."""

    id: int
    to_address: str
    subject: str
    body_text: str
    created_at: dt.datetime
    attempts: int


def build_message(item: Claimed, settings: Settings) -> EmailMessage:
    domain = settings.smtp_from.rsplit("@", 1)[-1]
    message = EmailMessage()
    message["From"] = email.utils.formataddr((SENDER_NAME, settings.smtp_from))
    message["To"] = item.to_address
    message["Subject"] = item.subject
    message["Date"] = email.utils.format_datetime(item.created_at.astimezone(dt.UTC))
    # The same Message-ID on every attempt, so a mail system can tell a repeat from a new email.
    message["Message-ID"] = f"<outbox-{item.id}.{int(item.created_at.timestamp())}@{domain}>"
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(item.body_text)
    return message


class ConnectionFailed(Exception):
    """The mail server could not be reached or would not let us in: the cause is in __cause__."""


class SMTPConnection:
    """One SMTP conversation: STARTTLS and login when configured, with the configured timeout."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._smtp: smtplib.SMTP | None = None

    def open(self) -> None:
        settings = self.settings
        try:
            smtp = smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=settings.smtp_timeout)
        except (OSError, smtplib.SMTPException) as error:
            raise ConnectionFailed(describe(error)) from error
        try:
            smtp.ehlo()
            if settings.smtp_starttls:
                smtp.starttls(context=ssl.create_default_context())
                smtp.ehlo()
            if settings.smtp_username:
                smtp.login(settings.smtp_username, settings.smtp_password)
        except (OSError, smtplib.SMTPException) as error:
            with contextlib.suppress(Exception):
                smtp.close()
            raise ConnectionFailed(describe(error)) from error
        self._smtp = smtp

    def send(self, message: EmailMessage) -> None:
        if self._smtp is None:
            self.open()
        assert self._smtp is not None
        try:
            self._smtp.send_message(message)
        except (smtplib.SMTPRecipientsRefused, smtplib.SMTPSenderRefused, smtplib.SMTPDataError):
            raise  # this email was refused; the conversation can go on with the next one
        except (smtplib.SMTPException, OSError) as error:  # disconnected, timed out: the server is gone
            self.close()
            raise ConnectionFailed(describe(error)) from error

    def close(self) -> None:
        smtp, self._smtp = self._smtp, None
        if smtp is not None:
            try:
                smtp.quit()
            except (OSError, smtplib.SMTPException):
                with contextlib.suppress(Exception):
                    smtp.close()


@dataclasses.dataclass
class SendReport:
    sent: int = 0
    failed: int = 0
    errors: list[str] = dataclasses.field(default_factory=list)
    stopped_early: bool = False  # the mail server could not be reached (or we were stopped): the rest wait


class OutboxSender:
    """Sends the emails that are due. Safe to run in several processes at once (see the module docstring)."""

    def __init__(
        self,
        session_factory: orm.sessionmaker[orm.Session],
        settings: Settings,
        *,
        connection_factory: Callable[[Settings], SMTPConnection] = SMTPConnection,
        clock: Callable[[], dt.datetime] = db.utcnow,
    ) -> None:
        self.session_factory = session_factory
        self.settings = settings
        self.connection_factory = connection_factory
        self.clock = clock
        self.lease = max(MIN_LEASE, dt.timedelta(seconds=settings.smtp_timeout * 6))

    def pending(self) -> int:
        """Emails not yet sent (due now or waiting for a retry)."""
        with self.session_factory() as session:
            unsent = sa.select(sa.func.count(OutboxEmail.id)).where(OutboxEmail.sent_at.is_(None))
            return session.scalar(unsent) or 0

    def send_due(
        self,
        *,
        now: dt.datetime | None = None,
        limit: int | None = None,
        cancel: threading.Event | None = None,
    ) -> SendReport:
        """Send every email due at `now` (default: the clock, read at each step), at most `limit` of them,
        stopping between emails if `cancel` is set."""
        report = SendReport()
        if not self.settings.smtp_configured:
            return report
        at = (lambda: now) if now is not None else self.clock
        connection = self.connection_factory(self.settings)
        tried: set[int] = set()
        try:
            while limit is None or report.sent + report.failed < limit:
                ids = [item for item in self._due_ids(at()) if item not in tried]
                if not ids:
                    break
                for email_id in ids:
                    if limit is not None and report.sent + report.failed >= limit:
                        break
                    if cancel is not None and cancel.is_set():
                        report.stopped_early = True
                        return report
                    tried.add(email_id)
                    item = self._claim(email_id, at())
                    if item is None:  # another sender has it, or it was sent meanwhile
                        continue
                    try:
                        connection.send(build_message(item, self.settings))
                    except Exception as error:  # noqa: BLE001 - whatever went wrong, keep it and say why
                        reason = str(error) if isinstance(error, ConnectionFailed) else describe(error)
                        self._failed(item, reason, at())
                        report.failed += 1
                        report.errors.append(reason)
                        log.warning(
                            "Email %s could not be sent (attempt %s): %s", item.id, item.attempts, reason
                        )
                        if isinstance(error, ConnectionFailed):
                            report.stopped_early = True
                            return report
                    else:
                        self._sent(item, at())
                        report.sent += 1
        finally:
            connection.close()
        return report

    def _due_ids(self, now: dt.datetime) -> list[int]:
        with self.session_factory() as session:
            return list(
                session.scalars(
                    sa.select(OutboxEmail.id)
                    .where(OutboxEmail.sent_at.is_(None), OutboxEmail.next_attempt_at <= now)
                    .order_by(OutboxEmail.next_attempt_at, OutboxEmail.id)
                    .limit(BATCH_SIZE)
                )
            )

    def _claim(self, email_id: int, now: dt.datetime) -> Claimed | None:
        with db.write_session(self.session_factory) as session:
            claimed = session.execute(
                sa.update(OutboxEmail)
                .where(
                    OutboxEmail.id == email_id,
                    OutboxEmail.sent_at.is_(None),
                    OutboxEmail.next_attempt_at <= now,
                )
                .values(next_attempt_at=now + self.lease, attempts=OutboxEmail.attempts + 1)
                .execution_options(synchronize_session=False)
            )
            if claimed.rowcount != 1:
                return None
            row = session.execute(
                sa.select(
                    OutboxEmail.id,
                    OutboxEmail.to_address,
                    OutboxEmail.subject,
                    OutboxEmail.body_text,
                    OutboxEmail.created_at,
                    OutboxEmail.attempts,
                ).where(OutboxEmail.id == email_id)
            ).one()
            return Claimed(*row)

    def _sent(self, item: Claimed, now: dt.datetime) -> None:
        with db.write_session(self.session_factory) as session:
            session.execute(
                sa.update(OutboxEmail)
                .where(OutboxEmail.id == item.id)
                .values(sent_at=now, last_error=None)
                .execution_options(synchronize_session=False)
            )

    def _failed(self, item: Claimed, reason: str, now: dt.datetime) -> None:
        with db.write_session(self.session_factory) as session:
            session.execute(
                sa.update(OutboxEmail)
                .where(OutboxEmail.id == item.id, OutboxEmail.sent_at.is_(None))
                .values(last_error=reason, next_attempt_at=now + retry_delay(item.attempts))
                .execution_options(synchronize_session=False)
            )


class BackgroundMailer:
    """A daemon thread per process that sends the outbox every `interval` seconds, or sooner when woken."""

    def __init__(self, sender: OutboxSender, interval: float = 30.0) -> None:
        self.sender = sender
        self.interval = interval
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="feedback-portal-mailer", daemon=True)
        self._thread.start()

    def wake(self) -> None:
        self._wake.set()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=self.sender.settings.smtp_timeout * 3 + 5)
            self._thread = None

    def run_once(self) -> SendReport:
        return self.sender.send_due(cancel=self._stop)

    def _run(self) -> None:
        while not self._stop.is_set():
            wait = self.interval
            try:
                report = self.run_once()
                if report.stopped_early and not self._stop.is_set():
                    # The mail server is unreachable: give it a minute rather than trying the next email now.
                    wait = max(self.interval, retry_delay(1).total_seconds())
            except Exception:
                log.exception("The email outbox sender failed; it will try again")
            self._wake.wait(wait)
            self._wake.clear()
