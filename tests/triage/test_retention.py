"""Retention (setting, dry run, anonymise, delete, open issues kept) and the subject access export."""

from __future__ import annotations

import pytest
import datetime as dt
import json

import sqlalchemy as sa
from click.testing import CliRunner

from feedback_portal import cli, db
from feedback_portal.audit.models import AuditEvent
from feedback_portal.feedback.models import Attachment, Comment, Feedback
from feedback_portal.issues.models import MeToo
from tests.conftest import ALICE, BOB, DAN, ERIN, field_error, sign_in
from tests.factories import make_feedback
from tests.issues.triage_helpers import create_issue, post, text_of
from tests.triage.conftest import feedback_row

pytestmark = pytest.mark.postgres

EMAIL_BODY = "The CMS emailed jane.doe@example.com instead of the team inbox when I saved the plan"


def _old(app, ref: str, days: int = 800) -> None:
    with app.state.session_factory() as session:
        db.begin_write(session)
        when = dt.datetime.now(dt.UTC) - dt.timedelta(days=days)
        session.execute(sa.update(Feedback).where(Feedback.ref == ref).values(submitted_at=when))
        session.commit()


def _run(settings, monkeypatch, *args):
    monkeypatch.setenv("FEEDBACK_PORTAL_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("FEEDBACK_PORTAL_SECRET_KEY", settings.secret_key)
    monkeypatch.setenv("FEEDBACK_PORTAL_DATABASE_URL", settings.database_url)
    return CliRunner().invoke(cli.main, list(args))


def test_the_setting_is_admin_only_validated_and_audited(app, client, session):
    sign_in(client, BOB)
    assert client.get("/admin/retention").status_code == 403
    sign_in(client, DAN)
    assert "No retention period is set" in text_of(client.get("/admin/retention").text)
    for months, action, field, message in (
        ("", "anonymise", "months", "Enter how many months"),
        ("0", "anonymise", "months", "from 1 to 240"),
        ("twelve", "delete", "months", "from 1 to 240"),
        ("12", "shred", "action", "Choose whether to anonymise or delete"),
    ):
        response = post(client, "/admin/retention", months=months, action=action)
        assert response.status_code == 422 and message in field_error(response.text, field)
    assert post(client, "/admin/retention", months="24", action="delete").status_code == 303
    page = text_of(client.get("/admin/retention?done=saved").text)
    assert "Saved" in page and "would be deleted" in page
    event = session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "retention.settings_changed"))
    assert event.after == {"months": 24, "action": "delete"}


def test_apply_without_a_setting_refuses(settings, monkeypatch):
    result = _run(settings, monkeypatch, "retention", "apply", "--dry-run")
    assert result.exit_code != 0 and "No retention period is set" in result.output


def _scene(app, client):
    old_plain = make_feedback(app, ALICE.email, title="Old plain", team="cp-west")
    old_held = make_feedback(app, ALICE.email, title="Old held", body=EMAIL_BODY)
    old_on_open = make_feedback(app, ALICE.email, title="Old on open issue")
    old_on_done = make_feedback(app, ERIN.email, title="Old on finished issue")
    recent = make_feedback(app, ALICE.email, title="Recent")
    for ref in (old_plain, old_held, old_on_open, old_on_done):
        _old(app, ref)
    sign_in(client, BOB)
    open_issue = create_issue(client, "Open", old_on_open, recent)
    done_issue = create_issue(client, "Done", old_on_done)
    post(client, f"/issues/{done_issue}/edit", version="1", status="fixed")
    post(client, f"/feedback/{old_plain}/notes", note="A note")
    sign_in(client, ERIN)
    post(client, f"/feedback/{old_plain}/me-too", impact="minor")
    sign_in(client, DAN)
    post(client, "/admin/retention", months="12", action="anonymise")
    return old_plain, old_held, old_on_open, old_on_done, recent, open_issue, done_issue


def test_dry_run_changes_nothing_then_anonymise(app, client, settings, monkeypatch, session):
    old_plain, old_held, old_on_open, old_on_done, recent, _open_issue, done_issue = _scene(app, client)
    before = session.scalar(sa.select(sa.func.count(AuditEvent.id)))
    dry = _run(settings, monkeypatch, "retention", "apply", "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert f"3 feedback would be anonymised: {old_plain}, {old_held}, {old_on_done}" in dry.output
    assert f"1 kept because their issue is still open: {old_on_open}" in dry.output
    assert "Dry run: nothing was changed." in dry.output
    session.rollback()
    assert session.scalar(sa.select(sa.func.count(AuditEvent.id))) == before
    assert feedback_row(app, old_plain).submitter_id is not None

    result = _run(settings, monkeypatch, "retention", "apply")
    assert result.exit_code == 0 and "3 feedback anonymised" in result.output
    plain = feedback_row(app, old_plain)
    assert plain.submitter_id is None and plain.anonymity == "anonymous" and plain.team_id is not None
    held = feedback_row(app, old_held)
    assert "[email removed]" in held.body and not held.held and held.personal_data == []
    assert feedback_row(app, old_on_open).submitter_id is not None  # its issue is open
    assert feedback_row(app, recent).submitter_id is not None
    done = feedback_row(app, old_on_done)
    assert done.issue.ref == done_issue and done.submitter_id is None  # still evidence, counted
    session.rollback()
    alice = session.scalar(
        sa.select(AuditEvent.actor_id).where(
            AuditEvent.record_ref == old_plain, AuditEvent.action == "feedback.submitted"
        )
    )
    assert alice is None
    # Running again finds nothing more to do.
    assert "0 feedback anonymised" in _run(settings, monkeypatch, "retention", "apply").output


def test_delete(app, client, settings, monkeypatch, session):
    old_plain, old_held, old_on_open, old_on_done, recent, _open_issue, done_issue = _scene(app, client)
    post(client, "/admin/retention", months="12", action="delete")
    result = _run(settings, monkeypatch, "retention", "apply")
    assert result.exit_code == 0 and "3 feedback deleted" in result.output
    session.rollback()
    refs = set(session.scalars(sa.select(Feedback.ref)))
    assert {old_on_open, recent} <= refs and not {old_plain, old_held, old_on_done} & refs
    assert session.scalar(sa.select(sa.func.count(MeToo.id))) == 0
    assert (
        session.scalar(
            sa.select(sa.func.count(Comment.id)).where(
                Comment.feedback_id.is_(None), Comment.issue_id.is_(None)
            )
        )
        == 0
    )
    submitted = session.scalar(
        sa.select(AuditEvent).where(
            AuditEvent.record_ref == old_plain, AuditEvent.action == "feedback.submitted"
        )
    )
    assert submitted.after["body"] == "[removed by retention]"
    sign_in(client, BOB)
    assert client.get(f"/issues/{done_issue}").status_code == 200
    assert (
        session.scalar(
            sa.select(AuditEvent).where(AuditEvent.action == "retention.feedback_deleted")
        ).record_ref
        == done_issue
    )


def test_screenshot_files_go_with_anonymised_feedback(app, client, settings, monkeypatch, session):
    import io

    from PIL import Image

    image = io.BytesIO()
    Image.new("RGB", (20, 20), "red").save(image, "PNG")
    from tests.conftest import give_feedback

    sign_in(client, ALICE)
    sent = give_feedback(client, files={"screenshots": ("shot.png", image.getvalue(), "image/png")})
    ref = text_of(client.get(sent.headers["location"]).text).split("Your reference is ")[1].split()[0]
    _old(app, ref)
    files = list(settings.uploads_dir.iterdir())
    assert files
    sign_in(client, DAN)
    post(client, "/admin/retention", months="12", action="anonymise")
    assert _run(settings, monkeypatch, "retention", "apply").exit_code == 0
    session.rollback()
    assert session.scalar(sa.select(sa.func.count(Attachment.id))) == 0
    assert not any(path.exists() for path in files)


def test_subject_access_export_page_and_cli(app, client, settings, monkeypatch, tmp_path):
    named = make_feedback(app, ALICE.email, title="Mine, named")
    support_only = make_feedback(
        app, ALICE.email, title="Mine, support only", anonymity="business-support-only"
    )
    make_feedback(app, ALICE.email, title="Mine, anonymous", anonymity="anonymous")
    sign_in(client, BOB)
    post(client, f"/feedback/{named}/replies", reply="Thanks Alice")
    sign_in(client, ALICE)
    post(client, f"/feedback/{make_feedback(app, ERIN.email)}/me-too", impact="minor")
    sign_in(client, ALICE)
    assert client.get("/admin/subject-access").status_code == 403
    sign_in(client, DAN)
    assert client.get("/admin/subject-access").status_code == 200
    for email, message in (
        ("", "Enter the email address"),
        ("nobody@council.example", "Nobody with the email"),
        ("not-an-email", "Enter an email address"),
    ):
        response = post(client, "/admin/subject-access", email=email)
        assert response.status_code == 422 and message in field_error(response.text, "email")
    response = post(client, "/admin/subject-access", email=ALICE.email.upper())
    assert response.status_code == 200 and "attachment" in response.headers["content-disposition"]
    document = response.json()
    assert document["account"]["email"] == ALICE.email and "password_hash" not in str(document)
    assert {item["ref"] for item in document["feedback"]} == {named, support_only}
    assert (
        "Mine, anonymous" not in json.dumps(document)
        and "cannot be attributed" in document["about_anonymous_feedback"]
    )
    assert document["feedback"][0]["public_replies"][0]["body"] == "Thanks Alice"
    assert len(document["me_toos"]) == 1 and document["sign_in_sessions"]
    assert any(event["action"] == "feedback.submitted" for event in document["audit_events_as_actor"])

    output = tmp_path / "alice.json"
    result = _run(settings, monkeypatch, "subject-access", ALICE.email, str(output))
    assert result.exit_code == 0, result.output
    assert json.loads(output.read_text())["account"]["name"] == ALICE.name
    assert (output.stat().st_mode & 0o077) == 0
    bad = _run(settings, monkeypatch, "subject-access", "nobody@council.example", str(tmp_path / "x.json"))
    assert bad.exit_code != 0 and "Nobody with the email" in bad.output


def test_months_before():
    from feedback_portal.triage.retention import months_before

    assert months_before(dt.datetime(2026, 3, 31, tzinfo=dt.UTC), 1) == dt.datetime(
        2026, 2, 28, tzinfo=dt.UTC
    )
    assert months_before(dt.datetime(2026, 11, 27, tzinfo=dt.UTC), 12) == dt.datetime(
        2025, 11, 27, tzinfo=dt.UTC
    )
    assert months_before(dt.datetime(2025, 3, 30, tzinfo=dt.UTC), 13) == dt.datetime(
        2024, 2, 29, tzinfo=dt.UTC
    )
