"""Opaque refresh tokens: 256 random bits for the client, only their SHA-256 digest in the database.

Each token is good for one refresh. Rotation keeps the consumed token's row, its digest marked
with CONSUMED_MARK, until the token would have expired: a consumed token presented again is
recognised as reuse (someone else holds a copy) and every refresh token of its user is revoked.
Revoking deletes rows. These functions join the caller's transaction; the caller commits.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from datetime import UTC, datetime
from typing import Any, cast

from flask import current_app
from sqlalchemy import CursorResult, delete, func, select, update

from api_app.extensions import db
from api_app.models import RefreshToken

TOKEN_BYTES = 32
CONSUMED_MARK = "consumed:"
# A generous bound on what a client may present: real tokens are 43 characters.
MAX_PRESENTED_LENGTH = 256


class InvalidRefreshTokenError(Exception):
    """The token is unknown, expired, revoked or already consumed."""


class RefreshTokenReuseError(InvalidRefreshTokenError):
    """An already consumed token came back: the user's tokens have just been revoked."""


def issue(user_id: uuid.UUID) -> str:
    token = secrets.token_urlsafe(TOKEN_BYTES)
    expires_at = datetime.now(UTC) + current_app.config["REFRESH_TOKEN_TTL"]
    db.session.add(RefreshToken(token=_digest(token), user_id=user_id, expires_at=expires_at))
    return token


def consume(token: str) -> uuid.UUID:
    """Use up a live token and return its user's id.

    A single UPDATE marks the row, so two requests racing with the same token cannot both win:
    the loser sees a consumed token, which is reuse.
    """
    digest = _digest(token)
    user_id: uuid.UUID | None = db.session.execute(
        update(RefreshToken)
        .where(RefreshToken.token == digest, RefreshToken.expires_at > func.now())
        .values(token=CONSUMED_MARK + digest)
        .returning(RefreshToken.user_id)
    ).scalar_one_or_none()
    if user_id is not None:
        return user_id
    reused_by: uuid.UUID | None = db.session.execute(
        select(RefreshToken.user_id).where(RefreshToken.token == CONSUMED_MARK + digest)
    ).scalar_one_or_none()
    if reused_by is not None:
        revoke_all(reused_by)
        raise RefreshTokenReuseError
    raise InvalidRefreshTokenError


def revoke(token: str) -> None:
    db.session.execute(delete(RefreshToken).where(RefreshToken.token == _digest(token)))


def revoke_all(user_id: uuid.UUID) -> None:
    db.session.execute(delete(RefreshToken).where(RefreshToken.user_id == user_id))


def purge_expired() -> int:
    """Delete expired rows, live or consumed; answers how many."""
    result = db.session.execute(delete(RefreshToken).where(RefreshToken.expires_at <= func.now()))
    return cast("CursorResult[Any]", result).rowcount


def _digest(token: str) -> str:
    # The tokens are uniformly random, so a fast unsalted hash is enough: nothing to brute-force.
    # surrogatepass: whatever a client sends (JSON may carry lone surrogates) digests, never fails.
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()
