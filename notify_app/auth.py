"""Access tokens as notify_app sees them: verified with the api's public key, refused as JSON 401.

notify_app cannot mint tokens (it has no private key) and has no users table: a token is trusted
when its EdDSA signature, expiry, issuer, audience and type check out and it carries every claim
the api mints, with a user id in `sub`. The same policy as api_app's, written twice because the
two services share no code.
"""

from __future__ import annotations

import uuid
from typing import Any

from flask import Response, jsonify
from flask_jwt_extended import JWTManager, get_jwt_identity
from flask_smorest import Api
from flask_smorest.error_handler import ErrorSchema

JwtPart = dict[str, Any]

BEARER_SCHEME = "bearerAuth"
BEARER_AUTH: list[dict[str, list[str]]] = [{BEARER_SCHEME: []}]
UNAUTHORIZED: dict[str, Any] = {
    "schema": ErrorSchema,
    "description": "Missing, expired or invalid access token",
    "headers": {"WWW-Authenticate": {"schema": {"type": "string", "example": "Bearer"}}},
}


def install_token_policy(jwt: JWTManager, api: Api) -> None:
    jwt.unauthorized_loader(lambda _reason: unauthorized("missing access token", None))
    jwt.invalid_token_loader(lambda _reason: unauthorized("invalid access token"))
    jwt.expired_token_loader(lambda _header, _data: unauthorized("access token expired"))
    jwt.token_verification_loader(_carries_every_claim)
    jwt.token_verification_failed_loader(_invalid_claims)
    jwt.revoked_token_loader(_invalid_claims)
    jwt.needs_fresh_token_loader(_invalid_claims)
    api.spec.components.security_scheme(
        BEARER_SCHEME, {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
    )


def current_user_id() -> uuid.UUID:
    """The signed-in user's id; only valid inside a @jwt_required view."""
    return uuid.UUID(get_jwt_identity())


def unauthorized(message: str, error: str | None = "invalid_token") -> Response:
    """The common error shape, with the RFC 6750 challenge that says how to authenticate."""
    response = jsonify({"code": 401, "status": "Unauthorized", "message": message, "errors": {}})
    response.status_code = 401
    response.headers["WWW-Authenticate"] = "Bearer" if error is None else f'Bearer error="{error}"'
    return response


def _carries_every_claim(_header: JwtPart, data: JwtPart) -> bool:
    if not all(isinstance(data.get(claim), int) for claim in ("iat", "exp")):
        return False
    if not isinstance(data.get("jti"), str):
        return False
    try:
        uuid.UUID(data["sub"])
    except (KeyError, TypeError, ValueError):
        return False
    return True


def _invalid_claims(_header: JwtPart, _data: JwtPart) -> Response:
    return unauthorized("invalid access token")
