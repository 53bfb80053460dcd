"""Searching for the web layer: the index when it is healthy, the database while it is rebuilt."""

from __future__ import annotations

import dataclasses
import logging
import math
import struct
import zlib
from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa
import whoosh.index
from sqlalchemy import orm

from feedback_portal.accounts.models import User
from feedback_portal.db import begin_write
from feedback_portal.errors import NotFound, ValidationFailed
from feedback_portal.feedback.models import Feedback
from feedback_portal.feedback.services import clean_text
from feedback_portal.indexing.indexer import IndexStore, IndexUnavailable
from feedback_portal.indexing.models import SavedSearch
from feedback_portal.issues.models import Issue
from feedback_portal.search.engine import Hit, QueryError

log = logging.getLogger("feedback_portal.search")
QUERY_MAX = 500
PAGE_SIZE = 20
FILTER_FIELDS = ("module", "team", "status", "kind", "doc_kind")
# What reading a truncated, garbled or vanished segment raises. A TypeError or AttributeError is a bug in
# our code: rebuilding the index would not fix it, so it must not cost a 70 s rebuild.
INDEX_DAMAGE = (
    OSError, EOFError, struct.error, zlib.error, ValueError, IndexError, KeyError, whoosh.index.IndexError,
)


@dataclasses.dataclass
class Result:
    """One search hit with its database record (None if it vanished since it was indexed)."""

    hit: Hit
    feedback: Feedback | None = None
    issue: Issue | None = None


@dataclasses.dataclass
class SearchPage:
    query: str
    results: list[Result]
    total: int
    page: int
    pages: int
    facets: dict[str, dict[str, int]]
    notices: list[str]
    degraded: bool = False


class SearchService:
    def __init__(self, session: orm.Session, store: IndexStore) -> None:
        self.session = session
        self.store = store

    def search(
        self,
        viewer: User,
        query: str,
        *,
        filters: Mapping[str, str] | None = None,
        sort: str = "relevance",
        page: int = 1,
        size: int = PAGE_SIZE,
    ) -> SearchPage:
        query = (query or "").strip()
        if len(query) > QUERY_MAX:
            raise ValidationFailed({"q": f"Search for {QUERY_MAX} characters or fewer (you typed {len(query):,})"})
        filters = {key: value for key, value in (filters or {}).items() if value and key in FILTER_FIELDS}
        try:
            index = self.store.open()
            found = index.search(
                query, limit=size, page=page, filters=filters, sort=sort, include_restricted=viewer.is_triage
            )
        except QueryError as error:
            raise ValidationFailed({"q": str(error)}) from None
        except IndexUnavailable as reason:
            log.warning("Searching the database while the index is unavailable: %s", reason)
            return self._database_search(query, filters, page, size, include_restricted=viewer.is_triage)
        except INDEX_DAMAGE:  # a corrupt or missing segment: drop this generation so the indexer rebuilds it
            log.exception("The search index is damaged; it will be rebuilt")
            self.store.discard()
            return self._database_search(query, filters, page, size, include_restricted=viewer.is_triage)
        except Exception:  # anything else is a bug in the search code, not damage: keep the index
            log.exception("Searching the index failed; answering from the database")
            return self._database_search(query, filters, page, size, include_restricted=viewer.is_triage)
        return SearchPage(
            query=query,
            results=self._with_records(found.hits),
            total=found.total,
            page=found.page,
            pages=max(1, found.pagecount),
            facets=found.facets,
            notices=list(found.notices),
        )

    # Saved searches

    def saved_searches(self, user: User) -> list[SavedSearch]:
        return list(
            self.session.scalars(
                sa.select(SavedSearch).where(SavedSearch.user_id == user.id).order_by(SavedSearch.name)
            )
        )

    def save_search(self, user: User, name: str, query_string: str) -> SavedSearch:
        name = clean_text(name)
        if not name:
            raise ValidationFailed({"name": "Give the search a name"})
        if len(name) > 100:
            raise ValidationFailed({"name": "The name must be 100 characters or fewer"})
        begin_write(self.session)
        saved = SavedSearch(user_id=user.id, name=name, query_string=clean_text(query_string)[:2000])
        self.session.add(saved)
        self.session.commit()
        return saved

    def delete_saved_search(self, user: User, saved_id: int) -> None:
        begin_write(self.session)
        saved = self.session.get(SavedSearch, saved_id)
        if saved is None or saved.user_id != user.id:
            raise NotFound("There is no such saved search")
        self.session.delete(saved)
        self.session.commit()

    def similar(self, text: str, *, limit: int = 5, exclude_refs: Sequence[str] = ()) -> list[Result]:
        """Feedback and issues that say much the same, for "someone already said this"."""
        text = (text or "").strip()[:QUERY_MAX * 4]
        if len(text) < 12:
            return []
        try:
            hits = self.store.open().similar(text, limit=limit, exclude_refs=exclude_refs)
        except IndexUnavailable:
            return []
        return [result for result in self._with_records(hits) if result.feedback or result.issue]

    def _with_records(self, hits: Sequence[Hit]) -> list[Result]:
        feedback_refs = [hit.ref for hit in hits if hit.doc_kind == "feedback"]
        issue_refs = [hit.ref for hit in hits if hit.doc_kind == "issue"]
        feedback = {
            row.ref: row
            for row in self.session.scalars(
                sa.select(Feedback)
                .options(orm.lazyload(Feedback.attachments), orm.lazyload(Feedback.comments))
                .where(Feedback.ref.in_(feedback_refs))
            )
        } if feedback_refs else {}
        issues = {
            row.ref: row for row in self.session.scalars(sa.select(Issue).where(Issue.ref.in_(issue_refs)))
        } if issue_refs else {}
        return [Result(hit=hit, feedback=feedback.get(hit.ref), issue=issues.get(hit.ref)) for hit in hits]

    def _database_search(
        self, query: str, filters: Mapping[str, str], page: int, size: int, *, include_restricted: bool = False
    ) -> SearchPage:
        """A plain substring search over feedback, so search keeps answering during a rebuild."""
        conditions: list[Any] = []
        if not include_restricted:  # as the index does: restricted and held feedback for business support only
            conditions.append(sa.and_(Feedback.restricted.is_(False), Feedback.held.is_(False)))
        words = [word for word in query.split() if ":" not in word][:8]
        for word in words:
            pattern = f"%{word.strip(chr(34))}%"
            conditions.append(sa.or_(Feedback.title.ilike(pattern), Feedback.body.ilike(pattern)))
        for field in ("module", "status", "kind"):
            if filters.get(field):
                conditions.append(getattr(Feedback, field) == filters[field])
        total = self.session.scalar(sa.select(sa.func.count(Feedback.id)).where(*conditions)) or 0
        rows = list(
            self.session.scalars(
                sa.select(Feedback)
                .options(orm.lazyload(Feedback.attachments), orm.lazyload(Feedback.comments))
                .where(*conditions)
                .order_by(Feedback.submitted_at.desc())
                .limit(size)
                .offset((max(1, page) - 1) * size)
            )
        )
        results = [
            Result(hit=Hit(ref=row.ref, doc_kind="feedback", score=0.0, rank=n), feedback=row)
            for n, row in enumerate(rows, start=(max(1, page) - 1) * size + 1)
        ]
        return SearchPage(
            query=query,
            results=results,
            total=total,
            page=page,
            pages=max(1, math.ceil(total / size)),
            facets={},
            notices=["Search is being rebuilt: for now these are simple word matches, newest first."],
            degraded=True,
        )
