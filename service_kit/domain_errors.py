"""What a use case refuses, in its own terms: no status codes, no request locations.

Services raise these (or subclasses of their own); the edge (service_kit.errors) turns each into
the one JSON error shape (404, 409, 422, 429), so the same use case can serve a REST call, a CLI
command or a task alike. A refusal may name the input fields at fault: a field is a path into
the use case's input, such as ("amount",) or ("limits", 1, "category_id"), with what is wrong
with it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Self

FieldPath = tuple[str | int, ...]


class DomainError(Exception):
    """A use case refused; nothing it did is committed."""

    def __init__(self, message: str, *, fields: Mapping[FieldPath, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.fields: Mapping[FieldPath, str] = fields or {}

    @classmethod
    def on(cls, field: str, problem: str, message: str) -> Self:
        """The refusal of one input field: `problem` says what is wrong with it."""
        return cls(message, fields={(field,): problem})


class NotFoundError(DomainError):
    """No such thing of this user's (another user's counts as none)."""


class ConflictError(DomainError):
    """The change contradicts what exists: a name taken, a month already budgeted, dependents."""


class InvalidError(DomainError):
    """Well-formed input that the use case cannot accept (a withdrawal below zero)."""


class ForbiddenError(DomainError):
    """The user may see this but not do it (a password confirming a change is wrong)."""


class QuotaExceededError(DomainError):
    """The account used up a quota (rows written today): nothing was done, and nothing fits
    before `retry_after_seconds` (when the quota's window frees)."""

    def __init__(self, message: str, *, retry_after_seconds: int) -> None:
        super().__init__(message)
        self.retry_after_seconds = retry_after_seconds


class UnavailableError(DomainError):
    """Something the use case needs (the broker) did not answer: try again shortly. What the
    use case recorded before says what became of it."""
