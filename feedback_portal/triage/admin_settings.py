"""Admin settings kept in the database: the personal-data detector's extra patterns and words, and retention.

Every worker reads them from the database, so a change made through one process applies in all of them. The
detector's configuration is cached per process on the row's `version` (one primary-key read per use), so an
unchanged configuration is not rebuilt (and its patterns not recompiled) on every request.
"""

from __future__ import annotations

import dataclasses
import re
import threading
from typing import Any

import sqlalchemy as sa
from sqlalchemy import orm

from feedback_portal.accounts.models import User
from feedback_portal.audit import models as audit
from feedback_portal.db import begin_write
from feedback_portal.errors import ValidationFailed
from feedback_portal.privacy import ConfigError, DetectorConfig
from feedback_portal.triage.models import AdminSetting

PRIVACY = "privacy"
RETENTION = "retention"
PRIVACY_FIELDS = ("case_id_patterns", "extra_names", "ignore_words", "safeguarding_phrases")
TEXT_MAX = 20_000
# A group that repeats something that itself repeats, like (a+)+ or (\w*)*: the classic catastrophic
# backtracking shape. Refused outright (the detector runs on every keystroke's privacy check).
_NESTED_QUANTIFIER = re.compile(r"\((?:[^()\\]|\\.)*[+*}](?:[^()\\]|\\.)*\)\s*(?:[+*]|\{\d*,?\d*\})")

_lock = threading.Lock()
_cache: dict[str, tuple[Any, Any]] = {}


def _row(session: orm.Session, key: str) -> AdminSetting | None:
    return session.get(AdminSetting, key)


# The detector


def privacy_values(session: orm.Session) -> dict[str, list[str]]:
    row = _row(session, PRIVACY)
    value = row.value if row else {}
    return {field: [str(item) for item in value.get(field, [])] for field in PRIVACY_FIELDS}


def detector_config(session: orm.Session) -> DetectorConfig | None:
    """The admin's detector configuration (None when nothing was ever set), cached on the row's version and
    time of change (and the database, for processes that serve more than one)."""
    stamp = session.execute(
        sa.select(AdminSetting.version, AdminSetting.updated_at).where(AdminSetting.key == PRIVACY)
    ).first()
    if stamp is None:
        return None
    key = (str(session.get_bind().url), stamp[0], stamp[1])
    with _lock:
        hit = _cache.get(PRIVACY)
        if hit and hit[0] == key:
            return hit[1]
    values = privacy_values(session)
    try:
        config = DetectorConfig.from_text(**{field: "\n".join(values[field]) for field in PRIVACY_FIELDS})
    except ConfigError:  # saved values were checked; a bad row must not stop intake
        config = None
    with _lock:
        _cache[PRIVACY] = (key, config)
    return config


def _lines(text: object) -> list[str]:
    if not isinstance(text, str):
        return []
    return [line.strip() for line in text.replace("\r\n", "\n").split("\n") if line.strip()]


def save_privacy(session: orm.Session, form: dict[str, Any], actor: User) -> dict[str, list[str]]:
    """Replace the lists from the admin's form (one item a line; lines starting with # are the admin's notes and
    are kept). Each problem is reported beside its box,
    with the line number the admin sees; nothing is saved unless every list is valid."""
    errors: dict[str, str] = {}
    texts = {field: form.get(field) if isinstance(form.get(field), str) else "" for field in PRIVACY_FIELDS}
    for field, text in texts.items():
        if len(text) > TEXT_MAX:
            errors[field] = f"This list must be {TEXT_MAX:,} characters or fewer"
    for number, line in enumerate(texts["case_id_patterns"].splitlines(), start=1):
        if line.strip() and _NESTED_QUANTIFIER.search(line.strip()):
            errors.setdefault(
                "case_id_patterns",
                f"Case ID patterns, line {number}: {line.strip()!r} repeats a repeated group, which can make "
                "checking text very slow. Write it without a repeat inside a repeated group.",
            )
    if not errors:
        try:
            DetectorConfig.from_text(**texts)
        except ConfigError as problem:
            errors[problem.setting or "case_id_patterns"] = str(problem)
    if errors:
        raise ValidationFailed(errors)
    new = {field: _lines(texts[field]) for field in PRIVACY_FIELDS}
    _store(session, PRIVACY, new, actor, action="privacy.settings_changed")
    return new


# Retention


@dataclasses.dataclass(frozen=True)
class RetentionPolicy:
    months: int | None  # None: keep everything (the default)
    action: str = "anonymise"  # or "delete"


RETENTION_ACTIONS = ("anonymise", "delete")
MONTHS_MAX = 240


def retention_policy(session: orm.Session) -> RetentionPolicy:
    row = _row(session, RETENTION)
    if row is None:
        return RetentionPolicy(None)
    months = row.value.get("months")
    action = row.value.get("action")
    return RetentionPolicy(
        months if isinstance(months, int) else None, action if action in RETENTION_ACTIONS else "anonymise"
    )


def save_retention(session: orm.Session, form: dict[str, Any], actor: User) -> RetentionPolicy:
    errors: dict[str, str] = {}
    raw = str(form.get("months") or "").strip()
    months: int | None = None
    if not raw:
        errors["months"] = "Enter how many months to keep feedback, as a whole number"
    elif not raw.isdigit() or not 1 <= int(raw) <= MONTHS_MAX:
        errors["months"] = f"Enter a whole number of months from 1 to {MONTHS_MAX}"
    else:
        months = int(raw)
    action = str(form.get("action") or "")
    if action not in RETENTION_ACTIONS:
        errors["action"] = "Choose whether to anonymise or delete old feedback"
    if errors:
        raise ValidationFailed(errors)
    _store(
        session, RETENTION, {"months": months, "action": action}, actor, action="retention.settings_changed"
    )
    return RetentionPolicy(months, action)


def _store(session: orm.Session, key: str, value: dict[str, Any], actor: User, *, action: str) -> None:
    begin_write(session)
    try:
        row = _row(session, key)
        before = dict(row.value) if row else None
        if row is None:
            row = AdminSetting(key=key, value=value, version=1, updated_by_id=actor.id)
            session.add(row)
        else:
            row.value = value
            row.version += 1
            row.updated_by_id = actor.id
        audit.record(
            session,
            actor_id=actor.id,
            action=action,
            record_type="settings",
            record_ref=key,
            before=before,
            after=value,
        )
        session.commit()
    except BaseException:
        session.rollback()
        raise
