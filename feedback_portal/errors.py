"""Domain errors raised by services; app.py maps each to a response in one place."""

from __future__ import annotations

import dataclasses


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


@dataclasses.dataclass(frozen=True)
class RowError:
    """One problem in an imported file. `line` is the line (spreadsheet row) the person sees, the header
    being line 1; None when the problem is with the file as a whole."""

    line: int | None
    field: str | None
    message: str

    def __str__(self) -> str:
        where = f"line {self.line}: " if self.line is not None else ""
        what = f"{self.field} " if self.field else ""
        return f"{where}{what}{self.message}"


class ImportFailed(ValidationFailed):
    """An import was refused and nothing was saved. `problems` lists every bad row, or the file's problem."""

    def __init__(self, problems: list[RowError], message: str | None = None) -> None:
        self.problems = problems
        if message is None:
            if len(problems) == 1:
                message = f"Nothing was imported: {problems[0]}"
            else:
                message = f"Nothing was imported: the file has {len(problems):,} problems"
        super().__init__({"file": message}, message=message)
