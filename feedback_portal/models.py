"""Every model, imported in one place so Alembic and create_app see the whole schema."""

from feedback_portal.accounts.models import LoginAttempt, SignInSession, Team, User
from feedback_portal.audit.models import AuditEvent
from feedback_portal.db import Base
from feedback_portal.feedback.models import Attachment, Comment, Feedback, VocabularyTerm

__all__ = [
    "Attachment",
    "AuditEvent",
    "Base",
    "Comment",
    "Feedback",
    "LoginAttempt",
    "SignInSession",
    "Team",
    "User",
    "VocabularyTerm",
]
