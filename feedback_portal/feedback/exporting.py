"""Exporting all feedback as CSV, Excel (.xlsx) or JSON, read from the database in batches.

Who sent feedback is only ever exported for named feedback (the `submitted_by` column); anonymous and
business-support-only feedback never carries an identity. Feedback held for personal data is exported with
each flagged piece replaced by a placeholder ("[name removed]"). CSV cells a spreadsheet would run as a formula
are prefixed with a quote; in .xlsx every text is stored as text, never as a formula.
"""

from __future__ import annotations

import csv
import io
import json
import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

import sqlalchemy as sa
from sqlalchemy import orm

from feedback_portal.accounts.models import Team, User
from feedback_portal.feedback.models import Feedback
from feedback_portal.feedback.privacy import redacted_snapshot
from feedback_portal.feedback.vocabulary import Anonymity
from feedback_portal.issues.models import Issue

FORMATS = ("csv", "xlsx", "json")
COLUMNS = (
    "ref",
    "title",
    "body",
    "module",
    "kind",
    "impact",
    "frequency",
    "team",
    "anonymity",
    "status",
    "issue_ref",
    "submitted_at",
    "submitted_by",
)
BATCH = 1_000
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# progress(done, total)
Progress = Callable[[int, int], None]


def feedback_records(session: orm.Session, batch_size: int = BATCH) -> Iterator[dict[str, Any]]:
    """Every feedback as a plain record, oldest first, fetched batch_size rows at a time."""
    submitter = orm.aliased(User)
    statement = (
        sa.select(
            Feedback.ref,
            Feedback.title,
            Feedback.body,
            Feedback.module,
            Feedback.kind,
            Feedback.impact,
            Feedback.frequency,
            Team.slug.label("team"),
            Feedback.anonymity,
            Feedback.status,
            Issue.ref.label("issue_ref"),
            Feedback.submitted_at,
            submitter.name.label("submitted_by"),
            Feedback.held,
            Feedback.personal_data,
        )
        .outerjoin(Team, Team.id == Feedback.team_id)
        .outerjoin(Issue, Issue.id == Feedback.issue_id)
        # Only named feedback is joined to its sender at all.
        .outerjoin(
            submitter,
            sa.and_(submitter.id == Feedback.submitter_id, Feedback.anonymity == Anonymity.NAMED.value),
        )
        .order_by(Feedback.id)
        .execution_options(yield_per=batch_size)
    )
    for row in session.execute(statement):
        record = row._asdict()
        held, personal_data = record.pop("held"), record.pop("personal_data")
        if held and personal_data:  # not yet checked by business support: export it redacted
            record.update(redacted_snapshot(record["title"], record["body"], personal_data))
        record["submitted_at"] = record["submitted_at"].isoformat() if record["submitted_at"] else None
        if record["anonymity"] != Anonymity.NAMED.value:
            record["submitted_by"] = None
        yield record


def count(session: orm.Session) -> int:
    return session.scalar(sa.select(sa.func.count(Feedback.id))) or 0


def csv_safe(value: object) -> str:
    """A cell value spreadsheets show as text, never run as a formula: "=SUM(A1)" becomes "'=SUM(A1)"."""
    if value is None:
        return ""
    text = str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def write_csv(
    records: Iterator[dict[str, Any]], handle: IO[bytes], progress: Progress | None = None, total: int = 0
) -> int:
    # UTF-8 with a byte order mark, so Excel shows accents and curly quotes correctly.
    text = io.TextIOWrapper(handle, encoding="utf-8-sig", newline="", write_through=True)
    try:
        writer = csv.writer(text)
        writer.writerow(COLUMNS)
        written = 0
        for written, record in enumerate(records, start=1):
            writer.writerow([csv_safe(record[column]) for column in COLUMNS])
            _tick(progress, written, total)
        text.flush()
        return written
    finally:
        text.detach()


def write_json(
    records: Iterator[dict[str, Any]], handle: IO[bytes], progress: Progress | None = None, total: int = 0
) -> int:
    written = 0
    handle.write(b"[")
    for written, record in enumerate(records, start=1):
        handle.write((",\n" if written > 1 else "\n").encode())
        handle.write(json.dumps({column: record[column] for column in COLUMNS}, ensure_ascii=False).encode())
        _tick(progress, written, total)
    handle.write(b"\n]\n" if written else b"]\n")
    return written


def write_xlsx(
    records: Iterator[dict[str, Any]], handle: IO[bytes], progress: Progress | None = None, total: int = 0
) -> int:
    import openpyxl
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    workbook = openpyxl.Workbook(write_only=True)
    sheet = workbook.create_sheet("Feedback")
    widths = {"ref": 12, "title": 40, "body": 80, "team": 22, "submitted_at": 27, "submitted_by": 22}
    for position, column in enumerate(COLUMNS, start=1):
        sheet.column_dimensions[openpyxl.utils.get_column_letter(position)].width = widths.get(column, 16)
    sheet.freeze_panes = "A2"
    sheet.append(list(COLUMNS))

    def cell(value: object) -> object:
        if value is None:
            return None
        text = ILLEGAL_CHARACTERS_RE.sub("", str(value))
        item = WriteOnlyCell(sheet, value=text)
        item.data_type = "s"  # openpyxl would store "=..." as a formula and "#N/A" as an error
        return item

    written = 0
    for written, record in enumerate(records, start=1):
        sheet.append([cell(record[column]) for column in COLUMNS])
        _tick(progress, written, total)
    workbook.save(handle)
    return written


WRITERS = {"csv": write_csv, "json": write_json, "xlsx": write_xlsx}


def export_feedback(
    session: orm.Session,
    fmt: str,
    destination: str | os.PathLike[str] | IO[bytes],
    progress: Progress | None = None,
) -> int:
    """Write every feedback to a path (replaced only once the export is complete) or a binary file.
    Returns how many were written."""
    if fmt not in WRITERS:
        raise ValueError(f"Unknown export format {fmt!r}: use one of {', '.join(FORMATS)}")
    writer = WRITERS[fmt]
    total = count(session)
    records = feedback_records(session)
    if not isinstance(destination, str | os.PathLike):
        return writer(records, destination, progress, total)
    path = Path(destination)
    # mkstemp makes the file readable by its owner only: feedback is not for everyone on the machine.
    descriptor, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            written = writer(records, handle, progress, total)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return written


def _tick(progress: Progress | None, done: int, total: int) -> None:
    if progress and (done % 500 == 0 or done == total):
        progress(done, max(total, done))
