"""Importing old feedback spreadsheets and exporting all feedback: every bad input gets a clear message,
nothing is ever half-imported, and exports never reveal who sent anonymous feedback."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
import time
import zipfile
from pathlib import Path

import openpyxl
import pytest
import sqlalchemy as sa
from openpyxl.cell.rich_text import CellRichText, TextBlock
from openpyxl.cell.text import InlineFont

from feedback_portal import db
from feedback_portal.accounts.models import Team
from feedback_portal.audit.models import AuditEvent
from feedback_portal.errors import ImportFailed
from feedback_portal.feedback import exporting, importing
from feedback_portal.feedback.importing import ImportService, read_rows
from feedback_portal.feedback.models import Feedback
from feedback_portal.indexing.models import IndexChange
from tests.conftest import ALICE, BOB, DAN, ERIN, csrf_token, give_feedback, sign_in
from tests.factories import make_feedback

pytestmark = pytest.mark.postgres

HEADER = ["ref", "title", "body", "module", "kind", "impact", "team", "submitted_at"]


def row(**values: str) -> dict[str, str]:
    base = {
        "ref": "",
        "title": "Timed out",
        "body": "The CMS logged me out while I was writing a case note.",
        "module": "case-notes",
        "kind": "bug",
        "impact": "minor",
        "team": "",
        "submitted_at": "2025-06-01",
    }
    return {**base, **values}


def csv_bytes(rows: list[dict[str, str]], header: list[str] = HEADER, encoding: str = "utf-8") -> bytes:
    text = io.StringIO(newline="")
    writer = csv.DictWriter(text, fieldnames=header, extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    return text.getvalue().encode(encoding)


def import_file(session, data: bytes | Path, filename: str | None = None):  # noqa: ANN001, ANN201
    """Import a file (a path, or bytes named filename) as `feedback-portal import` and the upload page do."""
    rows = read_rows(data, filename)
    try:
        return ImportService(session).import_rows(rows)
    finally:
        rows.close()


def refused(session, data: bytes | Path, filename: str | None = None) -> list[str]:  # noqa: ANN001
    """The problems an import reports; asserts it saved nothing."""
    before = count(session)
    with pytest.raises(ImportFailed) as failed:
        import_file(session, data, filename)
    assert count(session) == before, "a refused import saved something"
    assert failed.value.status_code == 422
    return [str(problem) for problem in failed.value.problems]


def count(session) -> int:  # noqa: ANN001
    session.rollback()
    return session.scalar(sa.select(sa.func.count(Feedback.id)))


def stored(session) -> list[Feedback]:  # noqa: ANN001
    session.rollback()
    return list(session.scalars(sa.select(Feedback).order_by(Feedback.id)))


# Importing good files


def test_labels_and_slugs_in_any_case_are_imported_as_anonymous_received_feedback(session):
    summary = import_file(
        session,
        csv_bytes(
            [
                row(module="CASE NOTES", kind="something is BROKEN", impact="It stops me working"),
                row(module="Plans & Reviews", kind="USABILITY", impact="Minor"),
                row(module="search", kind="Slow", impact="workaround"),
            ]
        ),
        "old.csv",
    )
    assert summary.created == 3 and summary.refs == ["FB-000001", "FB-000002", "FB-000003"]
    items = stored(session)
    assert [(f.module, f.kind, f.impact) for f in items] == [
        ("case-notes", "bug", "blocks-work"),
        ("plans-reviews", "usability", "minor"),
        ("search", "performance", "workaround"),
    ]
    assert all(
        f.anonymity == "anonymous" and f.submitter_id is None and f.status == "received" for f in items
    )
    assert [f.ref for f in items] == summary.refs


def test_unknown_teams_are_created_once_and_listed_and_known_ones_matched_by_name_or_slug(session):
    summary = import_file(
        session,
        csv_bytes(
            [
                row(team="Child Protection West"),
                row(team="CP-WEST"),
                row(team="Family Hubs North"),
                row(team="family hubs north"),
                row(team="Edge of Care"),
                row(team=""),
            ]
        ),
        "teams.csv",
    )
    assert summary.new_teams == ["Family Hubs North (family-hubs-north)", "Edge of Care (edge-of-care)"]
    teams = [f.team.slug if f.team else None for f in stored(session)]
    assert teams == ["cp-west", "cp-west", "family-hubs-north", "family-hubs-north", "edge-of-care", None]
    assert session.scalar(sa.select(Team.name).where(Team.slug == "family-hubs-north")) == "Family Hubs North"


def test_unknown_columns_are_ignored_with_a_warning_and_headers_are_forgiving(session):
    header = ["Body", "Module", "KIND", "Impact", "Submitted at", "Case worker", "notes"]
    data = csv_bytes(
        [
            {
                "Body": "Saving a plan fails",
                "Module": "plans-reviews",
                "KIND": "bug",
                "Impact": "minor",
                "Submitted at": "01/02/2025",
                "Case worker": "someone",
                "notes": "x",
            }
        ],
        header=header,
    )
    summary = import_file(session, data, "extra.csv")
    assert summary.created == 1
    assert any("ignored" in warning and "case_worker, notes" in warning for warning in summary.warnings)
    [item] = stored(session)
    assert item.submitted_at == dt.datetime(2025, 2, 1, tzinfo=dt.UTC)  # London midnight in winter is UTC


def test_dates_iso_and_uk_with_optional_times_in_london_time_and_empty_means_now(session):
    before = dt.datetime.now(dt.UTC)
    import_file(
        session,
        csv_bytes(
            [
                row(submitted_at="2025-07-01"),
                row(submitted_at="2025-07-01T09:30:00Z"),
                row(submitted_at="31/07/2025 14:05"),
                row(submitted_at="1/2/2025"),
                row(submitted_at=""),
            ]
        ),
        "dates.csv",
    )
    times = [f.submitted_at for f in stored(session)]
    assert times[0] == dt.datetime(2025, 6, 30, 23, 0, tzinfo=dt.UTC)  # midnight in London, summer time
    assert times[1] == dt.datetime(2025, 7, 1, 9, 30, tzinfo=dt.UTC)
    assert times[2] == dt.datetime(2025, 7, 31, 13, 5, tzinfo=dt.UTC)
    assert times[3] == dt.datetime(2025, 2, 1, tzinfo=dt.UTC)
    assert before <= times[4] <= dt.datetime.now(dt.UTC)


def test_given_refs_keep_their_number_and_later_feedback_does_not_collide(session, app, as_alice):
    summary = import_file(
        session, csv_bytes([row(ref="FB-500"), row(ref="fb-000007"), row(ref="")]), "refs.csv"
    )
    assert summary.refs == ["FB-000500", "FB-000007", "FB-000501"]
    assert {f.id: f.ref for f in stored(session)} == {7: "FB-000007", 500: "FB-000500", 501: "FB-000501"}
    assert give_feedback(as_alice).status_code == 303
    assert stored(session)[-1].ref == "FB-000502"


def test_imported_feedback_is_in_the_search_change_log_and_the_audit_trail(session):
    summary = import_file(session, csv_bytes([row(), row(ref="FB-42")]), "log.csv")
    logged = set(
        session.scalars(sa.select(IndexChange.record_id).where(IndexChange.record_type == "feedback"))
    )
    assert {f.id for f in stored(session)} <= logged
    event = session.get(AuditEvent, summary.audit_event_id)
    assert event.action == "feedback.imported" and event.actor_id is None
    assert event.after["created"] == 2 and event.after["file"] is None


def test_an_excel_file_with_a_header_and_dates_as_dates_is_imported(session, tmp_path):
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["Title", "Body", "Module", "Kind", "Impact", "Team", "Submitted at"])
    sheet.append(
        [
            "Lost note",
            "The note vanished",
            "Case notes",
            "Something is broken",
            "minor",
            "MASH",
            dt.datetime(2025, 3, 3, 10, 15),
        ]
    )
    sheet.append([None] * 7)  # an empty line is skipped
    sheet.append([None, 12345, "search", "bug", "minor", None, dt.date(2025, 3, 4)])
    sheet.append(
        [
            None,
            CellRichText(["Partly ", TextBlock(InlineFont(b=True), "bold")]),
            "search",
            "bug",
            "minor",
            None,
            "2025-03-05",
        ]
    )
    workbook.create_sheet("Notes")["A1"] = "not read"
    path = tmp_path / "old.xlsx"
    workbook.save(path)
    summary = import_file(session, path)
    assert summary.created == 3 and summary.new_teams == ["MASH (mash)"]
    assert any('Only the first sheet, "Sheet"' in warning for warning in summary.warnings)
    first, second, third = stored(session)
    assert first.submitted_at == dt.datetime(2025, 3, 3, 10, 15, tzinfo=dt.UTC)
    assert second.body == "12345" and second.submitted_at == dt.datetime(2025, 3, 4, tzinfo=dt.UTC)
    assert third.body == "Partly bold"


# Bad files: a clear message, nothing imported


def test_a_file_without_the_needed_columns_is_refused(session):
    [problem] = refused(session, b"title,module,kind,impact\nA,case-notes,bug,minor\n", "nobody.csv")
    assert 'nobody.csv has no "body" column' in problem
    assert '"title", "module", "kind", "impact"' in problem  # what it did find
    [problem] = refused(session, b"body,Body,module,kind,impact\n", "twice.csv")
    assert '"body" more than once' in problem


def test_ten_thousand_rows_with_one_bad_date_import_nothing_and_name_its_line(session, tmp_path):
    rows = [
        row(
            title=f"Report {n}",
            body=f"Report number {n} about the CMS",
            team=["cp-west", "Fostering"][n % 2],
            submitted_at=["2025-01-02", "03/04/2025 10:00", ""][n % 3],
        )
        for n in range(10_000)
    ]
    good = csv_bytes(rows)
    rows[4313 - 2]["submitted_at"] = "31/02/2025"  # line 1 is the header, so this is line 4,313
    problems = refused(session, csv_bytes(rows), "big.csv")
    assert problems == [
        'line 4313: submitted_at "31/02/2025" is not a real date (dates are day/month/year, like 31/03/2026)'
    ]
    assert session.scalar(sa.select(Team).where(Team.slug == "fostering")) is None  # no team half-made either

    started = time.perf_counter()
    summary = import_file(session, good, "big.csv")
    elapsed = time.perf_counter() - started
    assert summary.created == 10_000 and count(session) == 10_000
    assert summary.new_teams == ["Fostering (fostering)"]
    print(f"imported 10,000 CSV rows in {elapsed:.2f}s")
    assert elapsed < 30, f"10,000 rows took {elapsed:.1f}s"


def test_every_bad_row_is_reported_by_line_with_the_value_and_the_valid_choices(session):
    problems = refused(
        session,
        csv_bytes(
            [
                row(),
                row(module="Casenotes"),
                row(kind="moan", impact="huge"),
                row(body=""),
                row(body="x" * 5001, title="t" * 151),
                row(submitted_at="2099-01-01"),
                row(submitted_at="12/31/1999"),
                row(submitted_at="1999-12-31"),
                row(submitted_at="yesterday"),
                row(ref="123"),
            ]
        ),
        "bad.csv",
    )
    assert problems[0].startswith(
        'line 3: module "Casenotes" is not a CMS module the portal knows; use one of: '
        "case-notes, assessments,"
    )
    assert problems[1].startswith(
        'line 4: kind "moan" is not a kind of problem the portal knows; use one of: bug,'
    )
    assert problems[2].startswith('line 4: impact "huge" is not a level of impact the portal knows')
    assert "blocks-work, workaround, minor" in problems[2]
    assert problems[3].startswith("line 5: body is empty")
    assert problems[4] == "line 6: body is 5,001 characters long; the most allowed is 5,000"
    assert problems[5] == "line 6: title is 151 characters long; the most allowed is 150"
    assert problems[6] == 'line 7: submitted_at "2099-01-01" is in the future'
    assert problems[7].startswith(
        'line 8: submitted_at "12/31/1999" is not a real date (dates are day/month/year'
    )
    assert problems[8] == 'line 9: submitted_at "1999-12-31" is before 2000'
    assert problems[9].startswith(
        'line 10: submitted_at "yesterday" is not a date: use a date like 31/03/2026'
    )
    assert problems[10].startswith('line 11: ref "123" is not a feedback reference')
    assert len(problems) == 11


def test_a_ref_twice_in_the_file_or_already_in_the_portal_is_refused(session, app):
    existing = make_feedback(app, ALICE.email)
    assert existing == "FB-000001"
    problems = refused(
        session, csv_bytes([row(ref="FB-000001"), row(ref="FB-9"), row(ref="fb-000009")]), "dup.csv"
    )
    assert problems == [
        "line 2: ref FB-000001 is already in the portal",
        "line 4: ref FB-000009 is also on line 3; each ref can be used once",
    ]


def test_a_file_too_big_is_refused_before_it_is_read(session, tmp_path):
    huge = tmp_path / "huge.csv"
    with huge.open("wb") as handle:
        handle.truncate(200 * 1024 * 1024)  # sparse: 200 MB by size, nothing on disk
    [problem] = refused(session, huge)
    assert (
        problem
        == "huge.csv is 200 MB: files to import must be 50 MB or smaller. "
        "Split it into smaller files and import each one."
    )


def zip_file(entries: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def test_an_xlsx_zip_bomb_is_refused_before_it_is_unpacked(session, monkeypatch):
    bomb = zip_file(
        {
            "[Content_Types].xml": b"<Types/>",
            "xl/workbook.xml": b"<workbook/>",
            "xl/worksheets/sheet1.xml": b"\0" * (64 * 1024 * 1024),  # 64 MB that packs to about 64 KB
        }
    )
    assert len(bomb) < 200_000
    [problem] = refused(session, bomb, "bomb.xlsx")
    assert "bomb.xlsx was refused" in problem and "zip bomb" in problem

    many = zip_file({"xl/workbook.xml": b"<workbook/>", **{f"xl/media/{n}.bin": b"" for n in range(1001)}})
    [problem] = refused(session, many, "many.xlsx")
    assert "holds 1,002 parts" in problem

    # The total unpacked size is limited too, whatever each part's ratio.
    monkeypatch.setattr(importing, "XLSX_MAX_UNCOMPRESSED_BYTES", 1000)
    workbook = io.BytesIO()
    openpyxl.Workbook().save(workbook)
    [problem] = refused(session, workbook.getvalue(), "modest.xlsx")
    assert "modest.xlsx was refused" in problem


def test_csv_files_that_are_not_utf8_are_read_as_windows_1252_and_say_so(session):
    data = csv_bytes([row(body="Caf\u00e9 \u201cnotes\u201d \u2013 lost")], encoding="cp1252")
    summary = import_file(session, data, "excel.csv")
    assert stored(session)[0].body == "Caf\u00e9 \u201cnotes\u201d \u2013 lost"
    assert any("read as Windows-1252" in warning for warning in summary.warnings)

    bom = b"\xef\xbb\xbf" + csv_bytes([row(ref="FB-77", body="Na\u00efve UTF-8 with a BOM")])
    summary = import_file(session, bom, "bom.csv")
    assert summary.refs == ["FB-000077"] and summary.warnings == []
    assert stored(session)[-1].body == "Na\u00efve UTF-8 with a BOM"

    [problem] = refused(session, csv_bytes([row()]) + b"\x81\x8d", "garbled.csv")
    assert "is not UTF-8 or Windows-1252 text" in problem
    [problem] = refused(session, csv_bytes([row()], encoding="utf-16"), "unicode.csv")
    assert "UTF-16" in problem


def test_files_that_are_not_csv_or_xlsx_are_refused(session):
    png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR" + bytes(40)
    assert "is not a CSV or Excel file" in refused(session, png, "screenshot.png")[0]
    assert "contains binary data" in refused(session, png, "screenshot.csv")[0]
    assert "not a real Excel workbook" in refused(session, b"body,module\n", "fake.xlsx")[0]
    assert "Excel 97-2003" in refused(session, b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(100), "old.xls")[0]
    assert "damaged" in refused(session, b"PK\x03\x04" + bytes(100), "broken.xlsx")[0]
    assert (
        "not an Excel workbook"
        in refused(session, zip_file({"word/document.xml": b"<w/>"}), "letter.xlsx")[0]
    )
    assert (
        "looks like an Excel workbook"
        in refused(session, zip_file({"xl/workbook.xml": b"x"}), "renamed.csv")[0]
    )


def test_empty_files_are_refused(session):
    assert refused(session, b"", "empty.csv") == ["empty.csv is empty"]
    assert refused(session, b"\r\n \n", "blank.csv") == ["blank.csv is empty"]
    assert refused(session, b"body,module,kind,impact\n,,,\n", "header-only.csv") == [
        "The file has no feedback in it: there is nothing under the column names"
    ]
    buffer = io.BytesIO()
    openpyxl.Workbook().save(buffer)
    assert "empty" in refused(session, buffer.getvalue(), "blank.xlsx")[0]


def test_a_row_with_more_values_than_columns_or_a_runaway_quote_is_reported(session):
    data = csv_bytes([row()]) + b",,It broke, badly,case-notes,bug,minor,,,extra\n"
    problems = refused(session, data, "commas.csv")
    assert problems[0].startswith("line 3: has more values than the first line has column names")
    assert problems[1].startswith('line 3: module "badly" is not a CMS module')
    runaway = csv_bytes([row()]) + b',,"This never ends,case-notes,bug,minor,,\n' + b"x" * 200_000 + b"\n"
    [problem] = refused(session, runaway, "quote.csv")
    assert problem.startswith("line 3: could not be read as CSV") and "closing quote" in problem


# Exporting


@pytest.fixture
def three_kinds(app) -> dict[str, str]:  # noqa: ANN001
    return {
        "named": make_feedback(app, ALICE.email, title="Named one", anonymity="named", team="cp-west"),
        "quiet": make_feedback(app, ALICE.email, title="Quiet one", anonymity="business-support-only"),
        "anonymous": make_feedback(app, ERIN.email, title="Secret one", anonymity="anonymous"),
    }


def export(session, fmt: str) -> bytes:  # noqa: ANN001
    buffer = io.BytesIO()
    exporting.export_feedback(session, fmt, buffer)
    return buffer.getvalue()


def test_exports_name_the_sender_of_named_feedback_only(session, three_kinds):
    records = json.loads(export(session, "json"))
    by_ref = {record["ref"]: record for record in records}
    assert by_ref[three_kinds["named"]]["submitted_by"] == ALICE.name
    assert by_ref[three_kinds["quiet"]]["submitted_by"] is None
    assert by_ref[three_kinds["anonymous"]]["submitted_by"] is None
    assert list(records[0]) == list(exporting.COLUMNS)
    assert by_ref[three_kinds["named"]]["team"] == "cp-west"
    rows = list(csv.DictReader(io.StringIO(export(session, "csv").decode("utf-8-sig"))))
    assert [r["submitted_by"] for r in rows] == [ALICE.name, "", ""]
    workbook = openpyxl.load_workbook(io.BytesIO(export(session, "xlsx")))
    values = [[cell.value for cell in line] for line in workbook.active.iter_rows()]
    assert values[0] == list(exporting.COLUMNS)
    assert [line[-1] for line in values[1:]] == [ALICE.name, None, None]
    for fmt in exporting.FORMATS:
        data = export(session, fmt)
        text = data.decode("utf-8", "ignore") if fmt != "xlsx" else _xlsx_text(data)
        assert ALICE.email not in text and ERIN.name not in text and ERIN.email not in text
        assert text.count(ALICE.name) == 1


def _xlsx_text(data: bytes) -> str:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return " ".join(archive.read(name).decode("utf-8", "ignore") for name in archive.namelist())


def test_csv_export_defuses_spreadsheet_formulas_and_xlsx_keeps_them_as_text(session, app):
    make_feedback(
        app, ALICE.email, title='=HYPERLINK("http://evil.example","Click")', body="+2 days added to every visit deadline"
    )
    make_feedback(app, ALICE.email, title="@SUM(A1:A2)", body="-1+1 the totals are wrong")
    rows = list(csv.reader(io.StringIO(export(session, "csv").decode("utf-8-sig"))))
    assert rows[1][1] == '\'=HYPERLINK("http://evil.example","Click")' and rows[1][2] == "'+2 days added to every visit deadline"
    assert rows[2][1] == "'@SUM(A1:A2)" and rows[2][2] == "'-1+1 the totals are wrong"
    assert exporting.csv_safe("FB-000001") == "FB-000001"
    data = export(session, "xlsx")
    assert "<f>" not in _xlsx_text(data)
    sheet = openpyxl.load_workbook(io.BytesIO(data)).active
    assert sheet["B2"].data_type == "s" and sheet["B2"].value.startswith("=HYPERLINK")


def test_export_to_a_path_streams_in_batches_and_replaces_the_file_only_when_done(session, app, tmp_path):
    for number in range(5):
        make_feedback(app, ALICE.email, title=f"Item {number}")
    path = tmp_path / "all.json"
    seen: list[tuple[int, int]] = []
    assert (
        exporting.export_feedback(session, "json", path, lambda done, total: seen.append((done, total))) == 5
    )
    assert [record["title"] for record in json.loads(path.read_text())] == [f"Item {n}" for n in range(5)]
    assert seen[-1] == (5, 5)
    assert [len(list(batch)) for batch in [list(exporting.feedback_records(session, batch_size=2))]] == [5]
    assert not list(tmp_path.glob(".all.json.*"))


def test_xlsx_round_trip_into_a_fresh_database(session, app, tmp_path):
    make_feedback(
        app,
        ALICE.email,
        title="Chronology gap",
        body="Entries from 2019 are missing\nand out of order",
        module="chronology",
        kind="missing-feature",
        impact="workaround",
        frequency="daily",
        team="cp-west",
        submitted_at=dt.datetime(2025, 11, 3, 14, 30, tzinfo=dt.UTC),
    )
    make_feedback(
        app,
        ERIN.email,
        title="=1+1",
        body="Search is slow",
        module="search",
        kind="performance",
        impact="blocks-work",
        anonymity="anonymous",
        team="youth-justice",
    )
    path = tmp_path / "all.xlsx"
    assert exporting.export_feedback(session, "xlsx", path) == 2
    original = {f.ref: f for f in stored(session)}

    url = f"sqlite:///{tmp_path / 'fresh' / 'portal.db'}"
    db.upgrade(url)
    engine = db.make_engine(url)
    try:
        with db.make_session_factory(engine)() as fresh:
            summary = import_file(fresh, path)
            assert summary.refs == list(original)
            assert summary.new_teams == ["Cp West (cp-west)", "Youth Justice (youth-justice)"]
            assert any(
                "anonymity, status, issue_ref, submitted_by" in warning for warning in summary.warnings
            )
            for copy in stored(fresh):
                source = original[copy.ref]
                assert (
                    copy.id,
                    copy.title,
                    copy.body,
                    copy.module,
                    copy.kind,
                    copy.impact,
                    copy.frequency,
                ) == (
                    source.id,
                    source.title,
                    source.body,
                    source.module,
                    source.kind,
                    source.impact,
                    source.frequency,
                )
                assert copy.team.slug == source.team.slug
                assert copy.submitted_at == source.submitted_at
                assert copy.anonymity == "anonymous" and copy.submitter_id is None
    finally:
        engine.dispose()


def test_csv_export_imports_back_unchanged_including_defused_formulas(session, app, tmp_path):
    make_feedback(app, ALICE.email, title="-minus first", body="=not a formula, \u201cquoted\u201d")
    data = export(session, "csv")
    url = f"sqlite:///{tmp_path / 'fresh' / 'portal.db'}"
    db.upgrade(url)
    engine = db.make_engine(url)
    try:
        with db.make_session_factory(engine)() as fresh:
            import_file(fresh, data, "export.csv")
            [copy] = stored(fresh)
            assert (copy.title, copy.body) == ("-minus first", "=not a formula, \u201cquoted\u201d")
    finally:
        engine.dispose()


# The admin upload page


def upload(client, data: bytes, filename: str = "old.csv"):  # noqa: ANN001, ANN201
    return client.post(
        "/admin/import",
        data={"_csrf_token": csrf_token(client)},
        files={"file": (filename, data, "text/csv")},
        follow_redirects=False,
    )


def test_only_admins_can_open_the_import_page(client):
    sign_in(client, ALICE)
    assert client.get("/admin/import").status_code == 403
    assert upload(client, csv_bytes([row()])).status_code == 403
    client.cookies.clear()
    sign_in(client, BOB)
    assert client.get("/admin/import").status_code == 403
    client.cookies.clear()
    sign_in(client, DAN)
    page = client.get("/admin/import")
    assert page.status_code == 200
    assert 'enctype="multipart/form-data"' in page.text and 'name="_csrf_token"' in page.text
    assert 'type="file"' in page.text and 'id="file"' in page.text
    assert " hx-" not in page.text


def test_an_admin_uploads_a_file_and_sees_the_summary(client, session):
    sign_in(client, DAN)
    response = upload(
        client, csv_bytes([row(team="Family Hubs North"), row(ref="FB-300")], header=HEADER + ["notes"])
    )
    assert response.status_code == 303
    page = client.get(response.headers["location"])
    assert page.status_code == 200
    assert "Imported 2 feedback items from old.csv" in page.text
    assert "FB-000300" in page.text and "Family Hubs North (family-hubs-north)" in page.text
    assert "ignored" in page.text and "notes" in page.text
    assert count(session) == 2
    event = session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "feedback.imported"))
    assert event.actor_id is not None and event.after["file"] == "old.csv"


def test_a_bad_upload_lists_each_bad_row_up_to_fifty_and_saves_nothing(client, session):
    sign_in(client, DAN)
    response = upload(client, csv_bytes([row(), row(module="Casenotes"), row(submitted_at="31/02/2025")]))
    assert response.status_code == 422
    assert "There is a problem" in response.text and "Nothing was imported" in response.text
    summary = response.text.split('govuk-error-summary__list"')[1].split("</ul>")[0]
    assert (
        "line 3: module &#34;Casenotes&#34;" in summary or "line 3: module &quot;Casenotes&quot;" in summary
    )
    assert "line 4: submitted_at" in summary and 'href="#file"' in summary
    assert 'id="file-error"' in response.text
    many = upload(client, csv_bytes([row(kind="moan")] * 120))
    assert many.status_code == 422
    listed = many.text.split('govuk-error-summary__list"')[1].split("</ul>")[0]
    assert len(re.findall(r"line \d+: kind", listed)) == 50
    assert "and 70 more problems" in listed
    assert "120 problems" in many.text
    assert count(session) == 0


def test_bad_files_uploaded_get_a_message_not_an_error(client, session):
    sign_in(client, DAN)
    for data, filename, message in (
        (b"", "empty.csv", "empty.csv is empty"),
        (b"title\nx\n", "cols.csv", "has no"),
        (b"%PDF-1.7\n\0\0", "doc.pdf", "is not a CSV or Excel file"),
    ):
        response = upload(client, data, filename)
        assert response.status_code == 422, filename
        assert message in response.text
    no_file = client.post(
        "/admin/import",
        data={"_csrf_token": csrf_token(client)},
        files={"file": ("", b"", "application/octet-stream")},
        follow_redirects=False,
    )
    assert no_file.status_code == 422 and "Choose a .csv or .xlsx file to import" in no_file.text
    assert count(session) == 0


def test_an_upload_too_big_gets_a_page_about_the_import_limit(client, session):
    sign_in(client, DAN)
    response = upload(client, b"x" * (importing.MAX_FILE_BYTES + 2 * 1024 * 1024))
    assert response.status_code == 413
    assert "files to import must be 50 MB or smaller" in response.text
    assert "Screenshots" not in response.text
    assert 'href="/admin/import"' in response.text
    assert count(session) == 0
    client.cookies.clear()
    sign_in(client, ALICE)
    assert upload(client, b"x" * (importing.MAX_FILE_BYTES + 2 * 1024 * 1024)).status_code == 403
