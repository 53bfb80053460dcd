"""Settings: one frozen dataclass read from FEEDBACK_PORTAL_* environment variables."""

from __future__ import annotations

import dataclasses
import os
import secrets
from pathlib import Path

PREFIX = "FEEDBACK_PORTAL_"


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
    debug: bool = False
    # Keep this host's search index up to date from a thread in each worker (one of them writes).
    background_indexer: bool = True

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
        for name, field in (
            ("SESSION_HOURS", "session_hours"),
            ("SMTP_PORT", "smtp_port"),
        ):
            if get(name):
                overrides[field] = _positive_int(name, get(name))
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
