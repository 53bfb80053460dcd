"""Admins extend the abbreviations and synonyms list; every process picks up the change.

The lines live in the database. Each process compares the newest line it has applied with the
newest in the database (every indexer tick) and registers the extended list for its analyzer;
the index then reports `needs_rebuild`, and the indexer rebuilds it while search keeps answering.
"""

from __future__ import annotations

import threading

import sqlalchemy as sa
from sqlalchemy import orm

from feedback_portal.accounts.models import User
from feedback_portal.db import begin_write
from feedback_portal.errors import ValidationFailed
from feedback_portal.indexing.models import SynonymLine
from feedback_portal.search import analysis

_applied_lock = threading.Lock()
_applied_state: tuple[int, int] | None = None


def extra_lines(session: orm.Session) -> list[SynonymLine]:
    return list(session.scalars(sa.select(SynonymLine).order_by(SynonymLine.id)))


def sync(session: orm.Session) -> bool:
    """Register the default list plus the admins' lines, if they changed. Returns True if it did."""
    global _applied_state
    state = session.execute(sa.select(sa.func.count(SynonymLine.id), sa.func.max(SynonymLine.id))).one()
    state = (state[0] or 0, state[1] or 0)
    with _applied_lock:
        if state == _applied_state:
            return False
        lines = [row.line for row in extra_lines(session)]
        synonyms = analysis.Synonyms.default()
        if lines:
            synonyms = synonyms.extend(lines)
        analysis.set_synonyms(synonyms)
        _applied_state = state
        return True


class SynonymService:
    def __init__(self, session: orm.Session) -> None:
        self.session = session

    def lines(self) -> list[SynonymLine]:
        return extra_lines(self.session)

    def add(self, line: str, actor: User) -> SynonymLine:
        text = " ".join((line or "").split())
        if not text:
            raise ValidationFailed({"line": "Enter a line like: cme, child missing education"})
        if len(text) > 500:
            raise ValidationFailed({"line": "A line must be 500 characters or fewer"})
        try:
            analysis.Synonyms.default().extend([text])
        except analysis.SynonymError as error:
            raise ValidationFailed({"line": str(error)}) from None
        begin_write(self.session)
        row = SynonymLine(line=text, created_by_id=actor.id)
        self.session.add(row)
        self.session.commit()
        return row

    def remove(self, line_id: int) -> None:
        begin_write(self.session)
        row = self.session.get(SynonymLine, line_id)
        if row is not None:
            self.session.delete(row)
        self.session.commit()
