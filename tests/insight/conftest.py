"""Hand-built data for the insight tests: feedback, issues and "me too"s written straight to the database, with
the exact times each test needs, so every expected number can be worked out by hand."""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from litestar import Litestar
from sqlalchemy import orm

from feedback_portal import db
from feedback_portal.accounts.models import Team, User
from feedback_portal.feedback.models import Feedback
from feedback_portal.insight.services import Filters, InsightService
from feedback_portal.issues.models import Issue, MeToo

GO_LIVE = dt.date(2026, 3, 2)
_numbers = itertools.count(500_000)


def at(text: str) -> dt.datetime:
    """A UTC time from "2026-03-02 09:00"."""
    return dt.datetime.fromisoformat(text).replace(tzinfo=dt.UTC)


@dataclasses.dataclass
class Builder:
    """Writes records and commits each, like the portal would have over the months."""

    session: orm.Session

    def team(self, slug: str, name: str, people: int) -> Team:
        team = self.session.scalar(sa.select(Team).where(Team.slug == slug))
        if team is None:
            team = Team(slug=slug, name=name)
            self.session.add(team)
            self.session.flush()
        for number in range(people):
            self.session.add(
                User(
                    email=f"{slug}.{number}.{next(_numbers)}@council.example",
                    name=f"Person {number}",
                    role="frontline",
                    team_id=team.id,
                )
            )
        self._commit()
        return team

    def user(self, email: str) -> User:
        return self.session.scalar(sa.select(User).where(User.email == email))

    def feedback(
        self,
        when: str,
        *,
        module: str = "case-notes",
        kind: str = "bug",
        team: Team | None = None,
        issue: Issue | None = None,
        submitter: User | None = None,
        triaged: str | None = None,
        body: str = "The CMS lost my work",
        held: bool = False,
        count: int = 1,
    ) -> list[Feedback]:
        made = []
        for _ in range(count):
            number = next(_numbers)
            item = Feedback(
                ref=f"FB-{number:06d}",
                body=body,
                module=module,
                kind=kind,
                impact="minor",
                anonymity="named" if submitter else "anonymous",
                submitter_id=submitter.id if submitter else None,
                team_id=team.id if team else None,
                issue_id=issue.id if issue else None,
                status="linked" if issue else "received",
                submitted_at=at(when),
                triaged_at=at(triaged) if triaged else None,
                held=held,
            )
            self.session.add(item)
            made.append(item)
        self._commit()
        return made

    def issue(
        self,
        title: str,
        created: str,
        *,
        severity: int | None = None,
        module: str = "case-notes",
        status: str = "new",
        decided: str | None = None,
        fixed: str | None = None,
        resolved: str | None = None,
        merged_into: Issue | None = None,
        status_reason: str | None = None,
        public_response: str | None = None,
        target_release: str | None = None,
    ) -> Issue:
        issue = Issue(
            title=title,
            module=module,
            severity=severity,
            status=status,
            created_at=at(created),
            decided_at=at(decided) if decided else None,
            fixed_at=at(fixed) if fixed else None,
            resolved_at=at(resolved) if resolved else None,
            merged_into_id=merged_into.id if merged_into else None,
            status_reason=status_reason,
            public_response=public_response,
            target_release=target_release,
        )
        self.session.add(issue)
        self.session.flush()
        issue.ref = f"ISS-{issue.id:04d}"
        self._commit()
        return issue

    def me_too(
        self, user: User, when: str, *, issue: Issue | None = None, feedback: Feedback | None = None
    ) -> None:
        self.session.add(
            MeToo(
                user_id=user.id,
                issue_id=issue.id if issue else None,
                feedback_id=feedback.id if feedback else None,
                impact="minor",
                team_id=user.team_id,
                created_at=at(when),
            )
        )
        self._commit()

    def _commit(self) -> None:
        self.session.commit()


@pytest.fixture
def build(app: Litestar) -> Iterator[Builder]:
    with app.state.session_factory() as session:
        db.begin_write(session)
        yield Builder(session)


@pytest.fixture
def insight(app: Litestar) -> Iterator[InsightService]:
    """The service on its own session, with "today" fixed long after the test data."""
    with app.state.session_factory() as session:
        yield InsightService(session, go_live=GO_LIVE, today=dt.date(2026, 11, 27))


def span(start: str, end: str, **narrowed: str) -> Filters:
    return Filters(dt.date.fromisoformat(start), dt.date.fromisoformat(end), **narrowed)
