"""Settings: one frozen dataclass read from FEEDBACK_PORTAL_* environment variables."""

from __future__ import annotations

import dataclasses
import datetime as dt
import email.utils
import ipaddress
import math
import os
import re
import secrets
from pathlib import Path

PREFIX = "FEEDBACK_PORTAL_"
DEFAULT_SAFEGUARDING_TEXT = (
    "If a child is at immediate risk, call 999. To report a safeguarding concern, contact the MASH on "
    "020 7946 0000 or your team manager now — this feedback form is not monitored for urgent safeguarding "
    "concerns."
)


class SettingsError(ValueError):
    """A setting has a value the portal cannot run with."""


@dataclasses.dataclass(frozen=True)
class Settings:
    data_dir: Path
    database_url: str
    secret_key: str
    secure_cookies: bool = False
    session_hours: int = 12
    login_attempts_per_window: int = 5
    login_window_minutes: int = 15
    upload_max_bytes: int = 10 * 1024 * 1024
    upload_max_files: int = 3
    smtp_host: str = ""
    smtp_port: int = 25
    smtp_username: str = ""
    smtp_password: str = ""
    smtp_from: str = "feedback-portal@localhost"
    smtp_starttls: bool = False
    smtp_timeout: float = 10.0  # seconds, for connecting and for each SMTP command
    debug: bool = False
    # Keep this host's search index up to date from a thread in each worker (one of them writes).
    background_indexer: bool = True
    # Send the email outbox from a thread in each worker when SMTP is configured (a row claim stops two
    # workers sending the same email).
    background_mailer: bool = True
    # Shown when feedback reads like a live risk to a child: the council's safeguarding route.
    safeguarding_text: str = DEFAULT_SAFEGUARDING_TEXT
    # How long the original text of redacted feedback is kept (for admins) before `privacy purge` deletes it.
    original_text_days: int = 30
    # Business support aim to triage feedback within this many working days (Monday to Friday).
    triage_target_days: int = 2
    # The day the CMS went live: the insight charts start here (FEEDBACK_PORTAL_GO_LIVE, YYYY-MM-DD).
    go_live: dt.date = dt.date(2026, 3, 2)

    def __post_init__(self) -> None:
        _check_smtp(self)

    @property
    def smtp_configured(self) -> bool:
        return bool(self.smtp_host)

    @property
    def uploads_dir(self) -> Path:
        return self.data_dir / "uploads"

    @property
    def index_dir(self) -> Path:
        return self.data_dir / "index"

    @classmethod
    def for_data_dir(cls, data_dir: Path | str, **overrides: object) -> Settings:
        """Settings for an embedded portal under one folder (used by tests and the CLI)."""
        data_dir = Path(data_dir).resolve()
        values: dict[str, object] = {
            "data_dir": data_dir,
            "database_url": f"sqlite:///{data_dir / 'portal.db'}",
            "secret_key": overrides.pop("secret_key", None) or _persistent_secret(data_dir),
        }
        values.update(overrides)
        return cls(**values)  # type: ignore[arg-type]

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ

        def get(name: str, default: str = "") -> str:
            return env.get(PREFIX + name, default).strip()

        data_dir = Path(get("DATA_DIR", "data")).resolve()
        overrides: dict[str, object] = {}
        if get("DATABASE_URL"):
            overrides["database_url"] = get("DATABASE_URL")
        if get("SECRET_KEY"):
            if len(get("SECRET_KEY")) < 32:
                raise SettingsError(f"{PREFIX}SECRET_KEY must be at least 32 characters long")
            overrides["secret_key"] = get("SECRET_KEY")
        for name, field in (
            ("SECURE_COOKIES", "secure_cookies"),
            ("SMTP_STARTTLS", "smtp_starttls"),
            ("DEBUG", "debug"),
        ):
            if get(name):
                overrides[field] = _boolean(name, get(name))
        if get("SAFEGUARDING_TEXT"):
            overrides["safeguarding_text"] = get("SAFEGUARDING_TEXT")
        for name, field in (
            ("SESSION_HOURS", "session_hours"),
            ("ORIGINAL_TEXT_DAYS", "original_text_days"),
            ("TRIAGE_TARGET_DAYS", "triage_target_days"),
        ):
            if get(name):
                overrides[field] = _positive_int(name, get(name))
        if get("GO_LIVE"):
            overrides["go_live"] = _date("GO_LIVE", get("GO_LIVE"))
        if get("SMTP_PORT"):
            overrides["smtp_port"] = _port("SMTP_PORT", get("SMTP_PORT"))
        if get("SMTP_TIMEOUT"):
            overrides["smtp_timeout"] = _seconds("SMTP_TIMEOUT", get("SMTP_TIMEOUT"))
        for name, field in (
            ("SMTP_HOST", "smtp_host"),
            ("SMTP_USERNAME", "smtp_username"),
            ("SMTP_PASSWORD", "smtp_password"),
            ("SMTP_FROM", "smtp_from"),
        ):
            if get(name):
                overrides[field] = get(name)
        return cls.for_data_dir(data_dir, **overrides)


def _boolean(name: str, value: str) -> bool:
    lowered = value.lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise SettingsError(f"{PREFIX}{name} must be true or false, not {value!r}")


def _positive_int(name: str, value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise SettingsError(f"{PREFIX}{name} must be a whole number, not {value!r}") from None
    if number <= 0:
        raise SettingsError(f"{PREFIX}{name} must be greater than zero, not {value!r}")
    return number


def _date(name: str, value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise SettingsError(f"{PREFIX}{name} must be a date like 2026-03-02, not {value!r}") from None


def _port(name: str, value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise SettingsError(f"{PREFIX}{name} must be a port number from 1 to 65535, not {value!r}") from None
    if not 1 <= number <= 65535:
        raise SettingsError(f"{PREFIX}{name} must be a port number from 1 to 65535, not {value!r}")
    return number


def _seconds(name: str, value: str) -> float:
    try:
        number = float(value)
    except ValueError:
        raise SettingsError(f"{PREFIX}{name} must be a number of seconds, not {value!r}") from None
    if not math.isfinite(number) or not 0 < number <= 300:
        raise SettingsError(f"{PREFIX}{name} must be more than 0 and at most 300 seconds, not {value!r}")
    return number


# A host name (an IP address is checked with the ipaddress module): no scheme, port, path or spaces.
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_HOST = re.compile(rf"^{_LABEL}(?:\.{_LABEL})*\.?\Z")
_ADDRESS = re.compile(r"^[^@\s<>()\[\]\\,;:\"]+@[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?\Z")


def _is_host(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return len(value) <= 253 and bool(_HOST.match(value))
    return True


def is_email_address(value: str) -> bool:
    """A plain address (local@domain), safe in a mail header: no display name, spaces or line breaks."""
    return bool(_ADDRESS.match(value)) and ".." not in value.split("@", 1)[1]


def _check_smtp(settings: Settings) -> None:
    """SMTP settings are checked when the portal starts, so a typo fails loudly instead of losing email."""
    host = settings.smtp_host
    if host and not _is_host(host):
        raise SettingsError(
            f"{PREFIX}SMTP_HOST must be a host name or IP address such as smtp.council.example "
            f"(no smtp://, port or spaces), not {host!r}"
        )
    if isinstance(settings.smtp_port, bool) or not isinstance(settings.smtp_port, int) or not (
        1 <= settings.smtp_port <= 65535
    ):
        raise SettingsError(
            f"{PREFIX}SMTP_PORT must be a port number from 1 to 65535, not {settings.smtp_port!r}"
        )
    if not isinstance(settings.smtp_starttls, bool):
        raise SettingsError(f"{PREFIX}SMTP_STARTTLS must be true or false, not {settings.smtp_starttls!r}")
    timeout = settings.smtp_timeout
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or not (
        math.isfinite(timeout) and 0 < timeout <= 300
    ):
        raise SettingsError(
            f"{PREFIX}SMTP_TIMEOUT must be more than 0 and at most 300 seconds, not {timeout!r}"
        )
    _, address = email.utils.parseaddr(settings.smtp_from)
    if not settings.smtp_from or not is_email_address(settings.smtp_from) or address != settings.smtp_from:
        raise SettingsError(
            f"{PREFIX}SMTP_FROM must be an email address such as cms-feedback@council.example, "
            f"not {settings.smtp_from!r}"
        )
    if bool(settings.smtp_username) != bool(settings.smtp_password):
        missing = "SMTP_PASSWORD" if settings.smtp_username else "SMTP_USERNAME"
        raise SettingsError(
            f"{PREFIX}SMTP_USERNAME and {PREFIX}SMTP_PASSWORD go together: set {PREFIX}{missing} too, "
            "or neither"
        )
    for name, value in (("SMTP_USERNAME", settings.smtp_username), ("SMTP_PASSWORD", settings.smtp_password)):
        if "\r" in value or "\n" in value:
            raise SettingsError(f"{PREFIX}{name} must not contain line breaks")


def _persistent_secret(data_dir: Path) -> str:
    """A random secret kept in the data folder, so sessions survive restarts and are shared by workers."""
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / "secret_key"
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        pass
    candidate = secrets.token_urlsafe(48)
    try:
        # O_EXCL: when several workers start at once, exactly one writes the secret.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    with os.fdopen(fd, "w") as handle:
        handle.write(candidate)
    return candidate
