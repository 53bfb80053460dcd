"""The indexes the insight queries need on feedback, which another capability owns (migration 9c3d5f7a2b18)."""

from __future__ import annotations

import sqlalchemy as sa

from feedback_portal.feedback.models import Feedback
from feedback_portal.issues.models import MeToo

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
