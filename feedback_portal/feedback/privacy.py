"""Personal data in feedback: flagging it at intake, and business support redacting it or clearing the flag.

Detection itself is in feedback_portal.privacy (pure text rules); this module stores what it found on the
feedback (`personal_data`: [{kind, field, start, end}], offsets into the current title or body), holds the
feedback until business support has looked, and keeps the original text of redacted feedback for admins
only until its purge date.  Audit events here never carry the personal data itself: only kinds and counts.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections import Counter
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy import orm

from feedback_portal.accounts.models import User
from feedback_portal.audit import models as audit
from feedback_portal.db import begin_write, utcnow
from feedback_portal.errors import Conflict, Forbidden, NotFound, ValidationFailed
from feedback_portal.feedback.models import Feedback
from feedback_portal.privacy import PLACEHOLDERS, DetectorConfig, Span, describes_live_risk, detect, redact

FIELDS = ("title", "body")
REASON_MAX = 500
# What a screen reader hears before a highlighted piece: "possible name".
KIND_LABELS = {
    "name": "name",
    "date-of-birth": "date of birth",
    "address": "address",
    "nhs-number": "NHS number",
    "case-id": "case ID",
    "ni-number": "National Insurance number",
    "postcode": "postcode",
    "phone": "phone number",
    "email": "email address",
}


def scan(title: str | None, body: str, config: DetectorConfig | None = None) -> tuple[list[dict[str, Any]], bool]:
    """What intake stores: the flagged spans of the title and body, and whether it describes a live risk."""
    found: list[dict[str, Any]] = []
    for field, text in (("title", title or ""), ("body", body or "")):
        for span in detect(text, config=config):
            found.append({"kind": span.kind, "field": field, "start": span.start, "end": span.end})
    phrases = config.all_safeguarding_phrases if config else None
    text = "\n".join(part for part in (title, body) if part)
    live_risk = bool(describes_live_risk(text, phrases) if phrases else describes_live_risk(text))
    return found, live_risk


def field_text(feedback: Feedback, field: str) -> str:
    return (feedback.title or "") if field == "title" else feedback.body


def spans_of(feedback: Feedback, field: str) -> list[Span]:
    """The stored spans of one field as detector spans (their text read from the current text).

    Raises ValueError for a stored span that is not inside the text (the text changed since it was checked).
    """
    text = field_text(feedback, field)
    spans = []
    for item in feedback.personal_data or []:
        if item.get("field") != field:
            continue
        start, end, kind = item.get("start"), item.get("end"), item.get("kind")
        if not (isinstance(start, int) and isinstance(end, int) and 0 <= start < end <= len(text)):
            raise ValueError(
                f"A flagged {KIND_LABELS.get(str(kind), 'piece')} in the {field} is outside the text "
                f"(characters {start} to {end} of {len(text)}): the text has changed since it was checked."
            )
        spans.append(Span(kind=str(kind), start=start, end=end, text=text[start:end]))
    return sorted(spans, key=lambda span: (span.start, span.end))


def segments(feedback: Feedback, field: str) -> list[tuple[str, str | None]]:
    """The field's text in pieces, each with the kind of personal data it may be (or None), for highlighting."""
    text = field_text(feedback, field)
    try:
        spans = spans_of(feedback, field)
    except ValueError:
        return [(text, None)] if text else []
    pieces: list[tuple[str, str | None]] = []
    position = 0
    for span in spans:
        if span.start < position:  # overlapping spans: show the text once
            continue
        if span.start > position:
            pieces.append((text[position : span.start], None))
        pieces.append((span.text, span.kind))
        position = span.end
    if position < len(text):
        pieces.append((text[position:], None))
    return pieces


def version(feedback: Feedback) -> str:
    """A fingerprint of the text and flags a reviewer saw: acting on a page that is out of date is refused."""
    content = json.dumps([feedback.title, feedback.body, feedback.personal_data or []], sort_keys=True)
    return hashlib.sha256(content.encode()).hexdigest()[:16]


def kind_counts(personal_data: Sequence[dict[str, Any]]) -> dict[str, int]:
    return dict(Counter(str(item.get("kind")) for item in personal_data))


def redacted_snapshot(title: str | None, body: str, personal_data: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Title and body with every flagged span replaced by its placeholder (for exports and audit)."""
    values: dict[str, Any] = {"title": title, "body": body}
    for field in FIELDS:
        text = values[field] or ""
        spans = [
            Span(str(item["kind"]), item["start"], item["end"], text[item["start"] : item["end"]])
            for item in personal_data
            if item.get("field") == field
            and isinstance(item.get("start"), int)
            and isinstance(item.get("end"), int)
            and 0 <= item["start"] < item["end"] <= len(text)
            and item.get("kind") in PLACEHOLDERS
        ]
        if spans:
            try:
                values[field] = redact(text, _without_overlaps(spans))
            except ValueError:
                values[field] = "[withheld: may identify someone]"
    return values


def _without_overlaps(spans: list[Span]) -> list[Span]:
    kept: list[Span] = []
    for span in sorted(spans, key=lambda s: (s.start, s.end)):
        if not kept or span.start >= kept[-1].end:
            kept.append(span)
    return kept


class PrivacyReview:
    """Business support (or an admin) deals with held feedback: redact it, or clear a false flag."""

    def __init__(self, session: orm.Session, *, original_text_days: int = 30) -> None:
        self.session = session
        self.original_text_days = original_text_days

    def _load(self, ref: str, actor: User, expected_version: str) -> Feedback:
        if not actor.is_triage:
            raise Forbidden("Only business support and administrators can review personal data")
        feedback = self.session.scalar(sa.select(Feedback).where(Feedback.ref == (ref or "").strip().upper()))
        if feedback is None:
            raise NotFound(f"There is no feedback {ref[:20]}")
        if not feedback.held or not feedback.personal_data:
            raise Conflict(f"{feedback.ref} is not held for personal data: there is nothing to review")
        if expected_version != version(feedback):
            raise Conflict(
                f"{feedback.ref} has changed since you opened it. Reload the page and check it again."
            )
        return feedback

    def redact(self, ref: str, actor: User, expected_version: str) -> Feedback:
        """Replace every flagged span with its placeholder; keep the original text for admins until purged."""
        begin_write(self.session)
        try:
            feedback = self._load(ref, actor, expected_version)
            try:
                new = {field: redact(field_text(feedback, field), spans_of(feedback, field)) for field in FIELDS}
            except ValueError as problem:
                raise Conflict(f"{feedback.ref} cannot be redacted: {problem}") from None
            counts = kind_counts(feedback.personal_data)
            if feedback.original_body is None:  # redacting twice keeps the text as first sent
                feedback.original_title = feedback.title
                feedback.original_body = feedback.body
            feedback.original_purge_after = utcnow() + dt.timedelta(days=self.original_text_days)
            feedback.title = (new["title"][:150] or None) if feedback.title is not None else None
            feedback.body = new["body"]
            feedback.personal_data = []
            feedback.held = False
            audit.record(
                self.session,
                actor_id=actor.id,
                action="feedback.redacted",
                record_type="feedback",
                record_ref=feedback.ref or "",
                before={"held": True, "personal_data": counts},
                after={"held": False, "redacted": counts},
            )
            self.session.commit()
        except BaseException:
            self.session.rollback()
            raise
        return feedback

    def clear(self, ref: str, actor: User, reason: object, expected_version: str) -> Feedback:
        """A false flag: release the feedback as it is, with the reason recorded."""
        text = " ".join(str(reason or "").split())
        if not text:
            raise ValidationFailed({"reason": "Enter why this is not personal data"})
        if len(text) > REASON_MAX:
            raise ValidationFailed({"reason": f"The reason must be {REASON_MAX} characters or fewer"})
        begin_write(self.session)
        try:
            feedback = self._load(ref, actor, expected_version)
            counts = kind_counts(feedback.personal_data)
            feedback.personal_data = []
            feedback.held = False
            audit.record(
                self.session,
                actor_id=actor.id,
                action="feedback.flag_cleared",
                record_type="feedback",
                record_ref=feedback.ref or "",
                before={"held": True, "personal_data": counts},
                after={"held": False, "reason": text},
            )
            self.session.commit()
        except BaseException:
            self.session.rollback()
            raise
        return feedback


def purge_originals(session: orm.Session, now: dt.datetime | None = None) -> int:
    """Delete the original text of redacted feedback past its purge date. Returns how many were purged."""
    now = now or utcnow()
    begin_write(session)
    try:
        rows = list(
            session.scalars(
                sa.select(Feedback)
                .options(orm.lazyload(Feedback.attachments), orm.lazyload(Feedback.comments))
                .where(Feedback.original_purge_after.is_not(None), Feedback.original_purge_after <= now)
            )
        )
        for feedback in rows:
            feedback.original_title = None
            feedback.original_body = None
            feedback.original_purge_after = None
            audit.record(
                session,
                actor_id=None,
                action="feedback.original_purged",
                record_type="feedback",
                record_ref=feedback.ref or "",
            )
        session.commit()
    except BaseException:
        session.rollback()
        raise
    return len(rows)
