"""Domain errors raised by services; app.py maps each to a response in one place."""

from __future__ import annotations


class DomainError(Exception):
    """Base for errors a user can be told about."""

    status_code = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ValidationFailed(DomainError):
    """Input broke a rule. `errors` maps each field name to a message to show beside it."""

    status_code = 422

    def __init__(self, errors: dict[str, str], message: str = "There is a problem") -> None:
        super().__init__(message)
        self.errors = errors


class NotFound(DomainError):
    status_code = 404


class Forbidden(DomainError):
    status_code = 403


class TooManyAttempts(DomainError):
    status_code = 429

    def __init__(self, message: str, retry_after_seconds: int) -> None:
        super().__init__(message)
        self.retry_after_seconds = retry_after_seconds


class Conflict(DomainError):
    status_code = 409
