"""What insight needs of records other capabilities own: indexes (migration 9c3d5f7a2b18), and status times
kept on every issue status change."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy import event

from feedback_portal.db import utcnow
from feedback_portal.feedback.models import Feedback
from feedback_portal.issues.models import Issue, MeToo

# Time from first feedback to decision and fix: each issue's first feedback is one index seek.
FIRST_FEEDBACK_OF_ISSUE = sa.Index(
    "ix_feedback_issue_id_submitted_at", Feedback.issue_id, Feedback.submitted_at
)
# Covering indexes: the per-day, per-team and rising counts, and the triage times, read only these whatever the
# filters (module, kind, team), never the feedback rows, whose text makes them large (100,000 rows: ~100 MB).
SENT = sa.Index(
    "ix_feedback_insight_submitted",
    Feedback.submitted_at,
    Feedback.module,
    Feedback.kind,
    Feedback.team_id,
    Feedback.issue_id,
)
TRIAGED = sa.Index(
    "ix_feedback_insight_triaged",
    Feedback.triaged_at,
    Feedback.submitted_at,
    Feedback.module,
    Feedback.kind,
    Feedback.team_id,
)
# Rising issues: the "me too"s of the last four weeks.
ME_TOOS_BY_TIME = sa.Index("ix_me_toos_created_at", MeToo.created_at)


@event.listens_for(Issue.status, "set")
def _status_times(issue: Issue, value: Any, oldvalue: Any, initiator: Any) -> None:
    """decided_at, fixed_at and resolved_at follow every status change made through the ORM, wherever it is made
    (IssueService.change, minutes published by a meeting, an import), so no path can leave them behind."""
    if value != oldvalue and value is not None:
        issue.reached_status(utcnow(), status=value)
