"""What a use case refuses, in its own terms: no status codes, no request locations.

Services raise these; the edge (notify_app.errors) turns each into the one JSON error shape, so
the same use case can serve a REST call, a CLI command or a task alike. A refusal may name the
input fields at fault: a field is a path into the use case's input, such as
("warn_at_percent",), with what is wrong with it. The same classes as api_app.domain_errors:
the services share no code, but they speak alike.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Self

FieldPath = tuple[str | int, ...]


class DomainError(Exception):
    """A use case refused; what its unit of work had not committed is rolled back."""

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
    """The change contradicts what exists: a test message with no chat linked to send it to."""


class InvalidError(DomainError):
    """Well-formed input that the use case cannot accept."""


class UnavailableError(DomainError):
    """Something the use case needs (the broker) did not answer: try again shortly. What the
    use case recorded before says what became of it (a test message's failed delivery)."""
