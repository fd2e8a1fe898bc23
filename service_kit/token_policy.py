"""What an access token must carry, and the one JSON 401 both services refuse it with.

flask-jwt-extended checks the signature (EdDSA only), expiry, issuer, audience and that the token
is an access token. On top of that a token must carry every claim api_app mints (`iat`, `exp`,
`jti`, a user id in `sub`, a whole-number epoch; a token without the epoch claim counts as epoch
0) and name a user its service still accepts: each service decides that over its own data
(`load_user`), and everything else is the same in both.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from flask import Response, jsonify
from flask_jwt_extended import JWTManager

from service_kit.access import TOKEN_NO_LONGER_VALID

JwtPart = dict[str, Any]
# (user id, the token's epoch) -> the request's user, or None: refused as no longer valid.
TokenUserLoader = Callable[[uuid.UUID, int], object | None]


def install_token_policy(jwt: JWTManager, *, epoch_claim: str, load_user: TokenUserLoader) -> None:
    def carries_every_claim(_header: JwtPart, data: JwtPart) -> bool:
        if not all(isinstance(data.get(claim), int) for claim in ("iat", "exp")):
            return False
        if not isinstance(data.get("jti"), str) or token_epoch(data, epoch_claim) is None:
            return False
        return token_user_id(data) is not None

    def token_user(_header: JwtPart, data: JwtPart) -> object | None:
        user_id, epoch = token_user_id(data), token_epoch(data, epoch_claim)
        if user_id is None or epoch is None:
            return None
        return load_user(user_id, epoch)

    jwt.unauthorized_loader(lambda _reason: unauthorized("missing access token", None))
    jwt.invalid_token_loader(lambda _reason: unauthorized("invalid access token"))
    jwt.expired_token_loader(lambda _header, _data: unauthorized("access token expired"))
    jwt.token_verification_loader(carries_every_claim)
    jwt.token_verification_failed_loader(_invalid_claims)
    jwt.revoked_token_loader(_invalid_claims)
    jwt.needs_fresh_token_loader(_invalid_claims)
    jwt.user_lookup_loader(token_user)
    jwt.user_lookup_error_loader(lambda _header, _data: unauthorized(TOKEN_NO_LONGER_VALID))


def unauthorized(message: str, error: str | None = "invalid_token") -> Response:
    """The common error shape, with the RFC 6750 challenge that says how to authenticate."""
    response = jsonify({"code": 401, "status": "Unauthorized", "message": message, "errors": {}})
    response.status_code = 401
    response.headers["WWW-Authenticate"] = "Bearer" if error is None else f'Bearer error="{error}"'
    return response


def token_user_id(data: JwtPart) -> uuid.UUID | None:
    try:
        return uuid.UUID(data["sub"])
    except (KeyError, TypeError, ValueError):
        return None


def token_epoch(data: JwtPart, epoch_claim: str) -> int | None:
    """The token's epoch claim (0 when absent), or None when it is not a whole number."""
    epoch = data.get(epoch_claim, 0)
    if not isinstance(epoch, int) or isinstance(epoch, bool):
        return None
    return epoch


def _invalid_claims(_header: JwtPart, _data: JwtPart) -> Response:
    return unauthorized("invalid access token")
