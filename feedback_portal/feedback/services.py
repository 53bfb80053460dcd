"""Feedback rules: what a valid report is, storing it once, and who may see what."""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import exc, orm

from feedback_portal.accounts.models import Role, Team, User
from feedback_portal.audit import models as audit
from feedback_portal.db import begin_write
from feedback_portal.errors import Forbidden, NotFound, ValidationFailed
from feedback_portal.feedback import privacy, screenshots
from feedback_portal.feedback.models import Attachment, Feedback, VocabularyTerm
from feedback_portal.feedback.vocabulary import DEFAULTS, Anonymity, FeedbackStatus
from feedback_portal.privacy import DetectorConfig
from feedback_portal.triage import follow

TITLE_MAX = 150
BODY_MAX = 5000
PAGE_SIZE = 25
REF_PATTERN = re.compile(r"^FB-(\d{6,})$", re.IGNORECASE)
# Control characters other than tab and newlines have no place in text (PostgreSQL rejects NUL).
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def format_ref(number: int) -> str:
    return f"FB-{number:06d}"


def clean_text(value: object) -> str:
    if value is None:
        return ""
    return _CONTROL.sub("", str(value)).replace("\r\n", "\n").strip()


@dataclasses.dataclass(frozen=True)
class Upload:
    filename: str
    data: bytes


@dataclasses.dataclass(frozen=True)
class FeedbackFilters:
    module: str = ""
    kind: str = ""
    impact: str = ""
    team: str = ""
    date_from: dt.date | None = None
    date_to: dt.date | None = None

    def as_query(self) -> dict[str, str]:
        values = {
            "module": self.module,
            "kind": self.kind,
            "impact": self.impact,
            "team": self.team,
            "from": self.date_from.isoformat() if self.date_from else "",
            "to": self.date_to.isoformat() if self.date_to else "",
        }
        return {key: value for key, value in values.items() if value}


@dataclasses.dataclass(frozen=True)
class Page:
    items: Sequence[Feedback]
    number: int
    size: int
    total: int

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.size))


class Vocabularies:
    """The default terms plus any an admin added. Forms show labels; data stores slugs."""

    def __init__(self, session: orm.Session) -> None:
        self.terms: dict[str, dict[str, str]] = {name: dict(terms) for name, terms in DEFAULTS.items()}
        for term in session.scalars(sa.select(VocabularyTerm).where(VocabularyTerm.active.is_(True))):
            self.terms.setdefault(term.vocabulary, {})[term.slug] = term.label

    def options(self, vocabulary: str) -> dict[str, str]:
        return self.terms[vocabulary]

    def label(self, vocabulary: str, slug: str | None) -> str:
        if not slug:
            return ""
        return self.terms.get(vocabulary, {}).get(slug, slug)

    def resolve(self, vocabulary: str, value: str) -> str | None:
        """The slug for a slug or a label, in any case; None if it is not a term."""
        wanted = value.strip().lower()
        for slug, label in self.terms[vocabulary].items():
            if wanted in {slug.lower(), label.lower()}:
                return slug
        return None


def submitter_name(feedback: Feedback, viewer: User | None) -> str:
    """What a viewer may see of who sent the feedback."""
    if feedback.anonymity == Anonymity.ANONYMOUS or feedback.submitter is None:
        return "Anonymous"
    if feedback.anonymity == Anonymity.BUSINESS_SUPPORT_ONLY and not (viewer and viewer.is_triage):
        return "Name withheld"
    return feedback.submitter.name


class FeedbackService:
    def __init__(
        self,
        session: orm.Session,
        *,
        uploads_dir: Path,
        upload_max_bytes: int,
        upload_max_files: int,
        detector_config: DetectorConfig | None = None,
    ):
        self.session = session
        self.detector_config = detector_config
        self.uploads_dir = uploads_dir
        self.upload_max_bytes = upload_max_bytes
        self.upload_max_files = upload_max_files
        self._vocabularies: Vocabularies | None = None

    def vocabularies(self) -> Vocabularies:
        # Loaded once per service (one per request): several callers need it.
        if self._vocabularies is None:
            self._vocabularies = Vocabularies(self.session)
        return self._vocabularies

    def teams(self) -> list[Team]:
        return list(self.session.scalars(sa.select(Team).order_by(Team.name)))

    # Giving feedback

    def validate(self, data: Mapping[str, Any], vocabularies: Vocabularies) -> tuple[dict[str, Any], dict[str, str]]:
        errors: dict[str, str] = {}
        clean: dict[str, Any] = {}
        body = clean_text(data.get("body"))
        if not body:
            errors["body"] = "Enter what happened"
        elif len(body) > BODY_MAX:
            errors["body"] = f"What happened must be {BODY_MAX:,} characters or fewer (you wrote {len(body):,})"
        clean["body"] = body
        title = clean_text(data.get("title"))
        if "\n" in title:
            title = " ".join(title.split())
        if len(title) > TITLE_MAX:
            errors["title"] = f"The title must be {TITLE_MAX} characters or fewer"
        clean["title"] = title or None

        messages = {
            "module": "Choose the part of the CMS this is about",
            "kind": "Choose what kind of problem this is",
            "impact": "Choose how much it affects your work",
            "frequency": "Choose how often it happens",
        }
        for field in ("module", "kind", "impact", "frequency"):
            raw = clean_text(data.get(field))
            if not raw:
                if field == "frequency":
                    clean[field] = None
                    continue
                errors[field] = messages[field]
                continue
            slug = vocabularies.resolve(field, raw)
            if slug is None:
                errors[field] = f"{messages[field]} from the list"
            clean[field] = slug

        team_slug = clean_text(data.get("team"))
        clean["team"] = None
        if team_slug:
            team = self.session.scalar(sa.select(Team).where(Team.slug == team_slug))
            if team is None:
                errors["team"] = "Choose your team from the list"
            clean["team"] = team

        anonymity = clean_text(data.get("anonymity")) or ""
        if anonymity not in {a.value for a in Anonymity}:
            errors["anonymity"] = "Choose whether to give your name"
        clean["anonymity"] = anonymity
        return clean, errors

    def submit(
        self,
        data: Mapping[str, Any],
        *,
        submitter: User,
        uploads: Sequence[Upload] = (),
        idempotency_key: str | None = None,
    ) -> Feedback:
        """Store one feedback and return it, committed. A repeated idempotency key returns the first one."""
        key = clean_text(idempotency_key)[:64] or None
        if key:
            existing = self._by_idempotency_key(key)
            if existing is not None:
                return existing
        vocabularies = self.vocabularies()
        clean, errors = self.validate(data, vocabularies)
        cleaned_uploads = self._clean_uploads(uploads, errors)
        if errors:
            raise ValidationFailed(errors)

        # Likely personal data is flagged and the feedback held for business support; a live risk to a child
        # restricts it too. Either way it is still stored and acknowledged: nothing the person wrote is lost.
        personal_data, live_risk = privacy.scan(clean["title"], clean["body"], self.detector_config)
        anonymous = clean["anonymity"] == Anonymity.ANONYMOUS
        created_files: list[Path] = []
        begin_write(self.session)
        try:
            feedback = Feedback(
                title=clean["title"],
                body=clean["body"],
                module=clean["module"],
                kind=clean["kind"],
                impact=clean["impact"],
                frequency=clean["frequency"],
                team=clean["team"],
                anonymity=clean["anonymity"],
                submitter_id=None if anonymous else submitter.id,
                status=FeedbackStatus.RECEIVED,
                idempotency_key=key,
                personal_data=personal_data,
                held=bool(personal_data) or live_risk,
                restricted=live_risk,
            )
            if anonymous:
                # The private follow link: only its hash is stored; the token is handed back once (follow.py).
                token = follow.new_token()
                feedback.follow_token_hash = follow.token_hash(token)
            self.session.add(feedback)
            self.session.flush()
            feedback.ref = format_ref(feedback.id)
            for upload in cleaned_uploads:
                path = screenshots.store(self.uploads_dir, upload)
                if path is not None:
                    created_files.append(path)
                feedback.attachments.append(
                    Attachment(
                        filename=upload.filename,
                        content_type=upload.content_type,
                        size_bytes=len(upload.data),
                        sha256=upload.sha256,
                        width=upload.width,
                        height=upload.height,
                    )
                )
            audit.record(
                self.session,
                actor_id=None if anonymous else submitter.id,
                action="feedback.submitted",
                record_type="feedback",
                record_ref=feedback.ref,
                after=self._audit_snapshot(feedback),
            )
            self.session.commit()
            if anonymous:
                feedback.follow_token = token  # type: ignore[attr-defined]  (not a column: this response only)
        except exc.IntegrityError:
            self.session.rollback()
            _remove(created_files)
            if key:
                existing = self._by_idempotency_key(key)
                if existing is not None:  # a concurrent retry of the same form won the race
                    return existing
            raise
        except BaseException:
            self.session.rollback()
            _remove(created_files)
            raise
        return feedback

    def _clean_uploads(self, uploads: Sequence[Upload], errors: dict[str, str]) -> list[screenshots.CleanScreenshot]:
        present = [upload for upload in uploads if upload.data or upload.filename]
        present = [upload for upload in present if upload.data]
        if len(present) > self.upload_max_files:
            errors["screenshots"] = f"Attach up to {self.upload_max_files} screenshots"
            return []
        cleaned = []
        problems = []
        for upload in present:
            try:
                cleaned.append(screenshots.clean(upload.filename, upload.data, max_bytes=self.upload_max_bytes))
            except screenshots.ScreenshotRejected as rejected:
                problems.append(str(rejected))
        if problems:
            errors["screenshots"] = "; ".join(problems) + ". Screenshots must be PNG or JPEG, up to 10 MB each"
        return cleaned

    def _by_idempotency_key(self, key: str) -> Feedback | None:
        return self.session.scalar(sa.select(Feedback).where(Feedback.idempotency_key == key))

    @staticmethod
    def _audit_snapshot(feedback: Feedback) -> dict[str, Any]:
        # The audit trail outlives a redaction and the purge of the original text, so it never keeps the
        # flagged personal data: only the text with placeholders, and the kinds found.
        text = privacy.redacted_snapshot(feedback.title, feedback.body, feedback.personal_data or [])
        return {
            "title": text["title"],
            "body": text["body"],
            "module": feedback.module,
            "kind": feedback.kind,
            "impact": feedback.impact,
            "frequency": feedback.frequency,
            "team": feedback.team.slug if feedback.team else None,
            "anonymity": feedback.anonymity,
            "status": feedback.status,
            "attachments": len(feedback.attachments),
            **({"personal_data": privacy.kind_counts(feedback.personal_data)} if feedback.personal_data else {}),
            **({"held": True} if feedback.held else {}),
            **({"restricted": True} if feedback.restricted else {}),
        }

    # Reading feedback

    def receipt(self, idempotency_key: str, viewer: User) -> Feedback:
        """The feedback a form submission created, for its confirmation page."""
        feedback = self._by_idempotency_key(clean_text(idempotency_key)[:64]) if idempotency_key else None
        if feedback is None:
            raise NotFound("We could not find that submission")
        if feedback.submitter_id is not None and feedback.submitter_id != viewer.id:
            raise NotFound("We could not find that submission")
        return feedback

    def get(self, ref: str, viewer: User) -> Feedback:
        feedback = self.session.scalar(sa.select(Feedback).where(Feedback.ref == ref.upper()))
        if feedback is None:
            raise NotFound(f"There is no feedback {ref}")
        if viewer.is_triage:
            return feedback
        if feedback.submitter_id is not None and feedback.submitter_id == viewer.id:
            return feedback
        if viewer.role_enum == Role.BOARD:
            if feedback.hidden_from_readers:
                raise Forbidden("Only business support and administrators can see this feedback")
            return feedback
        raise Forbidden("You can only see your own feedback")

    def mine(self, user: User) -> list[Feedback]:
        return list(
            self.session.scalars(
                sa.select(Feedback)
                .where(Feedback.submitter_id == user.id)
                .order_by(Feedback.submitted_at.desc(), Feedback.id.desc())
            )
        )

    def parse_filters(self, query: Mapping[str, str]) -> tuple[FeedbackFilters, dict[str, str]]:
        vocabularies = self.vocabularies()
        errors: dict[str, str] = {}
        values: dict[str, Any] = {}
        for field in ("module", "kind", "impact"):
            raw = clean_text(query.get(field))
            if raw:
                slug = vocabularies.resolve(field, raw)
                if slug is None:
                    errors[field] = f"Unknown {field} {raw!r}"
                values[field] = slug or ""
        team = clean_text(query.get("team"))
        if team:
            if self.session.scalar(sa.select(Team.id).where(Team.slug == team)) is None:
                errors["team"] = f"Unknown team {team!r}"
            else:
                values["team"] = team
        for key, field in (("from", "date_from"), ("to", "date_to")):
            raw = clean_text(query.get(key))
            if raw:
                try:
                    values[field] = dt.date.fromisoformat(raw)
                except ValueError:
                    errors[key] = "Enter a date like 2026-03-31"
        if values.get("date_from") and values.get("date_to") and values["date_from"] > values["date_to"]:
            errors["to"] = "The end date must be the same as or after the start date"
        return FeedbackFilters(**values), errors

    def list(
        self, filters: FeedbackFilters, page: int = 1, size: int = PAGE_SIZE, *, include_restricted: bool = False
    ) -> Page:
        """A page of feedback. Restricted and held feedback only when include_restricted (business support)."""
        conditions = []
        if not include_restricted:
            conditions.append(sa.and_(Feedback.restricted.is_(False), Feedback.held.is_(False)))
        if filters.module:
            conditions.append(Feedback.module == filters.module)
        if filters.kind:
            conditions.append(Feedback.kind == filters.kind)
        if filters.impact:
            conditions.append(Feedback.impact == filters.impact)
        if filters.team:
            conditions.append(Feedback.team_id == sa.select(Team.id).where(Team.slug == filters.team).scalar_subquery())
        if filters.date_from:
            start = dt.datetime.combine(filters.date_from, dt.time.min, tzinfo=dt.UTC)
            conditions.append(Feedback.submitted_at >= start)
        if filters.date_to:
            end = dt.datetime.combine(filters.date_to + dt.timedelta(days=1), dt.time.min, tzinfo=dt.UTC)
            conditions.append(Feedback.submitted_at < end)
        total = self.session.scalar(sa.select(sa.func.count(Feedback.id)).where(*conditions)) or 0
        pages = max(1, math.ceil(total / size))
        page = min(max(1, page), pages)
        items = self.session.scalars(
            sa.select(Feedback)
            .options(
                orm.lazyload(Feedback.attachments), orm.lazyload(Feedback.comments), orm.lazyload(Feedback.issue)
            )
            .where(*conditions)
            .order_by(Feedback.submitted_at.desc(), Feedback.id.desc())
            .limit(size)
            .offset((page - 1) * size)
        ).unique()
        return Page(list(items), page, size, total)

    def attachment(self, attachment_id: int, viewer: User) -> tuple[Attachment, Path]:
        """A screenshot and its file, for business support, admins and the person who sent it."""
        attachment = self.session.get(Attachment, attachment_id)
        if attachment is None:
            raise NotFound("There is no such screenshot")
        feedback = attachment.feedback
        if not (viewer.is_triage or (feedback.submitter_id is not None and feedback.submitter_id == viewer.id)):
            raise Forbidden("Only business support can see screenshots")
        path = self.uploads_dir / attachment.storage_name
        if not path.exists():
            raise NotFound("That screenshot's file is missing")
        return attachment, path


def _remove(paths: Sequence[Path]) -> None:
    for path in paths:
        path.unlink(missing_ok=True)
