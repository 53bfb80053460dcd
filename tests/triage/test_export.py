"""The supplier export: parsed back, filtered like /issues, redacted, no identity, formula-safe."""

from __future__ import annotations

import pytest
import csv
import io

import openpyxl
import sqlalchemy as sa

from feedback_portal.audit.models import AuditEvent
from tests.conftest import ALICE, BOB, CAROL, ERIN, sign_in
from tests.factories import make_feedback
from tests.issues.triage_helpers import create_issue, post

pytestmark = pytest.mark.postgres

EMAIL_BODY = "The CMS emailed jane.doe@example.com instead of the team inbox when I saved the plan"


def _csv(response) -> list[dict[str, str]]:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    return list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))


def _setup(app, client):
    named = make_feedback(
        app,
        ALICE.email,
        title='=HYPERLINK("http://evil")',
        body="+cmd|' /C calc'!A0 the chronology is slow",
        impact="blocks-work",
        module="chronology",
        team="cp-west",
    )
    held = make_feedback(app, ERIN.email, title="Email went astray", body=EMAIL_BODY, module="chronology")
    other = make_feedback(app, ALICE.email, title="Reports", body="Reports time out", module="reports")
    sign_in(client, BOB)
    first = create_issue(client, "Chronology slow", named, held)
    second = create_issue(client, "Reports time out", other)
    post(
        client,
        f"/issues/{first}/edit",
        version="1",
        status="investigating",
        severity="1",
        supplier_ref="SUP-1",
        target_release="R5",
    )
    return first, second, named, held


def test_csv_of_issues_with_counts_quotes_and_filters(app, client, session):
    first, second, _named, _held = _setup(app, client)
    rows = _csv(client.get("/issues/export.csv"))
    assert [row["ref"] for row in rows] == [second, first]
    row = rows[1]
    assert (
        row["status"] == "Investigating"
        and row["severity"].startswith("1")
        and row["supplier_ref"] == "SUP-1"
    )
    assert (row["feedback_count"], row["contributors"], row["me_toos"]) == ("2", "2", "0")
    assert row["module"] == "Chronology" and "Child Protection West (1)" in row["teams"]
    assert row["first_feedback"] and row["last_feedback"]
    assert row["quote_1"].startswith("'+cmd")  # the most severe first, and never run as a formula
    assert "[email removed]" in row["quote_2"] and "jane.doe" not in str(rows)
    assert "Alice" not in str(rows) and "Erin" not in str(rows)
    only = _csv(client.get("/issues/export.csv?module=reports"))
    assert [r["ref"] for r in only] == [second]
    assert _csv(client.get("/issues/export.csv?status=investigating"))[0]["ref"] == first
    event = session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "issues.exported"))
    assert event.after["issues"] == 2


def test_csv_of_linked_feedback_has_no_identity(app, client):
    _first, _, named, held = _setup(app, client)
    rows = _csv(client.get("/issues/export.csv?part=feedback"))
    by_ref = {row["feedback_ref"]: row for row in rows}
    assert by_ref[named]["title"].startswith("'=HYPERLINK")
    assert "[email removed]" in by_ref[held]["text"]
    assert set(rows[0]) == {
        "issue_ref",
        "feedback_ref",
        "title",
        "text",
        "module",
        "kind",
        "impact",
        "team",
        "submitted_on",
    }
    assert "alice" not in str(rows).lower()


def test_xlsx_has_issues_and_feedback_sheets_as_text(app, client):
    first, second, named, _held = _setup(app, client)
    response = client.get("/issues/export.xlsx")
    assert response.status_code == 200 and "attachment" in response.headers["content-disposition"]
    book = openpyxl.load_workbook(io.BytesIO(response.content))
    assert book.sheetnames == ["Issues", "Feedback"]
    issues = list(book["Issues"].values)
    assert issues[0][0] == "ref" and {row[0] for row in issues[1:]} == {first, second}
    feedback = list(book["Feedback"].values)
    title_cell = next(row for row in feedback if row[1] == named)[2]
    assert title_cell.startswith("=HYPERLINK")
    assert all(cell.data_type != "f" for row in book["Feedback"].iter_rows() for cell in row)
    assert "jane.doe" not in str(feedback)


def test_safeguarding_feedback_is_never_quoted(app, client):
    ref = make_feedback(
        app,
        ALICE.email,
        title="Risk",
        body="A child is at immediate risk of harm and the form would not submit",
    )
    sign_in(client, BOB)
    issue = create_issue(client, "Lost notes", ref)
    rows = _csv(client.get("/issues/export.csv?part=feedback"))
    issue_rows = _csv(client.get("/issues/export.csv"))
    with app.state.session_factory() as session:
        from feedback_portal.feedback.models import Feedback

        assert session.scalar(sa.select(Feedback.restricted).where(Feedback.ref == ref))
    assert rows[0]["text"] == "[withheld: safeguarding]" and "immediate risk" not in str(issue_rows)
    assert issue_rows[0]["ref"] == issue and issue_rows[0]["quote_1"] == ""


def test_board_may_export_frontline_may_not_and_bad_filters_are_4xx(app, client):
    _setup(app, client)
    sign_in(client, CAROL)
    assert client.get("/issues/export.xlsx").status_code == 200
    response = client.get("/issues/export.csv?status=sideways")
    assert response.status_code == 422 and "Choose a status from the list" in response.text
    assert client.get("/issues/export.csv?part=everything").status_code == 422
    sign_in(client, ALICE)
    assert client.get("/issues/export.csv").status_code == 403
    assert client.get("/issues/export.xlsx").status_code == 403


def test_the_issues_page_links_to_the_export_with_its_filters(app, client):
    _setup(app, client)
    page = client.get("/issues?module=reports")
    assert 'href="/issues/export.xlsx?module=reports"' in page.text
    assert 'href="/issues/export.csv?module=reports&amp;part=feedback"' in page.text
