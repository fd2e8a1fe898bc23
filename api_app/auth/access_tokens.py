"""Access tokens: minted for a user, and refused with one JSON 401 answer when anything is off.

flask-jwt-extended already checks the signature (EdDSA only: `alg: none` and HMAC tokens are
refused), expiry, issuer, audience and that the token is an access token. On top of that a token
must carry every claim we mint and name a user that still exists, so an account deleted a minute
ago cannot keep writing with a token that has not expired yet, and carry the user's current
token epoch (`epoch` claim): logout-all, a password change and a detected refresh-token theft
raise the epoch, so every access token minted before is refused at once. A token without the
claim counts as epoch 0.
"""

from __future__ import annotations

import uuid
from typing import Any

from flask import Response, current_app, jsonify
from flask_jwt_extended import JWTManager, create_access_token

from api_app.extensions import db
from api_app.ledgers.membership import Memberships, remember_for_request, token_user_statement
from api_app.models import User
from event_contract import TOKEN_EPOCH_CLAIM
from service_kit.access import TOKEN_NO_LONGER_VALID

JwtPart = dict[str, Any]


# Every protected request runs it: built once, so SQLAlchemy derives its cache key once. The
# user's ledger memberships come along, so a use case checks its ledger without a round trip.
TOKEN_USER = token_user_statement()


def mint_access_token(user: User) -> str:
    token: str = create_access_token(
        identity=str(user.id), additional_claims={TOKEN_EPOCH_CLAIM: user.token_epoch}
    )
    return token


def token_epoch(data: JwtPart) -> int | None:
    """The token's epoch claim (0 when absent), or None when it is not a whole number."""
    epoch = data.get(TOKEN_EPOCH_CLAIM, 0)
    if not isinstance(epoch, int) or isinstance(epoch, bool):
        return None
    return epoch


def access_token_lifetime_seconds() -> int:
    return int(current_app.config["JWT_ACCESS_TOKEN_EXPIRES"].total_seconds())


def install_token_policy(jwt: JWTManager) -> None:
    jwt.unauthorized_loader(lambda _reason: unauthorized("missing access token", None))
    jwt.invalid_token_loader(lambda _reason: unauthorized("invalid access token"))
    jwt.expired_token_loader(lambda _header, _data: unauthorized("access token expired"))
    jwt.token_verification_loader(_carries_every_claim)
    jwt.token_verification_failed_loader(_invalid_claims)
    jwt.user_lookup_loader(_token_user)
    jwt.user_lookup_error_loader(lambda _header, _data: unauthorized(TOKEN_NO_LONGER_VALID))
    jwt.revoked_token_loader(_invalid_claims)
    jwt.needs_fresh_token_loader(_invalid_claims)


def unauthorized(message: str, error: str | None = "invalid_token") -> Response:
    """The common error shape, with the RFC 6750 challenge that says how to authenticate."""
    response = jsonify({"code": 401, "status": "Unauthorized", "message": message, "errors": {}})
    response.status_code = 401
    response.headers["WWW-Authenticate"] = "Bearer" if error is None else f'Bearer error="{error}"'
    return response


def _carries_every_claim(_header: JwtPart, data: JwtPart) -> bool:
    if not all(isinstance(data.get(claim), int) for claim in ("iat", "exp")):
        return False
    if token_epoch(data) is None:
        return False
    return isinstance(data.get("jti"), str) and _user_id(data) is not None


def _invalid_claims(_header: JwtPart, _data: JwtPart) -> Response:
    return unauthorized("invalid access token")


def _token_user(_header: JwtPart, data: JwtPart) -> User | None:
    """The token's user, locked FOR KEY SHARE until the request's transaction ends: the account
    cannot be deleted while this request writes rows that belong to it (and plain reads are not
    slowed, as KEY SHARE conflicts only with deleting the row or changing its key). None, so
    refused, when the account is gone or the token predates its latest revocation."""
    user_id = _user_id(data)
    epoch = token_epoch(data)
    if user_id is None or epoch is None:
        return None
    row = db.session.execute(TOKEN_USER, {"user_id": user_id}).one_or_none()
    if row is None:
        return None
    user: User = row[0]
    if epoch < user.token_epoch:
        return None
    remember_for_request(Memberships.parse(user.id, row[1]))
    return user


def _user_id(data: JwtPart) -> uuid.UUID | None:
    try:
        return uuid.UUID(data["sub"])
    except (KeyError, TypeError, ValueError):
        return None
