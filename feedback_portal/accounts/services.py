"""Accounts: creating people, checking passwords, sign-in sessions, rate limits and API tokens."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets

import argon2
import sqlalchemy as sa
from sqlalchemy import orm

from feedback_portal.accounts.models import LoginAttempt, Role, SignInSession, Team, User
from feedback_portal.db import begin_write, utcnow
from feedback_portal.errors import TooManyAttempts, ValidationFailed

_hasher = argon2.PasswordHasher()
# Verifying against this keeps the time of "no such user" the same as "wrong password".
_DUMMY_HASH = _hasher.hash("not-a-real-password")
EMAIL_PATTERN = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MIN_PASSWORD_LENGTH = 10


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def normalise_email(email: str) -> str:
    return email.strip().lower()


class AccountService:
    def __init__(self, session: orm.Session) -> None:
        self.session = session

    # People and teams

    def team_by_slug(self, slug: str) -> Team | None:
        return self.session.scalar(sa.select(Team).where(Team.slug == slug))

    def ensure_team(self, slug: str, name: str | None = None) -> Team:
        team = self.team_by_slug(slug)
        if team is None:
            team = Team(slug=slug, name=name or slug.replace("-", " ").title())
            self.session.add(team)
            self.session.flush()
        return team

    def teams(self) -> list[Team]:
        return list(self.session.scalars(sa.select(Team).order_by(Team.name)))

    def create_user(
        self, *, email: str, name: str, role: str, team_slug: str | None = None, password: str | None = None
    ) -> User:
        errors: dict[str, str] = {}
        email = normalise_email(email)
        if not EMAIL_PATTERN.match(email):
            errors["email"] = "Enter an email address like name@council.gov.uk"
        elif self.session.scalar(sa.select(User.id).where(User.email == email)) is not None:
            errors["email"] = "Someone already has that email address"
        if not name.strip():
            errors["name"] = "Enter the person's name"
        if role not in {r.value for r in Role}:
            errors["role"] = f"Role must be one of: {', '.join(r.value for r in Role)}"
        team = None
        if team_slug:
            team = self.team_by_slug(team_slug)
            if team is None:
                errors["team"] = f"There is no team {team_slug!r}"
        if password is not None and len(password) < MIN_PASSWORD_LENGTH:
            errors["password"] = f"Password must be at least {MIN_PASSWORD_LENGTH} characters"
        if errors:
            raise ValidationFailed(errors)
        user = User(
            email=email,
            name=name.strip(),
            role=role,
            team=team,
            password_hash=_hasher.hash(password) if password else None,
        )
        self.session.add(user)
        self.session.flush()
        return user

    def user_by_email(self, email: str) -> User | None:
        return self.session.scalar(sa.select(User).where(User.email == normalise_email(email)))

    def issue_api_token(self, user: User) -> str:
        """A new bearer token for the API; the previous one stops working."""
        token = "fp_" + secrets.token_urlsafe(32)
        user.api_token_hash = token_digest(token)
        return token

    def user_for_api_token(self, token: str) -> User | None:
        return self.session.scalar(
            sa.select(User).where(User.api_token_hash == token_digest(token), User.active.is_(True))
        )

    # Signing in

    def authenticate(self, email: str, password: str, *, window_minutes: int, max_attempts: int) -> User:
        """The user with these credentials, or ValidationFailed; too many failures raise TooManyAttempts."""
        email = normalise_email(email)
        errors: dict[str, str] = {}
        if not email:
            errors["email"] = "Enter your email address"
        if not password:
            errors["password"] = "Enter your password"
        if errors:
            raise ValidationFailed(errors)
        begin_write(self.session)
        since = utcnow() - dt.timedelta(minutes=window_minutes)
        failures = self.session.scalar(
            sa.select(sa.func.count())
            .select_from(LoginAttempt)
            .where(LoginAttempt.email == email, LoginAttempt.attempted_at > since)
        )
        if failures >= max_attempts:
            raise TooManyAttempts(
                f"Too many failed sign-in attempts for this email address. "
                f"Wait {window_minutes} minutes and try again, or ask an administrator to reset your password.",
                retry_after_seconds=window_minutes * 60,
            )
        user = self.user_by_email(email)
        if user is None or not user.active or not user.password_hash or not self._password_matches(user, password):
            if user is None or not user.password_hash:
                self._password_matches(None, password)
            self.session.add(LoginAttempt(email=email))
            # The failure must count even though the caller's transaction ends in an error.
            self.session.commit()
            raise ValidationFailed(
                {"email": "The email address or password is not right"}, message="Sign-in failed"
            )
        self.session.execute(sa.delete(LoginAttempt).where(LoginAttempt.email == email))
        return user

    def _password_matches(self, user: User | None, password: str) -> bool:
        try:
            _hasher.verify(user.password_hash if user else _DUMMY_HASH, password)
        except argon2.exceptions.VerificationError:
            return False
        except argon2.exceptions.InvalidHashError:
            return False
        if user is not None and _hasher.check_needs_rehash(user.password_hash):
            user.password_hash = _hasher.hash(password)
        return user is not None

    def start_session(self, user: User, *, hours: int) -> str:
        token = secrets.token_urlsafe(32)
        self.session.add(
            SignInSession(
                token_hash=token_digest(token), user_id=user.id, expires_at=utcnow() + dt.timedelta(hours=hours)
            )
        )
        # Tidy up this person's expired sessions while we are here.
        self.session.execute(
            sa.delete(SignInSession).where(SignInSession.user_id == user.id, SignInSession.expires_at < utcnow())
        )
        return token

    def user_for_session(self, token: str) -> User | None:
        return self.session.scalar(
            sa.select(User)
            .join(SignInSession, SignInSession.user_id == User.id)
            .where(
                SignInSession.token_hash == token_digest(token),
                SignInSession.expires_at > utcnow(),
                User.active.is_(True),
            )
        )

    def end_session(self, token: str) -> None:
        begin_write(self.session)
        self.session.execute(sa.delete(SignInSession).where(SignInSession.token_hash == token_digest(token)))
