"""Search documents built from the database. No submitter identity is ever put in a document."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import sqlalchemy as sa
from sqlalchemy import orm

from feedback_portal.feedback.models import Comment, Feedback
from feedback_portal.issues.models import Issue

BATCH = 500


def feedback_document(feedback: Feedback, replies: list[str]) -> dict[str, Any]:
    return {
        "ref": feedback.ref,
        "doc_kind": "feedback",
        "title": feedback.title or "",
        "body": feedback.body,
        "module": feedback.module,
        "team": feedback.team.slug if feedback.team else "",
        "status": feedback.status,
        "kind": feedback.kind,
        "submitted_at": feedback.submitted_at,
        "issue_ref": feedback.issue.ref if feedback.issue else "",
        # Safeguarding or held for personal data: found only by business support and admins.
        "restricted": bool(feedback.restricted or feedback.held),
        "replies": "\n".join(replies),
    }


def issue_document(issue: Issue, replies: list[str]) -> dict[str, Any]:
    return {
        "ref": issue.ref,
        "doc_kind": "issue",
        "title": issue.title,
        "body": issue.summary or "",
        "module": issue.module or "",
        "team": "",
        "status": issue.status,
        "kind": "",
        "submitted_at": issue.created_at,
        "issue_ref": issue.ref,
        "restricted": False,
        "replies": "\n".join([*(replies), issue.public_response or ""]).strip(),
    }


def _public_replies(session: orm.Session, column: sa.Column, ids: list[int]) -> dict[int, list[str]]:
    replies: dict[int, list[str]] = {}
    rows = session.execute(
        sa.select(column, Comment.body).where(column.in_(ids), Comment.visibility == "public").order_by(Comment.id)
    )
    for owner_id, body in rows:
        replies.setdefault(owner_id, []).append(body)
    return replies


def documents_for(session: orm.Session, record_type: str, ids: Iterable[int]) -> tuple[list[dict[str, Any]], list[str]]:
    """Documents to upsert for these records, and refs to delete (records gone or merged away)."""
    ids = sorted(set(ids))
    if record_type == "feedback":
        rows = list(
            session.scalars(
                sa.select(Feedback)
                .options(orm.lazyload(Feedback.attachments), orm.lazyload(Feedback.comments))
                .where(Feedback.id.in_(ids), Feedback.ref.is_not(None))
            )
        )
        replies = _public_replies(session, Comment.feedback_id, ids)
        return [feedback_document(row, replies.get(row.id, [])) for row in rows], []
    if record_type == "issue":
        rows = list(session.scalars(sa.select(Issue).where(Issue.id.in_(ids), Issue.ref.is_not(None))))
        replies = _public_replies(session, Comment.issue_id, ids)
        live = [row for row in rows if row.merged_into_id is None]
        merged = [row.ref for row in rows if row.merged_into_id is not None]
        return [issue_document(row, replies.get(row.id, [])) for row in live], merged
    raise ValueError(f"unknown record type {record_type!r}")


def all_documents(session: orm.Session) -> Iterator[dict[str, Any]]:
    """Every searchable document, in batches, for a full rebuild."""
    for record_type, model in (("feedback", Feedback), ("issue", Issue)):
        last_id = 0
        while True:
            ids = list(session.scalars(sa.select(model.id).where(model.id > last_id).order_by(model.id).limit(BATCH)))
            if not ids:
                break
            documents, _ = documents_for(session, record_type, ids)
            yield from documents
            last_id = ids[-1]


def count_documents(session: orm.Session) -> int:
    return (session.scalar(sa.select(sa.func.count(Feedback.id))) or 0) + (
        session.scalar(sa.select(sa.func.count(Issue.id)).where(Issue.merged_into_id.is_(None))) or 0
    )
