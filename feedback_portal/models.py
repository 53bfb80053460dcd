"""Every model, imported in one place so Alembic and create_app see the whole schema."""

from feedback_portal.accounts.models import LoginAttempt, SignInSession, Team, User
from feedback_portal.audit.models import AuditEvent
from feedback_portal.db import Base
from feedback_portal.feedback.models import Attachment, Comment, Feedback, VocabularyTerm
from feedback_portal.indexing import changelog  # noqa: F401  (registers the change log listener)
from feedback_portal.indexing.models import IndexChange, SavedSearch, SynonymLine
from feedback_portal.insight import models as insight_models  # noqa: F401  (an index on feedback)
from feedback_portal.issues.models import Issue, IssueMerge, MeToo
from feedback_portal.meetings.models import Action, AgendaItem, Meeting, MeetingSeries, MinutesAmendment
from feedback_portal.notifications.models import Notification, OutboxEmail
from feedback_portal.triage.models import AdminSetting

__all__ = [
    "AdminSetting",
    "Action",
    "AgendaItem",
    "Attachment",
    "AuditEvent",
    "Base",
    "Comment",
    "Feedback",
    "IndexChange",
    "Issue",
    "IssueMerge",
    "MeToo",
    "Meeting",
    "MeetingSeries",
    "MinutesAmendment",
    "Notification",
    "OutboxEmail",
    "SavedSearch",
    "SynonymLine",
    "LoginAttempt",
    "SignInSession",
    "Team",
    "User",
    "VocabularyTerm",
]
