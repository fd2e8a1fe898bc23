"""OpenAPI pieces the authenticated areas share: the bearer scheme and the documented errors."""

from __future__ import annotations

from typing import Any

from flask_smorest import Api
from flask_smorest.error_handler import ErrorSchema

BEARER_SCHEME = "bearerAuth"
# For @blp.doc(security=BEARER_AUTH) on every operation that needs an access token.
BEARER_AUTH: list[dict[str, list[str]]] = [{BEARER_SCHEME: []}]

UNAUTHORIZED: dict[str, Any] = {
    "schema": ErrorSchema,
    "description": "Missing, expired or invalid access token",
    "headers": {"WWW-Authenticate": {"schema": {"type": "string", "example": "Bearer"}}},
}
RATE_LIMITED: dict[str, Any] = {
    "schema": ErrorSchema,
    "description": "Too many requests",
    "headers": {
        "Retry-After": {
            "description": "seconds to wait before trying again",
            "schema": {"type": "integer"},
        }
    },
}


def error(description: str) -> dict[str, Any]:
    """Keyword arguments for @blp.alt_response: the common error body, described."""
    return {"schema": ErrorSchema, "description": description}


def document_bearer_auth(api: Api) -> None:
    api.spec.components.security_scheme(
        BEARER_SCHEME, {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
    )
