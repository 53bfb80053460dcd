"""Importing the old feedback spreadsheets (.csv or .xlsx): read safely, check every row, save all or nothing.

The columns are `ref,title,body,module,kind,impact,team,submitted_at` (and optionally `frequency`); only body,
module, kind and impact must be there. Values may be slugs or the labels the form shows, in any case.
Line numbers are the ones the person sees: the header is line 1 and the first feedback is line 2 (a CSV
value with line breaks in it, such as a long body, is still one line, as in a spreadsheet).

Imported feedback has no submitter and is anonymous (the old spreadsheets carry no identity we may
store), with status "received".
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import io
import logging
import os
import re
import unicodedata
import zipfile
import zoneinfo
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import exc, orm

from feedback_portal.accounts.models import Team
from feedback_portal.audit import models as audit
from feedback_portal.db import begin_write, utcnow
from feedback_portal.errors import ImportFailed, RowError
from feedback_portal.feedback.models import Feedback
from feedback_portal.feedback.services import BODY_MAX, TITLE_MAX, Vocabularies, clean_text, format_ref
from feedback_portal.feedback.vocabulary import Anonymity, FeedbackStatus
from feedback_portal.indexing import changelog

log = logging.getLogger(__name__)

# Refused before anything is parsed.
MAX_FILE_BYTES = 50 * 1024 * 1024
MAX_ROWS = 100_000
# An .xlsx is a zip archive: its directory is checked before openpyxl unpacks anything (zip bombs).
# Python's zipfile never inflates an entry past the size its header declares (it stops and reports a
# bad CRC), so checking the declared sizes bounds what is really unpacked.
XLSX_MAX_ENTRIES = 1_000
XLSX_MAX_UNCOMPRESSED_BYTES = 250 * 1024 * 1024
XLSX_MAX_RATIO = 100  # uncompressed / compressed, per entry (Apache POI's default)
XLSX_RATIO_CHECKED_FROM = 1024 * 1024  # tiny entries can have any ratio
# The largest id PostgreSQL's integer column holds.
MAX_REF_NUMBER = 2_147_483_647
INSERT_BATCH = 1_000

REQUIRED_COLUMNS = ("body", "module", "kind", "impact")
OPTIONAL_COLUMNS = ("ref", "title", "team", "submitted_at", "frequency")
KNOWN_COLUMNS = frozenset(REQUIRED_COLUMNS + OPTIONAL_COLUMNS)
VOCABULARY_NOUNS = {
    "module": "CMS module",
    "kind": "kind of problem",
    "impact": "level of impact",
    "frequency": "frequency",
}

LONDON = zoneinfo.ZoneInfo("Europe/London")
EARLIEST = dt.datetime(2000, 1, 1, tzinfo=LONDON)
_REF = re.compile(r"^FB-?(\d{1,10})$", re.IGNORECASE)
_UK_DATE = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})(?:[ T,]+(\d{1,2}):(\d{2})(?::(\d{2}))?)?$")
# What spreadsheets run as formulas; exported CSV prefixes these with a quote (see exporting.py).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

Row = dict[str | None, Any]
# progress(stage, done, total): stage is "check" (reading and checking rows) or "save"; total may be a guess.
Progress = Callable[[str, int, int | None], None]


def _file_error(message: str) -> ImportFailed:
    return ImportFailed([RowError(None, None, message)])


# Reading files


class ImportFile:
    """The rows of an uploaded file: iterate for (line_number, {column: value}).

    `warnings` (unknown columns, the encoding guessed, other sheets) grows as the file is read;
    `total_hint` is about how many rows there are, for a progress bar.
    """

    def __init__(
        self, filename: str, rows: Iterator[tuple[int, Row]], *, warnings: list[str], total_hint: int | None
    ) -> None:
        self.filename = filename
        self._rows = rows
        self.warnings = warnings
        self.total_hint = total_hint

    def __iter__(self) -> Iterator[tuple[int, Row]]:
        count = 0
        for line, row in self._rows:
            count += 1
            if count > MAX_ROWS:
                raise _file_error(
                    f"The file has more than {MAX_ROWS:,} rows of feedback. Split it into smaller files and "
                    "import each one."
                )
            yield line, row

    def close(self) -> None:
        close = getattr(self._rows, "close", None)
        if close:
            close()


def read_rows(source: bytes | str | os.PathLike[str], filename: str | None = None) -> ImportFile:
    """Open a .csv or .xlsx file (a path, or the bytes of an upload) and check its header.

    Raises ImportFailed for a file that is too big, empty, not CSV or Excel, a zip bomb, or whose
    columns are wrong. Problems in rows are the service's business (ImportService.import_rows).
    """
    if isinstance(source, bytes):
        size = len(source)
        filename = filename or "the file"
    else:
        path = Path(source)
        filename = filename or path.name
        try:
            size = path.stat().st_size
        except OSError as error:
            raise _file_error(f"{filename} could not be opened: {error.strerror or error}") from None
    check_size(size, filename)
    if isinstance(source, bytes):
        start = source[:8]
    else:
        with open(source, "rb") as handle:
            start = handle.read(8)

    extension = Path(filename).suffix.lower()
    is_zip = start.startswith(b"PK\x03\x04")
    if start.startswith(b"\xd0\xcf\x11\xe0"):
        raise _file_error(
            f"{filename} is an old-style Excel 97-2003 workbook (.xls). Open it in Excel and save it as an "
            "Excel Workbook (.xlsx) or as CSV UTF-8, then import that."
        )
    if extension == ".xlsx":
        if not is_zip:
            raise _file_error(f"{filename} is not a real Excel workbook, although its name ends in .xlsx")
        return _read_xlsx(source, filename)
    if extension == ".csv":
        if is_zip:
            raise _file_error(
                f"{filename} looks like an Excel workbook, not a CSV file. Rename it to end in .xlsx, or "
                "save it from Excel as CSV UTF-8."
            )
        data = source if isinstance(source, bytes) else Path(source).read_bytes()
        return _read_csv(data, filename)
    raise _file_error(
        f"{filename} is not a CSV or Excel file: choose a file whose name ends in .csv or .xlsx"
    )


def check_size(size: int, filename: str) -> None:
    """Refuse a file that is empty or too big, before reading any of it."""
    if size > MAX_FILE_BYTES:
        raise _file_error(
            f"{filename} is {_megabytes(size)}: files to import must be {_megabytes(MAX_FILE_BYTES)} or "
            "smaller. "
            "Split it into smaller files and import each one."
        )
    if size == 0:
        raise _file_error(f"{filename} is empty")


def _megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):,.0f} MB" if size >= 1024 * 1024 else f"{size / (1024 * 1024):.1f} MB"


def normalise_column(name: object) -> str | None:
    """'Submitted at' and 'submitted-at' both mean submitted_at; blank headers are ignored."""
    text = clean_text(name).lower()
    text = re.sub(r"[\s\-]+", "_", text)
    return text or None


def _check_header(raw: Iterable[object], filename: str, warnings: list[str]) -> list[str | None]:
    columns = [normalise_column(name) for name in raw]
    named = [column for column in columns if column]
    duplicates = sorted({column for column in named if named.count(column) > 1})
    if duplicates:
        raise _file_error(
            f"The first line of {filename} names the column{'s' if len(duplicates) > 1 else ''} "
            f"{_quoted(duplicates)} more than once. Each column must appear once."
        )
    missing = [column for column in REQUIRED_COLUMNS if column not in named]
    if missing:
        shown = ", ".join(f'"{column}"' for column in named[:12]) or "nothing"
        if len(named) > 12:
            shown += ", …"
        raise _file_error(
            f"{filename} has no {_quoted(missing)} column{'s' if len(missing) > 1 else ''}. "
            f"The first line must name the columns: {', '.join(REQUIRED_COLUMNS)} are needed, and "
            f"{', '.join(OPTIONAL_COLUMNS)} may be given. Its first line has {shown}."
        )
    unknown = [column for column in named if column not in KNOWN_COLUMNS]
    if unknown:
        warnings.append(f"These columns were ignored, as the import does not use them: {', '.join(unknown)}")
    return [column if column in KNOWN_COLUMNS else None for column in columns]


def _quoted(names: list[str]) -> str:
    quoted = [f'"{name}"' for name in names]
    return quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " and " + quoted[-1]


def _read_csv(data: bytes, filename: str) -> ImportFile:
    warnings: list[str] = []
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise _file_error(
            f'{filename} is saved as UTF-16 ("Unicode Text"). Save it from Excel as CSV UTF-8 instead.'
        )
    if b"\x00" in data:
        raise _file_error(
            f"{filename} is not a CSV file: it contains binary data. Choose a .csv or .xlsx file."
        )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            text = data.decode("cp1252")
        except UnicodeDecodeError:
            raise _file_error(
                f"{filename} is not UTF-8 or Windows-1252 text, so it cannot be read. Save it from Excel as "
                "CSV UTF-8 and try again."
            ) from None
        warnings.append(
            f'{filename} is not UTF-8, so it was read as Windows-1252 (what Excel saves as "CSV"). '
            'Check that accented letters and curly quotes look right; saving as "CSV UTF-8" avoids this.'
        )
    if not text.strip():
        raise _file_error(f"{filename} is empty")
    first_line = text.split("\n", 1)[0]
    delimiter = ","
    if "," not in first_line:
        if ";" in first_line:
            delimiter = ";"
        elif "\t" in first_line:
            delimiter = "\t"
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header = next(reader)
    except csv.Error as error:
        raise _file_error(f"line 1 of {filename} could not be read as CSV ({error})") from None
    columns = _check_header(header, filename, warnings)
    total_hint = max(0, text.count("\n") - 1) or None

    def rows() -> Iterator[tuple[int, Row]]:
        line = 1
        try:
            for line, values in enumerate(reader, start=2):
                if not any(value.strip() for value in values):
                    continue  # spreadsheets often save trailing empty lines
                row: Row = {
                    column: _unescape(value) for column, value in zip(columns, values, strict=False) if column
                }
                extra = values[len(columns) :]
                if any(value.strip() for value in extra):
                    row[None] = extra
                yield line, row
        except csv.Error as error:
            reason = str(error)
            if "field larger than field limit" in reason:
                reason = 'a value is far too long; is a closing quote (") missing?'
            raise ImportFailed(
                [RowError(line + 1, None, f"could not be read as CSV: {reason}")],
                message=f"Nothing was imported: line {line + 1} of {filename} could not be read as CSV",
            ) from None

    return ImportFile(filename, rows(), warnings=warnings, total_hint=total_hint)


def _unescape(value: str) -> str:
    """Undo the quote exports put before a value a spreadsheet would run as a formula ("'=x" -> "=x")."""
    if value.startswith("'") and value[1:2] and value[1] in FORMULA_STARTS:
        return value[1:]
    return value


def _check_zip(source: bytes | str | os.PathLike[str], filename: str) -> None:
    try:
        with zipfile.ZipFile(io.BytesIO(source) if isinstance(source, bytes) else source) as archive:
            entries = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError):
        raise _file_error(f"{filename} is damaged or is not a real Excel workbook") from None
    refused = (
        f"{filename} was refused: it unpacks to far more data than a spreadsheet of feedback would, which is "
        'how a "zip bomb" attack works. If it is a genuine workbook, save it as CSV UTF-8 and import that.'
    )
    if len(entries) > XLSX_MAX_ENTRIES:
        raise _file_error(
            f"{filename} was refused: it holds {len(entries):,} parts, more than the {XLSX_MAX_ENTRIES:,} an "
            "Excel workbook of feedback would."
        )
    total = 0
    for entry in entries:
        total += entry.file_size
        if entry.file_size >= XLSX_RATIO_CHECKED_FROM and entry.file_size > XLSX_MAX_RATIO * max(
            entry.compress_size, 1
        ):
            raise _file_error(refused)
    if total > XLSX_MAX_UNCOMPRESSED_BYTES:
        raise _file_error(refused)
    if "xl/workbook.xml" not in {entry.filename for entry in entries}:
        raise _file_error(f"{filename} is a zip archive but not an Excel workbook")


def _read_xlsx(source: bytes | str | os.PathLike[str], filename: str) -> ImportFile:
    import openpyxl

    _check_zip(source, filename)
    warnings: list[str] = []
    try:
        workbook = openpyxl.load_workbook(
            io.BytesIO(source) if isinstance(source, bytes) else source,
            read_only=True,
            data_only=True,  # a formula's saved value, never the formula
            rich_text=True,  # faster for inline strings; rich text becomes plain text in _xlsx_text
        )
    except Exception:  # noqa: BLE001  (an untrusted file can fail in many ways inside openpyxl)
        log.info("Could not open %s as a workbook", filename, exc_info=True)
        raise _file_error(f"{filename} is damaged or is not a real Excel workbook") from None
    try:
        sheets = workbook.worksheets
        if not sheets:
            raise _file_error(f"{filename} has no worksheets")
        sheet = sheets[0]
        if len(sheets) > 1:
            warnings.append(
                f'Only the first sheet, "{sheet.title}", was read; the workbook has {len(sheets)} sheets.'
            )
        try:
            total_hint = (sheet.max_row - 1) if sheet.max_row else None
        except Exception:  # noqa: BLE001
            total_hint = None
        # The saved dimensions can be wrong (some tools write "A1"): read every row there is.
        sheet.reset_dimensions()
        values = sheet.iter_rows(values_only=True)
        header = _next_xlsx_row(values, filename, 1)
        if header is None or not any(_xlsx_text(value) for value in header):
            raise _file_error(f"{filename} is empty: its first sheet has nothing on line 1")
        columns = _check_header((_xlsx_text(value) for value in header), filename, warnings)
    except BaseException:
        workbook.close()
        raise

    def rows() -> Iterator[tuple[int, Row]]:
        try:
            line = 1
            while True:
                line += 1
                cells = _next_xlsx_row(values, filename, line)
                if cells is None:
                    return
                if not any(_xlsx_text(value).strip() for value in cells):
                    continue
                yield (
                    line,
                    {
                        column: _xlsx_value(value)
                        for column, value in zip(columns, cells, strict=False)
                        if column
                    },
                )
        finally:
            workbook.close()

    return ImportFile(filename, rows(), warnings=warnings, total_hint=total_hint)


def _next_xlsx_row(values: Iterator[tuple[Any, ...]], filename: str, line: int) -> tuple[Any, ...] | None:
    try:
        return next(values)
    except StopIteration:
        return None
    except Exception:  # noqa: BLE001
        log.info("Could not read line %d of %s", line, filename, exc_info=True)
        raise ImportFailed(
            [RowError(line, None, "could not be read: the workbook is damaged from here on")],
            message=f"Nothing was imported: {filename} is damaged at line {line}",
        ) from None


def _xlsx_value(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date):
        return value
    return _xlsx_text(value)


def _xlsx_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    return str(value)


# Checking rows


def parse_submitted_at(value: Any, now: dt.datetime) -> dt.datetime:
    """A moment from an ISO date or date-time, a UK dd/mm/yyyy date (with an optional time), or a
    spreadsheet date; times without a zone are London time. Empty means now. Raises ValueError with the
    reason, worded to follow the column name."""
    if isinstance(value, dt.datetime):
        moment = value
    elif isinstance(value, dt.date):
        moment = dt.datetime.combine(value, dt.time.min)
    else:
        text = clean_text(value)
        if not text:
            return now
        shown = _shown(text)
        match = _UK_DATE.match(text)
        if match:
            day, month, year, hour, minute, second = (int(part) if part else 0 for part in match.groups())
            try:
                moment = dt.datetime(year, month, day, hour, minute, second)
            except ValueError:
                raise ValueError(
                    f"{shown} is not a real date (dates are day/month/year, like 31/03/2026)"
                ) from None
        else:
            try:
                moment = dt.datetime.fromisoformat(text)
            except ValueError:
                raise ValueError(
                    f"{shown} is not a date: use a date like 31/03/2026 or 2026-03-31, optionally with a "
                    "time like 14:30"
                ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=LONDON)
    if moment < EARLIEST:
        raise ValueError(f"{_shown(_moment_text(value, moment))} is before 2000")
    if moment > now:
        raise ValueError(f"{_shown(_moment_text(value, moment))} is in the future")
    return moment.astimezone(dt.UTC)


def _moment_text(value: Any, moment: dt.datetime) -> str:
    return clean_text(value) if isinstance(value, str) else moment.strftime("%d/%m/%Y %H:%M")


def _shown(value: str, limit: int = 60) -> str:
    text = " ".join(value.split())
    return f'"{text[:limit]}…"' if len(text) > limit else f'"{text}"'


def team_slug(value: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", value).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")[:60].strip("-")


@dataclasses.dataclass
class _CleanRow:
    line: int
    number: int | None  # the id a given ref asks for
    values: dict[str, Any]
    team_slug: str | None


class _RowChecker:
    def __init__(self, vocabularies: Vocabularies, teams: list[Team], now: dt.datetime) -> None:
        self.vocabularies = vocabularies
        self.now = now
        self.team_slugs = {team.slug for team in teams}
        self.team_keys: dict[str, str] = {}
        for team in teams:
            self.team_keys[team.slug.lower()] = team.slug
            self.team_keys.setdefault(team.name.lower(), team.slug)
        self.new_teams: dict[str, str] = {}  # slug -> name, in the order first seen
        self.ref_lines: dict[int, int] = {}
        self._resolved: dict[tuple[str, str], str | None] = {}
        self._valid = {
            field: ", ".join(vocabularies.options(field))
            for field in ("module", "kind", "impact", "frequency")
        }

    def check(self, line: int, row: Row) -> tuple[_CleanRow | None, list[RowError]]:
        problems: list[RowError] = []

        def problem(field: str | None, message: str) -> None:
            problems.append(RowError(line, field, message))

        if row.get(None):
            problem(
                None,
                "has more values than the first line has column names; is a value with a comma in it "
                "missing its quotes?",
            )
        values: dict[str, Any] = {}
        body = self._text(row, "body")
        if not body:
            problem("body", "is empty: every row needs a description of what happened")
        elif len(body) > BODY_MAX:
            problem("body", f"is {len(body):,} characters long; the most allowed is {BODY_MAX:,}")
        values["body"] = body
        title = " ".join(self._text(row, "title").split())
        if len(title) > TITLE_MAX:
            problem("title", f"is {len(title):,} characters long; the most allowed is {TITLE_MAX}")
        values["title"] = title or None

        for field in ("module", "kind", "impact", "frequency"):
            raw = self._text(row, field)
            if not raw:
                if field != "frequency":
                    problem(field, f"is empty; use one of: {self._valid[field]}")
                values[field] = None
                continue
            key = (field, raw.lower())
            if key not in self._resolved:
                self._resolved[key] = self.vocabularies.resolve(field, raw)
            slug = self._resolved[key]
            if slug is None:
                problem(
                    field,
                    f"{_shown(raw)} is not a {VOCABULARY_NOUNS[field]} the portal knows; use one of: "
                    f"{self._valid[field]} (or the same choices as worded on the feedback form)",
                )
            values[field] = slug

        number = None
        raw_ref = self._text(row, "ref")
        if raw_ref:
            match = _REF.match(raw_ref.replace(" ", ""))
            if not match:
                problem(
                    "ref",
                    f"{_shown(raw_ref)} is not a feedback reference; use FB- and a number, like "
                    "FB-000123, or leave it empty",
                )
            elif not 1 <= int(match.group(1)) <= MAX_REF_NUMBER:
                problem("ref", f"{_shown(raw_ref)} is not a feedback reference: its number is out of range")
            else:
                number = int(match.group(1))
                first = self.ref_lines.setdefault(number, line)
                if first != line:
                    problem("ref", f"{format_ref(number)} is also on line {first}; each ref can be used once")

        slug = None
        raw_team = " ".join(self._text(row, "team").split())
        if raw_team:
            slug = self._team(raw_team, problem)

        try:
            values["submitted_at"] = parse_submitted_at(row.get("submitted_at"), self.now)
        except ValueError as error:
            problem("submitted_at", str(error))
        if problems:
            return None, problems
        return _CleanRow(line, number, values, slug), []

    @staticmethod
    def _text(row: Row, field: str) -> str:
        value = row.get(field)
        if isinstance(value, dt.datetime | dt.date):
            value = value.isoformat()
        return clean_text(value)

    def _team(self, raw: str, problem: Callable[[str | None, str], None]) -> str | None:
        known = self.team_keys.get(raw.lower())
        if known:
            return known
        slug = team_slug(raw)
        if not slug:
            problem("team", f"{_shown(raw)} is not a team name: it has no letters or numbers")
            return None
        if len(raw) > 120:
            problem("team", f"{_shown(raw)} is {len(raw)} characters long; a team name can have at most 120")
            return None
        if slug in self.team_slugs:
            return slug
        if slug not in self.new_teams:
            self.new_teams[slug] = slug.replace("-", " ").title() if raw == slug else raw
        return slug


# Saving


@dataclasses.dataclass
class ImportSummary:
    created: int
    refs: list[str]
    new_teams: list[str]
    warnings: list[str]
    audit_event_id: int | None = None


class ImportService:
    def __init__(self, session: orm.Session) -> None:
        self.session = session

    def import_rows(
        self,
        rows: Iterable[tuple[int, Row]],
        progress: Progress | None = None,
        *,
        actor_id: int | None = None,
        source: str | None = None,
    ) -> ImportSummary:
        """Check every row, then save them all in one transaction; or raise ImportFailed listing every
        problem by line, having saved nothing. `rows` is usually read_rows(...); its warnings are passed
        on."""
        report = progress or (lambda stage, done, total: None)
        total = getattr(rows, "total_hint", None)
        checker = _RowChecker(
            Vocabularies(self.session), list(self.session.scalars(sa.select(Team))), utcnow()
        )
        clean: list[_CleanRow] = []
        problems: list[RowError] = []
        count = 0
        report("check", 0, total)
        for count, (line, row) in enumerate(rows, start=1):
            row_clean, row_problems = checker.check(line, row)
            if row_clean is not None:
                clean.append(row_clean)
            problems.extend(row_problems)
            if count % 500 == 0:
                report("check", count, max(total, count) if total else None)
        report("check", count, count)
        if count == 0:
            raise _file_error("The file has no feedback in it: there is nothing under the column names")
        problems.extend(self._refs_in_use(clean))
        if problems:
            problems.sort(key=lambda problem: problem.line or 0)
            raise ImportFailed(problems)
        warnings = list(getattr(rows, "warnings", []))
        return self._save(clean, checker.new_teams, warnings, report, actor_id=actor_id, source=source)

    def _refs_in_use(self, rows: list[_CleanRow]) -> list[RowError]:
        wanted = {row.number: row.line for row in rows if row.number is not None}
        numbers = list(wanted)
        problems = []
        for start in range(0, len(numbers), 500):
            chunk = numbers[start : start + 500]
            refs = [format_ref(number) for number in chunk]
            taken = self.session.execute(
                sa.select(Feedback.id, Feedback.ref).where(
                    sa.or_(Feedback.id.in_(chunk), Feedback.ref.in_(refs))
                )
            )
            for feedback_id, ref in taken:
                number = feedback_id if feedback_id in wanted else int(_REF.match(ref).group(1))
                problems.append(
                    RowError(wanted[number], "ref", f"{format_ref(number)} is already in the portal")
                )
        return problems

    def _save(
        self,
        rows: list[_CleanRow],
        new_teams: dict[str, str],
        warnings: list[str],
        report: Progress,
        *,
        actor_id: int | None,
        source: str | None,
    ) -> ImportSummary:
        table = Feedback.__table__
        total = len(rows)
        begin_write(self.session)
        try:
            # Someone may have added feedback with one of these refs while we were checking.
            clashes = self._refs_in_use(rows)
            if clashes:
                raise ImportFailed(clashes)
            team_ids: dict[str, int] = dict(self.session.execute(sa.select(Team.slug, Team.id)).all())
            created_teams = []
            for slug, name in new_teams.items():
                if slug not in team_ids:
                    team = Team(slug=slug, name=name)
                    self.session.add(team)
                    created_teams.append(team)
            self.session.flush()
            team_ids.update({team.slug: team.id for team in created_teams})

            def record(row: _CleanRow) -> dict[str, Any]:
                return {
                    **row.values,
                    "team_id": team_ids[row.team_slug] if row.team_slug else None,
                    "anonymity": Anonymity.ANONYMOUS.value,
                    "submitter_id": None,
                    "status": FeedbackStatus.RECEIVED.value,
                }

            # A given ref keeps its number as the id; the other rows get ids from the database's own
            # numbering, taken after every given number so later feedback never collides with them.
            given = [row.number for row in rows if row.number is not None]
            new_ids = iter(self._allocate_ids(len(rows) - len(given), after=max(given, default=0)))
            ids = [row.number if row.number is not None else next(new_ids) for row in rows]
            report("save", 0, total)
            for start in range(0, total, INSERT_BATCH):
                batch = zip(
                    rows[start : start + INSERT_BATCH], ids[start : start + INSERT_BATCH], strict=True
                )
                self.session.execute(
                    sa.insert(table),
                    [
                        {**record(row), "id": feedback_id, "ref": format_ref(feedback_id)}
                        for row, feedback_id in batch
                    ],
                )
                report("save", min(start + INSERT_BATCH, total), total)
            changelog.record(self.session, "feedback", ids)
            refs = [format_ref(feedback_id) for feedback_id in ids]
            team_names = [f"{team.name} ({team.slug})" for team in created_teams]
            event = audit.record(
                self.session,
                actor_id=actor_id,
                action="feedback.imported",
                record_type="import",
                record_ref=(source or "file")[:30],
                after={
                    "file": source,
                    "created": len(refs),
                    "first_ref": min(refs, key=_ref_number),
                    "last_ref": max(refs, key=_ref_number),
                    "new_teams": team_names,
                    "warnings": warnings,
                },
            )
            self.session.flush()
            event_id = event.id
            self.session.commit()
        except exc.IntegrityError:
            self.session.rollback()
            log.warning("Import refused by the database", exc_info=True)
            raise _file_error(
                "The database refused the import, perhaps because someone added feedback with one of its "
                "refs at the same moment. Nothing was imported: try again."
            ) from None
        except BaseException:
            self.session.rollback()
            raise
        return ImportSummary(
            created=len(refs), refs=refs, new_teams=team_names, warnings=warnings, audit_event_id=event_id
        )

    def _allocate_ids(self, count: int, *, after: int) -> list[int]:
        """Ids for new feedback, all greater than `after` and than every id in use.

        PostgreSQL: the id sequence is first moved past `after` and every id (never backwards), then
        asked for `count` numbers, so feedback given through the form afterwards carries on from there.
        SQLite: the next ids after the largest, as SQLite itself would number them; begin_write holds
        the write lock, so nobody else can take them meanwhile."""
        if self.session.get_bind().dialect.name == "postgresql":
            sequence = "pg_get_serial_sequence('feedback', 'id')"
            highest = (
                f"GREATEST(:after, (SELECT COALESCE(MAX(id), 0) FROM feedback), "
                f"COALESCE(pg_sequence_last_value({sequence}::regclass), 0))"
            )
            # is_called=false when nothing was ever numbered, so an empty table still starts at 1.
            self.session.execute(
                sa.text(f"SELECT setval({sequence}, GREATEST({highest}, 1), {highest} > 0)"), {"after": after}
            )
            if not count:
                return []
            return sorted(
                self.session.scalars(
                    sa.text(f"SELECT nextval({sequence}) FROM generate_series(1, :count)"), {"count": count}
                )
            )
        largest = self.session.scalar(sa.select(sa.func.max(Feedback.id))) or 0
        first = max(largest, after) + 1
        return list(range(first, first + count))


def _ref_number(ref: str) -> int:
    return int(ref.split("-", 1)[1])
