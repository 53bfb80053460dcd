"""The supplier export: issues with their evidence, as CSV or Excel, with the /issues page's filters applied.

One row per issue (counts of feedback, people and "me too"s, teams, first and last feedback, and three
representative quotes), and the linked feedback on a second sheet (Excel) or in its own CSV (`part=feedback`).
Quotes and feedback text are what business support may share: held feedback only with each flagged piece
replaced by its placeholder, safeguarding (restricted) feedback never quoted, and no submitter identity at
all. Cells that a spreadsheet would run as a formula are neutralised with feedback/exporting.py's rules.
"""

from __future__ import annotations

import collections
import csv
import datetime as dt
import io
from collections.abc import Iterable, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy import orm

from feedback_portal.accounts.models import Team, User
from feedback_portal.audit import models as audit
from feedback_portal.db import begin_write
from feedback_portal.errors import ValidationFailed
from feedback_portal.feedback.exporting import csv_safe
from feedback_portal.feedback.models import Feedback
from feedback_portal.feedback.privacy import redacted_snapshot
from feedback_portal.feedback.services import Vocabularies
from feedback_portal.issues.models import Issue, IssueStatus
from feedback_portal.issues.services import _tally

ISSUE_COLUMNS = (
    "ref",
    "title",
    "summary",
    "module",
    "severity",
    "status",
    "reason",
    "owner",
    "supplier_ref",
    "target_release",
    "feedback_count",
    "contributors",
    "me_toos",
    "teams",
    "first_feedback",
    "last_feedback",
    "quote_1",
    "quote_2",
    "quote_3",
)
FEEDBACK_COLUMNS = (
    "issue_ref",
    "feedback_ref",
    "title",
    "text",
    "module",
    "kind",
    "impact",
    "team",
    "submitted_on",
)
QUOTE_MAX = 300
WITHHELD = "[withheld: safeguarding]"
IMPACT_ORDER = {"blocks-work": 0, "workaround": 1, "minor": 2}


def shareable_text(feedback: Feedback) -> tuple[str | None, str]:
    """(title, body) as a supplier may read them: held pieces replaced; safeguarding feedback withheld."""
    if feedback.restricted:
        return None, WITHHELD
    if feedback.held and feedback.personal_data:
        snapshot = redacted_snapshot(feedback.title, feedback.body, feedback.personal_data)
        return snapshot["title"], snapshot["body"]
    return feedback.title, feedback.body


def _quote(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= QUOTE_MAX else flat[: QUOTE_MAX - 1].rsplit(" ", 1)[0] + "…"


def representative_quotes(feedback: Sequence[Feedback], count: int = 3) -> list[str]:
    """Up to `count` quotes: the most severe impact first, then the newest; never safeguarding feedback, and
    never the same words twice."""
    ranked = sorted(
        (item for item in feedback if not item.restricted),
        key=lambda item: (IMPACT_ORDER.get(item.impact, 9), -item.submitted_at.timestamp(), -item.id),
    )
    quotes: list[str] = []
    for item in ranked:
        quote = _quote(shareable_text(item)[1])
        if quote and quote not in quotes:
            quotes.append(quote)
        if len(quotes) == count:
            break
    return quotes


class SupplierExport:
    def __init__(self, session: orm.Session) -> None:
        self.session = session
        self.vocabularies = Vocabularies(session)

    def issues(self, status: str = "", module: str = "") -> list[Issue]:
        errors: dict[str, str] = {}
        conditions: list[Any] = [Issue.merged_into_id.is_(None)]
        if status:
            if status not in {s.value for s in IssueStatus}:
                errors["status"] = "Choose a status from the list"
            conditions.append(Issue.status == status)
        if module:
            slug = self.vocabularies.resolve("module", module)
            if slug is None:
                errors["module"] = "Choose the part of the CMS from the list"
            conditions.append(Issue.module == slug)
        if errors:  # a download has no form to show the message beside: the error page says it
            raise ValidationFailed(errors, message=" ".join(f"{message}." for message in errors.values()))
        return list(
            self.session.scalars(
                sa.select(Issue).where(*conditions).order_by(Issue.created_at.desc(), Issue.id.desc())
            ).unique()
        )

    def _feedback_of(self, issues: Sequence[Issue]) -> dict[int, list[Feedback]]:
        grouped: dict[int, list[Feedback]] = collections.defaultdict(list)
        if not issues:
            return grouped
        rows = self.session.scalars(
            sa.select(Feedback)
            .options(
                orm.lazyload(Feedback.attachments),
                orm.lazyload(Feedback.comments),
                orm.lazyload(Feedback.submitter),
            )
            .where(Feedback.issue_id.in_([issue.id for issue in issues]))
            .order_by(Feedback.submitted_at, Feedback.id)
        ).unique()
        for row in rows:
            grouped[row.issue_id].append(row)
        return grouped

    def rows(self, issues: Sequence[Issue]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """The issue rows and the linked-feedback rows, as plain values."""
        from feedback_portal.issues.services import IssueService

        service = IssueService(self.session)
        feedback_rows, me_too_rows = service._rows([issue.id for issue in issues])
        team_names = {row.id: row.name for row in self.session.execute(sa.select(Team.id, Team.name))}
        linked = self._feedback_of(issues)
        issue_rows, evidence_rows = [], []
        for issue in issues:
            tally = _tally(
                [row for row in feedback_rows if row.issue_id == issue.id],
                [row for row in me_too_rows if row.issue_id == issue.id],
            )
            teams = collections.Counter(
                team_names.get(team_id, "Team not given") for team_id, _, _ in tally.voices
            )
            items = linked.get(issue.id, [])
            dates = [item.submitted_at for item in items]
            quotes = representative_quotes(items)
            issue_rows.append(
                {
                    "ref": issue.ref,
                    "title": issue.title,
                    "summary": issue.summary,
                    "module": self.vocabularies.label("module", issue.module),
                    "severity": issue.severity_label,
                    "status": issue.status_label,
                    "reason": issue.status_reason,
                    "owner": issue.owner.name if issue.owner else None,
                    "supplier_ref": issue.supplier_ref,
                    "target_release": issue.target_release,
                    "feedback_count": tally.feedback,
                    "contributors": tally.contributors,
                    "me_toos": tally.me_toos,
                    "teams": "; ".join(
                        f"{name} ({number})"
                        for name, number in sorted(teams.items(), key=lambda pair: (-pair[1], pair[0]))
                    ),
                    "first_feedback": _day(min(dates)) if dates else None,
                    "last_feedback": _day(max(dates)) if dates else None,
                    **{f"quote_{n}": quotes[n - 1] if len(quotes) >= n else None for n in (1, 2, 3)},
                }
            )
            for item in items:
                title, body = shareable_text(item)
                evidence_rows.append(
                    {
                        "issue_ref": issue.ref,
                        "feedback_ref": item.ref,
                        "title": title,
                        "text": body,
                        "module": self.vocabularies.label("module", item.module),
                        "kind": self.vocabularies.label("kind", item.kind),
                        "impact": self.vocabularies.label("impact", item.impact),
                        "team": item.team.name if item.team else None,
                        "submitted_on": _day(item.submitted_at),
                    }
                )
        return issue_rows, evidence_rows

    def record(self, actor: User, fmt: str, filters: dict[str, str], issues: int) -> None:
        """An export leaves the portal: who took what is audited."""
        begin_write(self.session)
        try:
            audit.record(
                self.session,
                actor_id=actor.id,
                action="issues.exported",
                record_type="export",
                record_ref=f"issues.{fmt}",
                after={"filters": filters, "issues": issues},
            )
            self.session.commit()
        except BaseException:
            self.session.rollback()
            raise


def _day(moment: dt.datetime) -> str:
    return moment.date().isoformat()


def to_csv(rows: Iterable[dict[str, Any]], columns: Sequence[str]) -> bytes:
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer)
    writer.writerow(columns)
    for row in rows:
        writer.writerow([csv_safe(row.get(column)) for column in columns])
    # With a byte order mark, so Excel shows accents and curly quotes correctly (as feedback/exporting.py).
    return buffer.getvalue().encode("utf-8-sig")


def to_xlsx(issue_rows: Sequence[dict[str, Any]], feedback_rows: Sequence[dict[str, Any]]) -> bytes:
    import openpyxl
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    workbook = openpyxl.Workbook(write_only=True)

    def sheet(title: str, columns: Sequence[str], rows: Sequence[dict[str, Any]]) -> None:
        worksheet = workbook.create_sheet(title)
        worksheet.freeze_panes = "A2"
        worksheet.append(list(columns))

        def cell(value: object) -> object:
            if value is None or isinstance(value, int):
                return value
            item = WriteOnlyCell(worksheet, value=ILLEGAL_CHARACTERS_RE.sub("", str(value)))
            item.data_type = "s"  # text, never a formula (feedback/exporting.py does the same)
            return item

        for row in rows:
            worksheet.append([cell(row.get(column)) for column in columns])

    sheet("Issues", ISSUE_COLUMNS, issue_rows)
    sheet("Feedback", FEEDBACK_COLUMNS, feedback_rows)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
