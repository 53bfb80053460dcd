"""Personal-data detection for free-text feedback.

Frontline staff must not put personal data about children and families into feedback about the CMS.
This package finds the likely pieces (names, NHS and NI numbers, postcodes, addresses, phone numbers,
emails, dates of birth, CMS case/person IDs) while the submitter types, builds the inline warning,
redacts on request, and spots feedback that describes a live risk to a child (which needs a phone
call, not a feedback form).  Pure Python: no database or web code here.
"""

from feedback_portal.privacy.detector import (
    KINDS,
    PLACEHOLDERS,
    ConfigError,
    DetectorConfig,
    Span,
    detect,
    redact,
    warning_message,
)
from feedback_portal.privacy.safeguarding import DEFAULT_PHRASES, describes_live_risk

__all__ = [
    "DEFAULT_PHRASES",
    "KINDS",
    "PLACEHOLDERS",
    "ConfigError",
    "DetectorConfig",
    "Span",
    "describes_live_risk",
    "detect",
    "redact",
    "warning_message",
]
