"""The triage queue and one-item screen: who may use them, what is waiting, ages against the target, filters."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
from litestar.testing import TestClient

from feedback_portal.app import create_app
from feedback_portal.triage import workdays
from tests.conftest import ALICE, BOB, CAROL, DAN, field_error, sign_in
from tests.factories import make_feedback
from tests.issues.triage_helpers import create_issue, post, text_of
from tests.triage.conftest import age

pytestmark = pytest.mark.postgres

EMAIL_BODY = "The CMS emailed jane.doe@example.com instead of the team inbox when I saved the plan"


def test_working_days_skip_weekends():
    friday, monday = dt.date(2026, 11, 27), dt.date(2026, 11, 30)
    assert workdays.working_days_between(friday, friday) == 0
    assert workdays.working_days_between(friday, monday) == 1  # Saturday and Sunday do not count
    assert workdays.working_days_between(friday, dt.date(2026, 12, 4)) == 5
    assert workdays.working_days_between(friday, dt.date(2026, 12, 11)) == 10
    assert workdays.working_days_between(monday, friday) == 0
    assert workdays.add_working_days(friday, 2) == dt.date(2026, 12, 1)


@pytest.mark.parametrize("path", ["/triage", "/triage/FB-000001"])
def test_frontline_and_board_cannot_open_triage(app, client, path):
    make_feedback(app, ALICE.email)
    sign_in(client, ALICE)
    assert client.get(path).status_code == 403
    sign_in(client, CAROL)
    assert client.get(path).status_code == 403


@pytest.mark.parametrize(
    "path", ["/triage/bulk", "/triage/FB-000001/link", "/triage/FB-000001/not-cms", "/triage/FB-000001/ask"]
)
def test_frontline_cannot_act(app, client, path):
    make_feedback(app, ALICE.email)
    sign_in(client, ALICE)
    response = post(client, path, issue="ISS-0001", not_cms_reason="x", question="x", bulk_action="link")
    assert response.status_code == 403


def test_queue_is_untriaged_feedback_oldest_first_with_overdue_marked(app, client):
    old = make_feedback(app, ALICE.email, title="Oldest of all")
    middle = make_feedback(app, ALICE.email, title="Middle one")
    make_feedback(app, ALICE.email, title="Brand new")
    linked = make_feedback(app, ALICE.email, title="Already grouped")
    age(app, old, 20)
    age(app, middle, 10)
    sign_in(client, BOB)
    create_issue(client, "Grouped", linked)
    page = client.get("/triage")
    assert page.status_code == 200
    text = text_of(page.text)
    assert text.index("Oldest of all") < text.index("Middle one") < text.index("Brand new")
    assert "Already grouped" not in text
    assert "3 waiting, 2 overdue" in text
    assert text.count("Overdue") == 2  # a word, not only a colour
    assert "0 working days" in text and "due by" in text


def test_the_target_is_a_setting(settings, tmp_path):
    app = create_app(dataclasses.replace(settings, triage_target_days=30))
    ref = make_feedback(app, ALICE.email, title="Ten days old")
    age(app, ref, 10)
    with TestClient(app, base_url="http://portal.test", raise_server_exceptions=False) as client:
        sign_in(client, BOB)
        text = text_of(client.get("/triage").text)
    assert "1 waiting" in text and "overdue" not in text.lower().replace("held or restricted", "")
    assert "within 30 working days" in text


def test_target_from_the_environment(tmp_path):
    from feedback_portal.settings import Settings, SettingsError

    settings = Settings.from_env(
        {"FEEDBACK_PORTAL_DATA_DIR": str(tmp_path), "FEEDBACK_PORTAL_TRIAGE_TARGET_DAYS": "4"}
    )
    assert settings.triage_target_days == 4
    assert Settings.from_env({"FEEDBACK_PORTAL_DATA_DIR": str(tmp_path)}).triage_target_days == 2
    with pytest.raises(SettingsError):
        Settings.from_env(
            {"FEEDBACK_PORTAL_DATA_DIR": str(tmp_path), "FEEDBACK_PORTAL_TRIAGE_TARGET_DAYS": "soon"}
        )


def test_filters_are_in_the_url_and_htmx_gets_only_the_results(app, client):
    make_feedback(app, ALICE.email, title="About assessments", module="assessments")
    make_feedback(app, ALICE.email, title="About case notes", module="case-notes")
    make_feedback(app, ALICE.email, title="Held one", body=EMAIL_BODY)
    sign_in(client, BOB)
    text = text_of(client.get("/triage?module=assessments").text)
    assert "About assessments" in text and "About case notes" not in text
    flagged = text_of(client.get("/triage?flagged=1").text)
    assert "Held one" in flagged and "About assessments" not in flagged and "Held: personal data" in flagged
    fragment = client.get(
        "/triage?module=assessments", headers={"HX-Request": "true", "HX-Target": "queue-results"}
    )
    assert fragment.status_code == 200
    assert fragment.text.lstrip().startswith('<div id="queue-results"') and "<html" not in fragment.text
    assert 'href="/triage/FB-000001?module=assessments"' in fragment.text  # items keep the filters


def test_a_bad_filter_is_a_message_beside_it(app, client):
    sign_in(client, BOB)
    response = client.get("/triage?module=nonsense")
    assert response.status_code == 400
    assert 'id="module-error"' in response.text


def test_item_page_shows_suggestions_similar_and_position(app, client):
    first = make_feedback(
        app,
        ALICE.email,
        title="Case note lost after timeout",
        body="The case note I was typing disappeared when the CMS timed out after my visit",
    )
    second = make_feedback(
        app,
        ALICE.email,
        title="Case note vanished on timeout",
        body="My case note vanished when the CMS timed out, I lost an hour of typing",
    )
    third = make_feedback(app, ALICE.email, title="Printer", body="The office printer is jammed again today")
    sign_in(client, BOB)
    issue = create_issue(client, "Case notes lost when the CMS times out", first)
    page = client.get(f"/triage/{second}")
    assert page.status_code == 200
    text = text_of(page.text)
    assert "1 of 2 waiting" in text
    assert f"Link to {issue}" in text and "% confidence" in text and 'data-shortcut="1"' in page.text
    assert "Keyboard shortcuts" in text
    assert f'href="/triage/{third}"' in page.text  # next


def test_held_feedback_shows_the_warning_and_review_controls_that_come_back_to_triage(app, client):
    ref = make_feedback(app, ALICE.email, title="Wrong address", body=EMAIL_BODY)
    sign_in(client, BOB)
    page = client.get(f"/triage/{ref}?module=case-notes")
    text = text_of(page.text)
    assert "Held: this may identify someone (1 email address)" in text
    assert "Redact or clear the personal data before replying" in text
    assert 'name="question"' not in page.text
    version = page.text.split('name="version" value="')[1].split('"')[0]
    response = post(
        client, f"/feedback/{ref}/redact", version=version, return_to=f"/triage/{ref}?module=case-notes"
    )
    assert response.status_code == 303
    assert response.headers["location"] == f"/triage/{ref}?module=case-notes&done=redacted&ref={ref}"
    after = text_of(client.get(response.headers["location"]).text)
    assert "[email removed]" in after and "redacted" in after


def test_review_return_to_is_only_a_triage_page(app, client):
    ref = make_feedback(app, ALICE.email, title="Wrong address", body=EMAIL_BODY)
    sign_in(client, BOB)
    page = client.get(f"/triage/{ref}")
    version = page.text.split('name="version" value="')[1].split('"')[0]
    response = post(
        client,
        f"/feedback/{ref}/clear-flag",
        version=version,
        reason="A made-up test address",
        return_to="https://evil.example/triage/x",
    )
    assert response.headers["location"] == f"/feedback/{ref}?done=cleared"


def test_an_item_that_has_left_the_queue_says_so(app, client):
    ref = make_feedback(app, ALICE.email)
    sign_in(client, BOB)
    issue = create_issue(client, "Done", ref)
    text = text_of(client.get(f"/triage/{ref}").text)
    assert "This feedback is no longer waiting: it is part of a tracked issue" in text
    assert f"/issues/{issue}" in client.get(f"/triage/{ref}").text


def test_unknown_feedback_is_404(app, client):
    sign_in(client, DAN)
    assert client.get("/triage/FB-999999").status_code == 404


def test_clearing_a_flag_without_a_reason_from_triage_shows_the_item_again(app, client):
    ref = make_feedback(app, ALICE.email, title="Wrong address", body=EMAIL_BODY)
    sign_in(client, BOB)
    page = client.get(f"/triage/{ref}?flagged=1")
    version = page.text.split('name="version" value="')[1].split('"')[0]
    response = post(
        client,
        f"/feedback/{ref}/clear-flag",
        version=version,
        reason=" ",
        return_to=f"/triage/{ref}?flagged=1",
    )
    assert response.status_code == 422
    assert "Enter why this is not personal data" in (field_error(response.text, "reason") or "")
    assert "Triage queue" in response.text or f"Triage {ref}" in response.text
    assert 'name="queue" value="flagged=1"' in response.text  # the queue's filters are kept
