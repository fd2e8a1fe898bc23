"""What notify_app's use cases refuse: the kit's domain errors (service_kit.domain_errors), which
the edge maps to 404, 409, 422 and 503 in the one JSON error shape, as api_app's are."""

from service_kit.domain_errors import (
    ConflictError,
    DomainError,
    FieldPath,
    InvalidError,
    NotFoundError,
    UnavailableError,
)

__all__ = [
    "ConflictError",
    "DomainError",
    "FieldPath",
    "InvalidError",
    "NotFoundError",
    "UnavailableError",
]
