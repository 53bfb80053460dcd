"""The default vocabularies: forms show labels, data uses slugs. Admins can add terms (stored rows)."""

from __future__ import annotations

import enum

MODULES: dict[str, str] = {
    "case-notes": "Case notes",
    "assessments": "Assessments",
    "plans-reviews": "Plans & reviews",
    "chronology": "Chronology",
    "documents": "Documents",
    "forms-templates": "Forms & templates",
    "search": "Search",
    "reports": "Reports",
    "access-permissions": "Access & permissions",
    "mobile-offline": "Mobile & offline",
    "performance": "Performance",
    "integrations": "Integrations",
    "workflow-sign-off": "Workflow & sign-off",
    "training-guidance": "Training & guidance",
    "other": "Other",
}

KINDS: dict[str, str] = {
    "bug": "Something is broken",
    "usability": "Hard to use",
    "missing-feature": "Something is missing",
    "training": "I need training or guidance",
    "performance": "Slow",
    "access": "I can't get access",
    "process": "The process doesn't fit our practice",
}

IMPACTS: dict[str, str] = {
    "blocks-work": "It stops me working",
    "workaround": "I can work around it",
    "minor": "Minor annoyance",
}

FREQUENCIES: dict[str, str] = {
    "every-time": "Every time",
    "daily": "Most days",
    "weekly": "Now and then",
    "once": "Once so far",
}

DEFAULTS: dict[str, dict[str, str]] = {
    "module": MODULES,
    "kind": KINDS,
    "impact": IMPACTS,
    "frequency": FREQUENCIES,
}


class Anonymity(enum.StrEnum):
    NAMED = "named"
    BUSINESS_SUPPORT_ONLY = "business-support-only"
    ANONYMOUS = "anonymous"

    @property
    def label(self) -> str:
        return {
            Anonymity.NAMED: "Use my name",
            Anonymity.BUSINESS_SUPPORT_ONLY: "Only business support can see my name",
            Anonymity.ANONYMOUS: "Anonymous: my name is not stored at all",
        }[self]

    @property
    def hint(self) -> str:
        return {
            Anonymity.NAMED: "We can tell you what happens and ask you questions.",
            Anonymity.BUSINESS_SUPPORT_ONLY: "The board and others see it without your name.",
            Anonymity.ANONYMOUS: (
                "Nobody can see who sent it, not even us. It won't appear in My feedback "
                "and we can't reply to you."
            ),
        }[self]


class FeedbackStatus(enum.StrEnum):
    RECEIVED = "received"
    UNDER_REVIEW = "under-review"
    LINKED = "linked"
    NOT_CMS = "not-cms"
    CLOSED = "closed"

    @property
    def label(self) -> str:
        return {
            FeedbackStatus.RECEIVED: "Received",
            FeedbackStatus.UNDER_REVIEW: "Being looked at",
            FeedbackStatus.LINKED: "Part of a tracked issue",
            FeedbackStatus.NOT_CMS: "Not about the CMS",
            FeedbackStatus.CLOSED: "Closed",
        }[self]
