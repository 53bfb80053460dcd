"""The feedback-portal command: db upgrade, users create, users token, import and export."""

from __future__ import annotations

import json
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


IMPORT_CSV = (
    "ref,title,body,module,kind,impact,team,submitted_at,owner\n"
    ",Lost note,The case note vanished,Case notes,Something is broken,MINOR,Family Hubs North,31/03/2025 14:05,x\n"
    "FB-120,Slow,Search takes a minute,search,performance,It stops me working,,2025-04-01,y\n"
)


def feedback_count(tmp_path) -> int:  # noqa: ANN001
    from feedback_portal.feedback.models import Feedback

    engine = db.make_engine(f"sqlite:///{tmp_path / 'data' / 'portal.db'}")
    with db.make_session_factory(engine)() as session:
        found = session.scalar(sa.select(sa.func.count(Feedback.id)))
    engine.dispose()
    return found


def test_import_prints_the_summary_and_export_writes_every_format(tmp_path):
    source = tmp_path / "old feedback.csv"
    source.write_text(IMPORT_CSV, encoding="utf-8")
    result = run(tmp_path, "import", str(source))
    assert result.exit_code == 0, result.output
    assert "Imported 2 feedback items." in result.stdout
    assert "New teams (1):\n  Family Hubs North (family-hubs-north)" in result.stdout
    assert "Warning: These columns were ignored, as the import does not use them: owner" in result.stdout
    assert "Checking rows" in result.stderr and "Saving" in result.stderr  # the progress bar
    assert feedback_count(tmp_path) == 2

    for fmt in ("csv", "xlsx", "json"):
        target = tmp_path / f"export-{fmt}.out"
        exported = run(tmp_path, "export", "--format", fmt, str(target))
        assert exported.exit_code == 0, exported.output
        assert f"Exported 2 feedback items to {target}." in exported.stdout
    records = json.loads((tmp_path / "export-json.out").read_text())
    # A given ref keeps its number; the others are numbered after the highest.
    assert [record["ref"] for record in records] == ["FB-000120", "FB-000121"]
    assert records[1]["team"] == "family-hubs-north" and records[1]["submitted_by"] is None
    assert (tmp_path / "export-csv.out").read_bytes().startswith(b"\xef\xbb\xbfref,title,body,")
    assert (tmp_path / "export-xlsx.out").read_bytes().startswith(b"PK")
    by_extension = run(tmp_path, "export", str(tmp_path / "all.json"))
    assert by_extension.exit_code == 0 and json.loads((tmp_path / "all.json").read_text()) == records
    unknown = run(tmp_path, "export", str(tmp_path / "all.txt"))
    assert unknown.exit_code != 0 and "--format csv, xlsx or json" in unknown.output


def test_import_lists_every_bad_row_by_line_and_imports_nothing(tmp_path):
    source = tmp_path / "bad.csv"
    source.write_text(
        IMPORT_CSV
        + ",,Nothing happens,Casenotes,bug,minor,,,\n"
        + ",,Saved twice,search,bug,minor,,30/02/2025,\n"
        + "FB-120,,Same ref,search,bug,minor,,,\n",
        encoding="utf-8",
    )
    result = run(tmp_path, "import", str(source))
    assert result.exit_code == 1
    assert f"Nothing was imported: 3 problems to fix in {source}:" in result.stderr
    assert 'line 4: module "Casenotes" is not a CMS module the portal knows; use one of: case-notes,' in result.stderr
    assert 'line 5: submitted_at "30/02/2025" is not a real date' in result.stderr
    assert "line 6: ref FB-000120 is also on line 3; each ref can be used once" in result.stderr
    assert feedback_count(tmp_path) == 0

    missing = run(tmp_path, "import", str(tmp_path / "nowhere.csv"))
    assert missing.exit_code == 1 and "nowhere.csv could not be opened" in missing.stderr
    wrong = tmp_path / "notes.txt"
    wrong.write_text("hello")
    refused = run(tmp_path, "import", str(wrong))
    assert refused.exit_code == 1 and "notes.txt is not a CSV or Excel file" in refused.stderr
