"""What api_app's use cases refuse: the kit's domain errors (service_kit.domain_errors), which
the edge maps to 403, 404, 409, 422 and 429 in the one JSON error shape, and api_app's own."""

from service_kit.domain_errors import (
    ConflictError,
    DomainError,
    FieldPath,
    ForbiddenError,
    InvalidError,
    NotFoundError,
    QuotaExceededError,
)


class WrongPasswordError(ForbiddenError):
    """The password given to confirm a change is not the account's."""


__all__ = [
    "ConflictError",
    "DomainError",
    "FieldPath",
    "ForbiddenError",
    "InvalidError",
    "NotFoundError",
    "QuotaExceededError",
    "WrongPasswordError",
]
