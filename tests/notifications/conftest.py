"""A real SMTP server on loopback (aiosmtpd), the portal configured to use it, and issue set-ups."""

from __future__ import annotations

import asyncio
import dataclasses
import email
import email.policy
import socket
import threading
from collections.abc import Callable, Iterator
from email.message import EmailMessage

import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from litestar import Litestar

from feedback_portal import db
from feedback_portal.accounts.models import User
from feedback_portal.app import create_app
from feedback_portal.issues.models import Issue
from feedback_portal.issues.services import IssueService
from feedback_portal.notifications.models import Notification, OutboxEmail
from feedback_portal.notifications.services import notify_contributors
from feedback_portal.settings import Settings
from tests.conftest import Persona

SMTP_USER = "portal"
SMTP_PASSWORD = "mail-password-123"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Collector:
    """An aiosmtpd handler that keeps every message, or answers DATA with `fail_with` (e.g. a 451)."""

    def __init__(self) -> None:
        self.envelopes: list = []
        self.fail_with: str | None = None
        self.delay = 0.0
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: ANN001, N802 - aiosmtpd's hook name
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.fail_with:
            return self.fail_with
        with self.lock:
            self.envelopes.append(envelope)
        return "250 Message accepted for delivery"

    @property
    def messages(self) -> list[EmailMessage]:
        with self.lock:
            return [
                email.message_from_bytes(
                    envelope.original_content or envelope.content, policy=email.policy.default
                )
                for envelope in self.envelopes
            ]

    @property
    def recipients(self) -> list[str]:
        with self.lock:
            return [address for envelope in self.envelopes for address in envelope.rcpt_tos]


def _authenticator(server, session, envelope, mechanism, auth_data) -> AuthResult:  # noqa: ANN001
    ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (
        SMTP_USER.encode(),
        SMTP_PASSWORD.encode(),
    )
    return AuthResult(success=ok, handled=False)


@dataclasses.dataclass
class MailServer:
    collector: Collector
    port: int
    controller: Controller | None = None

    def start(self, *, with_login: bool = False) -> MailServer:
        kwargs = {"authenticator": _authenticator, "auth_require_tls": False} if with_login else {}
        self.controller = Controller(self.collector, hostname="127.0.0.1", port=self.port, **kwargs)
        self.controller.start()
        return self

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


@pytest.fixture
def mail_server() -> Iterator[MailServer]:
    """A started SMTP server on a free loopback port, collecting what it is sent."""
    server = MailServer(Collector(), free_port()).start()
    yield server
    server.stop()


@pytest.fixture
def stopped_mail_server() -> Iterator[MailServer]:
    """An SMTP server not yet started: nothing listens on its port until the test starts it."""
    server = MailServer(Collector(), free_port())
    yield server
    server.stop()


def with_smtp(settings: Settings, port: int, **changes: object) -> Settings:
    return dataclasses.replace(
        settings,
        smtp_host="127.0.0.1",
        smtp_port=port,
        smtp_timeout=5.0,
        smtp_from="cms-feedback@council.example",
        background_mailer=False,
        **changes,
    )


@pytest.fixture
def mail_settings(settings: Settings, mail_server: MailServer) -> Settings:
    return with_smtp(settings, mail_server.port)


@pytest.fixture
def mail_app(mail_settings: Settings) -> Litestar:
    """The portal with SMTP pointed at the loopback server (its background sender is off: tests send)."""
    return create_app(mail_settings)


def load_user(app: Litestar, persona: Persona) -> User:
    with app.state.session_factory() as session:
        return session.scalar(sa.select(User).where(User.email == persona.email))


def make_issue(app: Litestar, title: str, refs: list[str], actor: Persona) -> str:
    with app.state.session_factory() as session:
        return IssueService(session).create(title, refs, load_user(app, actor)).ref


def me_too(app: Litestar, persona: Persona, *, issue_ref: str | None = None, feedback_ref: str | None = None,
           impact: str = "minor") -> None:
    with app.state.session_factory() as session:
        IssueService(session).me_too(load_user(app, persona), issue_ref=issue_ref, feedback_ref=feedback_ref,
                                     impact=impact)


def notify(app: Litestar, issue_ref: str, event: dict | None = None) -> int:
    """notify_contributors in a write transaction of its own, as the status workflow would call it."""
    with db.write_session(app.state.session_factory) as session:
        issue = session.scalar(sa.select(Issue).where(Issue.ref == issue_ref))
        event = event or {"status": "fixed", "reason": "The supplier fixed it."}
        return notify_contributors(session, issue, event)


def notifications_of(app: Litestar, persona: Persona) -> list[Notification]:
    with app.state.session_factory() as session:
        user = session.scalar(sa.select(User).where(User.email == persona.email))
        return list(session.scalars(sa.select(Notification).where(Notification.user_id == user.id)))


def outbox(app: Litestar) -> list[OutboxEmail]:
    with app.state.session_factory() as session:
        return list(session.scalars(sa.select(OutboxEmail).order_by(OutboxEmail.id)))


def wait_until(condition: Callable[[], bool], timeout: float = 10.0) -> bool:
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()
