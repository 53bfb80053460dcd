"""Shared fixtures: a migrated database per test, the app, and personas alice, bob, carol and dan."""

from __future__ import annotations

import dataclasses
import os
import re
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import argon2
import pytest
from litestar import Litestar
from litestar.testing import TestClient

from feedback_portal import db
from feedback_portal.accounts.models import User
from feedback_portal.accounts import services as account_services
from feedback_portal.accounts.services import AccountService
from feedback_portal.app import CSRF_COOKIE, create_app
from feedback_portal.settings import Settings
from tests.support.postgres import INSTALL_HINT, PostgresServer, find_binaries

PASSWORD = "correct horse battery"


@dataclasses.dataclass(frozen=True)
class Persona:
    email: str
    name: str
    role: str
    team: str | None


ALICE = Persona("alice@council.example", "Alice Frontline", "frontline", "cp-west")
BOB = Persona("bob@council.example", "Bob Support", "business_support", "business-support")
CAROL = Persona("carol@council.example", "Carol Board", "board", None)
DAN = Persona("dan@council.example", "Dan Admin", "admin", None)
ERIN = Persona("erin@council.example", "Erin Frontline", "frontline", "youth-justice")
PERSONAS = (ALICE, BOB, CAROL, DAN, ERIN)
TEAMS = {"cp-west": "Child Protection West", "youth-justice": "Youth Justice Service", "business-support": "Business Support"}


@pytest.fixture(scope="session", autouse=True)
def cheap_password_hashing() -> Iterator[None]:
    """The same argon2id, at its smallest cost, for the tests run in this process.

    At the production cost a sign-in takes about 130 ms here, and the suite signs in over a thousand times.
    Production parameters are untouched; the browser tests' server (another process) keeps them.
    """
    production = account_services._hasher
    account_services._hasher = argon2.PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    yield
    account_services._hasher = production


def _add_personas(url: str) -> None:
    engine = db.make_engine(url)
    with db.write_session(db.make_session_factory(engine)) as session:
        accounts = AccountService(session)
        for slug, name in TEAMS.items():
            accounts.ensure_team(slug, name)
        for persona in PERSONAS:
            accounts.create_user(
                email=persona.email, name=persona.name, role=persona.role, team_slug=persona.team, password=PASSWORD
            )
    engine.dispose()


@pytest.fixture(scope="session")
def migrated_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One database built by the migrations, with the personas; each test gets its own copy."""
    folder = tmp_path_factory.mktemp("template")
    url = f"sqlite:///{folder / 'portal.db'}"
    db.upgrade(url)
    _add_personas(url)
    return folder / "portal.db"


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Tests marked ``postgres`` run twice: on SQLite and on a real PostgreSQL server."""
    if "database" in metafunc.fixturenames and metafunc.definition.get_closest_marker("postgres"):
        metafunc.parametrize("database", ["sqlite", "postgresql"], indirect=True)


@pytest.fixture
def database(request: pytest.FixtureRequest) -> str:
    """Which database the test's portal uses: SQLite unless the test is marked ``postgres``."""
    return getattr(request, "param", "sqlite")


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    binaries = find_binaries()
    if binaries is None:
        message = f"PostgreSQL is not installed: {INSTALL_HINT}"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    server = PostgresServer.in_new_folder(binaries)
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def postgres_template(postgres_server: PostgresServer) -> str:
    """A migrated PostgreSQL database with the personas, copied for each test (CREATE DATABASE … TEMPLATE)."""
    name = postgres_server.create_database()
    url = postgres_server.url(name)
    db.upgrade(url)
    _add_personas(url)
    return name


@pytest.fixture
def settings(tmp_path: Path, migrated_template: Path, database: str, request: pytest.FixtureRequest) -> Settings:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    overrides: dict[str, object] = {}
    if database == "postgresql":
        server: PostgresServer = request.getfixturevalue("postgres_server")
        name = server.create_database(template=request.getfixturevalue("postgres_template"))
        request.addfinalizer(lambda: server.drop_database(name))
        overrides["database_url"] = server.url(name)
    else:
        shutil.copy(migrated_template, data_dir / "portal.db")
    return Settings.for_data_dir(
        data_dir, secret_key="test-secret-key-that-is-long-enough-for-csrf", background_indexer=False, **overrides
    )


@pytest.fixture
def app(settings: Settings) -> Litestar:
    return create_app(settings)


@pytest.fixture
def client(app: Litestar) -> Iterator[TestClient]:
    with TestClient(app, base_url="http://portal.test", raise_server_exceptions=False) as test_client:
        yield test_client


@pytest.fixture
def session(app: Litestar):  # noqa: ANN201
    with app.state.session_factory() as db_session:
        yield db_session


def cli_env(settings: Settings, **extra: str) -> dict[str, str]:
    """Environment for running the feedback-portal command against the test's own database."""
    return {
        "FEEDBACK_PORTAL_DATA_DIR": str(settings.data_dir),
        "FEEDBACK_PORTAL_DATABASE_URL": settings.database_url,
        **extra,
    }


def csrf_token(client: TestClient) -> str:
    if CSRF_COOKIE not in client.cookies:
        client.get("/sign-in")
    return client.cookies[CSRF_COOKIE]


def sign_in(client: TestClient, persona: Persona) -> None:
    response = client.post(
        "/sign-in",
        data={"email": persona.email, "password": PASSWORD, "_csrf_token": csrf_token(client)},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text


def api_token(app: Litestar, persona: Persona) -> str:
    with db.write_session(app.state.session_factory) as db_session:
        accounts = AccountService(db_session)
        return accounts.issue_api_token(accounts.user_by_email(persona.email))


def user_id(app: Litestar, persona: Persona) -> int:
    with app.state.session_factory() as db_session:
        return AccountService(db_session).user_by_email(persona.email).id


def field_error(html: str, field: str) -> str | None:
    """The error message shown beside a field (GOV.UK markup: <p id="FIELD-error" class="govuk-error-message">)."""
    match = re.search(rf'<p id="{re.escape(field)}-error" class="govuk-error-message">(.*?)</p>', html, re.S)
    if not match:
        return None
    return re.sub(r"<[^>]+>", "", match.group(1)).replace("Error:", "").strip()


@pytest.fixture
def as_alice(client: TestClient) -> TestClient:
    sign_in(client, ALICE)
    return client


@pytest.fixture
def as_bob(client: TestClient) -> TestClient:
    sign_in(client, BOB)
    return client


VALID_FEEDBACK = {
    "body": "The case note I was typing disappeared when the CMS timed out after my visit.",
    "title": "Case note lost after timeout",
    "module": "case-notes",
    "kind": "bug",
    "impact": "blocks-work",
    "frequency": "weekly",
    "team": "cp-west",
    "anonymity": "named",
}


def give_feedback(client: TestClient, files=None, **changes):  # noqa: ANN001, ANN003, ANN201
    """POST the give-feedback form as a browser would (multipart, with CSRF and an idempotency key)."""
    data = {**VALID_FEEDBACK, **changes}
    data.setdefault("idempotency_key", uuid.uuid4().hex)
    data["_csrf_token"] = csrf_token(client)
    data = {key: value for key, value in data.items() if value is not None}
    return client.post("/feedback/new", data=data, files=files or {"screenshots": ("", b"", "application/octet-stream")}, follow_redirects=False)


@pytest.fixture
def unused_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
