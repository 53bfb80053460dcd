"""Suggested groups of untriaged feedback, and the issue each new feedback most likely belongs to."""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy import orm

from feedback_portal.feedback.models import Feedback
from feedback_portal.feedback.vocabulary import FeedbackStatus
from feedback_portal.indexing.models import IndexChange
from feedback_portal.issues.models import Issue, IssueStatus
from feedback_portal.search import grouping

# Below this an issue suggestion is more noise than help.
MIN_CONFIDENCE = 0.25
CLOSED_STATUSES = {IssueStatus.CLOSED, IssueStatus.WONT_FIX}
_cache_lock = threading.Lock()
_cache: dict[str, tuple[int, object]] = {}


@dataclasses.dataclass(frozen=True)
class SuggestedGroup:
    feedback: list[Feedback]

    @property
    def suggested_title(self) -> str:
        titled = [item.title for item in self.feedback if item.title]
        if titled:
            return min(titled, key=len)
        return self.feedback[0].body.split("\n")[0][:80]


@dataclasses.dataclass(frozen=True)
class IssueSuggestion:
    feedback: Feedback
    issue: Issue
    confidence: float

    @property
    def percent(self) -> int:
        return round(self.confidence * 100)


def _item(feedback: Feedback) -> grouping.ItemText:
    return grouping.ItemText(
        ref=feedback.ref, title=feedback.title, body=feedback.body, module=feedback.module,
        team=feedback.team.slug if feedback.team else None,
    )


class GroupingService:
    def __init__(self, session: orm.Session) -> None:
        self.session = session

    def untriaged(self, limit: int = 2000) -> list[Feedback]:
        return list(
            self.session.scalars(
                sa.select(Feedback)
                .options(orm.lazyload(Feedback.attachments), orm.lazyload(Feedback.comments))
                .where(Feedback.issue_id.is_(None), Feedback.status == FeedbackStatus.RECEIVED)
                .order_by(Feedback.submitted_at, Feedback.id)
                .limit(limit)
            )
        )

    def _data_version(self) -> int:
        # The change log's head moves on every change to feedback or issues: a free cache key.
        return self.session.scalar(sa.select(sa.func.max(IndexChange.id))) or 0

    def _cached(self, key: str, compute):  # noqa: ANN001, ANN202
        version = self._data_version()
        with _cache_lock:
            hit = _cache.get(key)
            if hit and hit[0] == version:
                return hit[1]
        value = compute()
        with _cache_lock:
            _cache[key] = (version, value)
        return value

    def suggested_groups(self, untriaged: Sequence[Feedback] | None = None) -> list[SuggestedGroup]:
        items = list(untriaged if untriaged is not None else self.untriaged())
        by_ref = {item.ref: item for item in items}
        refs = self._cached(
            "clusters:" + ",".join(sorted(by_ref)),
            lambda: grouping.cluster([_item(item) for item in items]),
        )
        return [SuggestedGroup([by_ref[ref] for ref in group if ref in by_ref]) for group in refs]

    def cluster_refs(self) -> list[list[str]]:
        return [[item.ref for item in group.feedback] for group in self.suggested_groups()]

    def open_issues(self) -> list[Issue]:
        return list(
            self.session.scalars(
                sa.select(Issue).where(Issue.merged_into_id.is_(None), Issue.status.not_in(CLOSED_STATUSES))
            )
        )

    def _issue_texts(self) -> tuple[list[grouping.IssueText], dict[str, Issue]]:
        issues = self.open_issues()
        members: dict[int, list[grouping.ItemText]] = {}
        if issues:
            rows = self.session.scalars(
                sa.select(Feedback)
                .options(orm.lazyload(Feedback.attachments), orm.lazyload(Feedback.comments))
                .where(Feedback.issue_id.in_([issue.id for issue in issues]))
            )
            for row in rows:
                members.setdefault(row.issue_id, []).append(_item(row))
        texts = [
            grouping.IssueText(
                ref=issue.ref, title=issue.title, body=issue.summary or "", members=tuple(members.get(issue.id, ()))
            )
            for issue in issues
        ]
        return texts, {issue.ref: issue for issue in issues}

    def issue_suggestions(
        self, untriaged: Sequence[Feedback] | None = None, *, per_item: int = 1
    ) -> list[IssueSuggestion]:
        """For each untriaged feedback, the open issues it most likely belongs to (if any is likely)."""
        items = list(untriaged if untriaged is not None else self.untriaged())
        texts, by_ref = self._issue_texts()
        if not texts or not items:
            return []
        suggestions = []
        for item in items:
            for issue_ref, confidence in grouping.suggest_issue(_item(item), texts, limit=per_item):
                if confidence >= MIN_CONFIDENCE:
                    suggestions.append(IssueSuggestion(item, by_ref[issue_ref], confidence))
        return suggestions

    def suggestions_for(self, feedback: Feedback, limit: int = 3) -> list[IssueSuggestion]:
        """The likeliest issues for one feedback, for its page and the API."""
        return self.issue_suggestions([feedback], per_item=limit)
