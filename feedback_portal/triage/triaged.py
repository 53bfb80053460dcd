"""When feedback first leaves the untriaged queue: `feedback.triaged_at`, set once and audited.

Every path that triages calls mark(): linking or creating an issue (issues/services.py, audited in the issue's
event), and marking it the same as other feedback or not about the CMS (triage/services.py, audited as
"feedback.triaged"). The insight page's time to triage reads it.
"""

from __future__ import annotations

from sqlalchemy import orm

from feedback_portal.audit import models as audit
from feedback_portal.db import utcnow
from feedback_portal.feedback.models import Feedback


def mark(session: orm.Session, feedback: Feedback, actor_id: int | None, *, audit_event: bool = True) -> bool:
    """Set triaged_at if it is not set yet (a second triage keeps the first time). True if it was set now.

    audit_event=False when the caller records the time in its own audit event instead (IssueService puts it in
    the issue's "created" or "feedback linked" event, as `triaged`: {ref: time}).
    """
    if feedback.triaged_at is not None:
        return False
    feedback.triaged_at = utcnow()
    if not audit_event:
        return True
    audit.record(
        session,
        actor_id=actor_id,
        action="feedback.triaged",
        record_type="feedback",
        record_ref=feedback.ref or "",
        before={"triaged_at": None},
        after={"triaged_at": feedback.triaged_at.isoformat()},
    )
    return True
