"""What api_app's use cases refuse: the kit's domain errors (service_kit.domain_errors), which
the edge maps to 404, 409 and 422 in the one JSON error shape."""

from service_kit.domain_errors import (
    ConflictError,
    DomainError,
    FieldPath,
    InvalidError,
    NotFoundError,
)

__all__ = ["ConflictError", "DomainError", "FieldPath", "InvalidError", "NotFoundError"]
