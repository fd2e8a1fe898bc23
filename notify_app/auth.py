"""Access tokens as notify_app sees them: verified with the api's public key, refused as JSON 401.

notify_app cannot mint tokens (it has no private key) and has no users table: a token is trusted
when its EdDSA signature, expiry, issuer, audience and type check out, it carries every claim
the api mints, with a user id in `sub`, its account was not deleted (`deleted_users`, from
user.deleted) and its `epoch` claim is not below the user's latest epoch (`token_epochs`, from
user.sessions_revoked). The same policy as api_app's, over notify_app's own copies of deletions
and epochs: the two services share no database.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from flask import Response, jsonify
from flask_jwt_extended import JWTManager
from flask_smorest import Api
from sqlalchemy import bindparam, func, select

from event_contract import TOKEN_EPOCH_CLAIM
from notify_app.extensions import db
from notify_app.models import DeletedUser, TokenEpoch
from service_kit.access import TOKEN_NO_LONGER_VALID
from service_kit.openapi import document_bearer_auth

JwtPart = dict[str, Any]


def install_token_policy(jwt: JWTManager, api: Api) -> None:
    jwt.unauthorized_loader(lambda _reason: unauthorized("missing access token", None))
    jwt.invalid_token_loader(lambda _reason: unauthorized("invalid access token"))
    jwt.expired_token_loader(lambda _header, _data: unauthorized("access token expired"))
    jwt.token_verification_loader(_carries_every_claim)
    jwt.token_verification_failed_loader(_invalid_claims)
    jwt.revoked_token_loader(_invalid_claims)
    jwt.needs_fresh_token_loader(_invalid_claims)
    jwt.user_lookup_loader(_token_user)
    jwt.user_lookup_error_loader(lambda _header, _data: unauthorized(TOKEN_NO_LONGER_VALID))
    document_bearer_auth(api)


@dataclass(frozen=True)
class TokenUser:
    """The user an accepted access token names; notify_app knows no more about them."""

    id: uuid.UUID


def lock_user(user_id: uuid.UUID, *, shared: bool) -> None:
    """A transaction advisory lock on the user. Event handlers take it exclusively up to their
    first write (the same key, in SQL: event_recipient, migration 0009); requests take it shared
    before they look at the user's tombstone and epoch, so a request either writes before a
    user.deleted is handled (and its rows are deleted with the rest) or sees the tombstone and
    writes nothing."""
    db.session.execute(_LOCK_USER_SHARED if shared else _LOCK_USER, {"user_key": str(user_id)})


# Built once: every event and every request takes one of them.
_LOCK_USER = select(func.pg_advisory_xact_lock(func.hashtext(bindparam("user_key"))))
_LOCK_USER_SHARED = select(func.pg_advisory_xact_lock_shared(func.hashtext(bindparam("user_key"))))


def _token_user(_header: JwtPart, data: JwtPart) -> TokenUser | None:
    user_id = _user_id(data)
    epoch = _token_epoch(data)
    if user_id is None or epoch is None:
        return None
    lock_user(user_id, shared=True)
    if db.session.get(DeletedUser, user_id) is not None:
        return None
    latest = db.session.scalar(select(TokenEpoch.epoch).where(TokenEpoch.user_id == user_id))
    if latest is not None and epoch < latest:
        return None
    return TokenUser(user_id)


def _user_id(data: JwtPart) -> uuid.UUID | None:
    try:
        return uuid.UUID(data["sub"])
    except (KeyError, TypeError, ValueError):
        return None


def _token_epoch(data: JwtPart) -> int | None:
    """The epoch claim (0 when absent, as api_app reads it), None when not a whole number."""
    epoch = data.get(TOKEN_EPOCH_CLAIM, 0)
    if not isinstance(epoch, int) or isinstance(epoch, bool):
        return None
    return epoch


def unauthorized(message: str, error: str | None = "invalid_token") -> Response:
    """The common error shape, with the RFC 6750 challenge that says how to authenticate."""
    response = jsonify({"code": 401, "status": "Unauthorized", "message": message, "errors": {}})
    response.status_code = 401
    response.headers["WWW-Authenticate"] = "Bearer" if error is None else f'Bearer error="{error}"'
    return response


def _carries_every_claim(_header: JwtPart, data: JwtPart) -> bool:
    if not all(isinstance(data.get(claim), int) for claim in ("iat", "exp")):
        return False
    if not isinstance(data.get("jti"), str) or _token_epoch(data) is None:
        return False
    return _user_id(data) is not None


def _invalid_claims(_header: JwtPart, _data: JwtPart) -> Response:
    return unauthorized("invalid access token")
