"""Every flush that touches searchable records appends to the index change log, in the same transaction.

So a committed change can never be missing from the log, and a rolled-back one is never in it.
Bulk Core statements (`session.execute(update(...))`) bypass the ORM: call `record()` for those.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable

import sqlalchemy as sa
from sqlalchemy import event, orm

from feedback_portal.db import utcnow
from feedback_portal.feedback.models import Comment, Feedback
from feedback_portal.indexing.models import IndexChange
from feedback_portal.issues.models import Issue, MeToo


def _changed_records(objects: Iterable[object]) -> set[tuple[str, int]]:
    records: set[tuple[str, int]] = set()
    for obj in objects:
        if isinstance(obj, Feedback) and obj.id is not None:
            records.add(("feedback", obj.id))
        elif isinstance(obj, Issue) and obj.id is not None:
            records.add(("issue", obj.id))
        elif isinstance(obj, Comment | MeToo):
            if obj.feedback_id is not None:
                records.add(("feedback", obj.feedback_id))
            if obj.issue_id is not None:
                records.add(("issue", obj.issue_id))
    return records


def record(session: orm.Session, record_type: str, record_ids: Iterable[int]) -> None:
    rows = [{"record_type": record_type, "record_id": record_id, "changed_at": utcnow()} for record_id in set(record_ids)]
    if rows:
        session.execute(sa.insert(IndexChange), rows)


@event.listens_for(orm.Session, "after_flush")
def _log_flushed_changes(session: orm.Session, flush_context: orm.UOWTransaction) -> None:
    # In after_flush the new/dirty/deleted collections still describe what was just written.
    records = _changed_records(itertools.chain(session.new, session.dirty, session.deleted))
    if records:
        now = utcnow()
        session.connection().execute(
            sa.insert(IndexChange),
            [{"record_type": kind, "record_id": record_id, "changed_at": now} for kind, record_id in sorted(records)],
        )
