"""\"You said, we did\": what has been fixed or decided recently, in plain words, for every member of staff.

Only what staff may already read: the issue's title, its status, the reason given for won't fix / guidance /
training, the public response and the target release. Never internal notes, never feedback text (held or not)
and never names: each issue shows how many people raised it (distinct people who sent feedback, each
anonymous feedback as one person, and the people who said "me too").
"""

from __future__ import annotations

import dataclasses
import datetime as dt

import sqlalchemy as sa
from sqlalchemy import orm

from feedback_portal.accounts.models import User
from feedback_portal.db import utcnow
from feedback_portal.feedback.models import Feedback
from feedback_portal.feedback.services import Vocabularies
from feedback_portal.issues.models import DECISION_STATUSES, FINISHED_STATUSES, Issue, IssueStatus, MeToo

WEEK_CHOICES = (4, 12, 26, 52)
DEFAULT_WEEKS = 12
SHOWN_STATUSES = frozenset({*DECISION_STATUSES, IssueStatus.FIXED, IssueStatus.CLOSED})


@dataclasses.dataclass(frozen=True)
class Outcome:
    ref: str
    title: str
    module: str  # label
    status_label: str
    we_did: str  # "We fixed it in release 3.2."
    reason: str | None  # the status reason (won't fix, guidance, training), public by design
    public_response: str | None
    when: dt.datetime
    when_words: str  # "Fixed on 15 November 2026", "Decided on 30 September 2026"
    people: int
    you_raised_it: bool


@dataclasses.dataclass(frozen=True)
class Report:
    weeks: int
    since: dt.datetime
    modules: list[tuple[str, list[Outcome]]]  # module label, its outcomes newest first; modules by label

    @property
    def count(self) -> int:
        return sum(len(items) for _, items in self.modules)


def we_did(status: IssueStatus, target_release: str | None, fixed_before: bool) -> str:
    release = f" in {target_release}" if target_release else ""
    return {
        IssueStatus.CHANGE_REQUESTED: "We have asked the supplier to change the CMS.",
        IssueStatus.FIX_SCHEDULED: f"A fix is scheduled{(' for ' + target_release) if target_release else ''}.",
        IssueStatus.FIXED: f"We fixed it{release}.",
        IssueStatus.CLOSED: f"We fixed it{release}." if fixed_before else "We have finished the work on it.",
        IssueStatus.WONT_FIX: "We decided not to change the CMS for this.",
        IssueStatus.GUIDANCE_ISSUED: "We published guidance.",
        IssueStatus.TRAINING_ARRANGED: "We arranged training.",
    }.get(status, "")


class YouSaidWeDid:
    def __init__(self, session: orm.Session, *, now: dt.datetime | None = None) -> None:
        self.session = session
        self.now = now or utcnow()

    @staticmethod
    def read_weeks(raw: str) -> tuple[int, str | None]:
        text = (raw or "").strip()
        if not text:
            return DEFAULT_WEEKS, None
        if text.isdigit() and int(text) in WEEK_CHOICES:
            return int(text), None
        choices = ", ".join(str(n) for n in WEEK_CHOICES[:-1]) + f" or {WEEK_CHOICES[-1]}"
        return DEFAULT_WEEKS, f"Choose how far back to look: {choices} weeks"

    def report(self, weeks: int, viewer: User | None = None) -> Report:
        since = self.now - dt.timedelta(weeks=weeks)
        latest = sa.func.coalesce(Issue.resolved_at, Issue.fixed_at, Issue.decided_at)
        # The time it reached where it is now: resolved (finished), else fixed, else decided.
        issues = self.session.execute(
            sa.select(
                Issue.id,
                Issue.ref,
                Issue.title,
                Issue.module,
                Issue.status,
                Issue.status_reason,
                Issue.public_response,
                Issue.target_release,
                Issue.fixed_at,
                latest.label("when"),
            )
            .where(
                Issue.merged_into_id.is_(None),
                Issue.status.in_([status.value for status in SHOWN_STATUSES]),
                latest >= since,
            )
            .order_by(latest.desc(), Issue.id.desc())
        ).all()
        ids = [row.id for row in issues]
        people, yours = self._people(ids, viewer)
        vocabularies = Vocabularies(self.session)
        grouped: dict[str, list[Outcome]] = {}
        for row in issues:
            status = IssueStatus(row.status)
            when = row.when if row.when.tzinfo else row.when.replace(tzinfo=dt.UTC)
            label = vocabularies.label("module", row.module) or "Other"
            grouped.setdefault(label, []).append(
                Outcome(
                    ref=row.ref or "",
                    title=row.title,
                    module=label,
                    status_label=status.label,
                    we_did=we_did(status, row.target_release, row.fixed_at is not None),
                    reason=row.status_reason if status.needs_reason else None,
                    public_response=row.public_response,
                    when=when,
                    when_words=(
                        f"{status.label} on {when.strftime('%-d %B %Y')}"
                        if status in FINISHED_STATUSES
                        else f"Decided on {when.strftime('%-d %B %Y')}; now {status.label.lower()}"
                    ),
                    people=people.get(row.id, 0),
                    you_raised_it=row.id in yours,
                )
            )
        return Report(weeks, since, sorted(grouped.items()))

    def _people(self, issue_ids: list[int], viewer: User | None) -> tuple[dict[int, int], set[int]]:
        """How many people raised each issue, and which of them the viewer raised or said "me too" to."""
        if not issue_ids:
            return {}, set()
        named: dict[int, set[int]] = {}
        anonymous: dict[int, int] = {}
        for issue_id, submitter_id in self.session.execute(
            sa.select(Feedback.issue_id, Feedback.submitter_id).where(Feedback.issue_id.in_(issue_ids))
        ):
            if submitter_id is None:
                anonymous[issue_id] = anonymous.get(issue_id, 0) + 1
            else:
                named.setdefault(issue_id, set()).add(submitter_id)
        target = sa.func.coalesce(MeToo.issue_id, Feedback.issue_id)
        for issue_id, user_id in self.session.execute(
            sa.select(target, MeToo.user_id)
            .select_from(MeToo)
            .outerjoin(Feedback, MeToo.feedback_id == Feedback.id)
            .where(target.in_(issue_ids))
        ):
            named.setdefault(issue_id, set()).add(user_id)
        counts = {
            issue_id: len(named.get(issue_id, ())) + anonymous.get(issue_id, 0) for issue_id in issue_ids
        }
        yours = {issue_id for issue_id, users in named.items() if viewer is not None and viewer.id in users}
        return counts, yours
