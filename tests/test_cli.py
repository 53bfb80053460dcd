"""The feedback-portal command: db upgrade, users create, users token."""

from __future__ import annotations

import subprocess
import sys

import httpx
import sqlalchemy as sa
from click.testing import CliRunner

from feedback_portal import cli, db
from feedback_portal.accounts.models import User
from feedback_portal.accounts.services import token_digest


def run(tmp_path, *args: str, input: str | None = None):  # noqa: A002, ANN001, ANN201
    env = {"FEEDBACK_PORTAL_DATA_DIR": str(tmp_path / "data")}
    return CliRunner().invoke(cli.main, list(args), input=input, env=env, catch_exceptions=False)


def user(tmp_path, email: str) -> User | None:  # noqa: ANN001
    engine = db.make_engine(f"sqlite:///{tmp_path / 'data' / 'portal.db'}")
    with db.make_session_factory(engine)() as session:
        found = session.scalar(sa.select(User).where(User.email == email))
    engine.dispose()
    return found


def test_db_upgrade_creates_the_database(tmp_path):
    result = run(tmp_path, "db", "upgrade")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "data" / "portal.db").exists()


def test_users_create_reads_the_password_from_stdin(tmp_path):
    result = run(
        tmp_path, "users", "create", "--email", "Pat@Council.Example", "--name", "Pat Jones",
        "--role", "business_support", "--team", "business-support", "--password-stdin",
        input="a long enough password\n",
    )
    assert result.exit_code == 0, result.output
    created = user(tmp_path, "pat@council.example")
    assert created.role == "business_support" and created.password_hash.startswith("$argon2id$")


def test_users_create_explains_bad_input(tmp_path):
    run(tmp_path, "users", "create", "--email", "pat@council.example", "--name", "Pat", "--role", "frontline")
    again = run(tmp_path, "users", "create", "--email", "pat@council.example", "--name", "Pat", "--role", "frontline")
    assert again.exit_code != 0 and "already has that email address" in again.output
    bad = run(tmp_path, "users", "create", "--email", "not-an-email", "--name", "X", "--role", "frontline")
    assert bad.exit_code != 0 and "email" in bad.output
    short = run(tmp_path, "users", "create", "--email", "a@b.example", "--name", "X", "--role", "frontline",
                "--password-stdin", input="short\n")
    assert short.exit_code != 0 and "at least 10 characters" in short.output


def test_users_token_prints_a_token_that_only_its_hash_is_stored_for(tmp_path):
    run(tmp_path, "users", "create", "--email", "api@council.example", "--name", "Api", "--role", "admin")
    result = run(tmp_path, "users", "token", "api@council.example")
    assert result.exit_code == 0
    token = result.output.strip()
    assert token.startswith("fp_")
    assert user(tmp_path, "api@council.example").api_token_hash == token_digest(token)
    missing = run(tmp_path, "users", "token", "ghost@council.example")
    assert missing.exit_code != 0 and "nobody" in missing.output


def test_a_bad_setting_is_reported_clearly(tmp_path):
    result = CliRunner().invoke(
        cli.main, ["db", "upgrade"], env={"FEEDBACK_PORTAL_DATA_DIR": str(tmp_path), "FEEDBACK_PORTAL_SECRET_KEY": "short"}
    )
    assert result.exit_code != 0 and "SECRET_KEY must be at least 32 characters" in result.output


def test_serve_demo_seeds_data_prints_logins_and_answers_http(tmp_path, unused_port):
    env = {"FEEDBACK_PORTAL_DATA_DIR": str(tmp_path / "data"), "PATH": "/usr/bin:/bin"}
    process = subprocess.Popen(
        [sys.executable, "-m", "feedback_portal.cli", "serve", "--demo", "--port", str(unused_port), "--workers", "2"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    try:
        lines = []
        for line in process.stdout:
            lines.append(line)
            if "Serving on" in line:
                break
        output = "".join(lines)
        assert "Seeded 300 demo feedback items" in output
        for role in ("frontline", "business_support", "board", "admin"):
            assert role in output
        for _ in range(100):
            try:
                if httpx.get(f"http://127.0.0.1:{unused_port}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                import time

                time.sleep(0.1)
        else:
            raise AssertionError("the portal did not answer")
        sign_in_page = httpx.get(f"http://127.0.0.1:{unused_port}/sign-in")
        assert sign_in_page.status_code == 200 and 'name="email"' in sign_in_page.text
    finally:
        process.terminate()
        process.wait(timeout=10)
