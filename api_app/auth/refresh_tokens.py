"""Opaque refresh tokens: 256 random bits for the client, only their SHA-256 digest in the database.

Each token is good for one refresh. Rotation keeps the consumed token's row, its digest marked
with CONSUMED_MARK and the time in consumed_at, until the token would have expired. A consumed
token presented again within REFRESH_REUSE_GRACE_SECONDS is a race (two tabs refreshing at
once) and is honoured; later it is recognised as reuse (someone else holds a copy), and the
caller signs the user out everywhere. Revoking deletes rows. These functions join the caller's
transaction; the caller commits.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from datetime import UTC, datetime, timedelta
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
    """An already consumed token came back after the grace period: someone holds a copy."""

    def __init__(self, user_id: uuid.UUID) -> None:
        super().__init__(user_id)
        self.user_id = user_id


def issue(user_id: uuid.UUID) -> str:
    token = secrets.token_urlsafe(TOKEN_BYTES)
    expires_at = datetime.now(UTC) + current_app.config["REFRESH_TOKEN_TTL"]
    db.session.add(RefreshToken(token=_digest(token), user_id=user_id, expires_at=expires_at))
    return token


def consume(token: str) -> uuid.UUID:
    """Use up a live token and return its user's id.

    A single UPDATE marks the row, so two requests racing with the same token cannot both
    consume it: the loser waits for the winner's row lock, then finds the token consumed a
    moment ago, within the grace period, and is let through too.
    """
    digest = _digest(token)
    user_id: uuid.UUID | None = db.session.execute(
        update(RefreshToken)
        .where(RefreshToken.token == digest, RefreshToken.expires_at > func.now())
        .values(token=CONSUMED_MARK + digest, consumed_at=func.now())
        .returning(RefreshToken.user_id)
    ).scalar_one_or_none()
    if user_id is not None:
        return user_id
    grace = timedelta(seconds=current_app.config["REFRESH_REUSE_GRACE_SECONDS"])
    consumed = db.session.execute(
        select(
            RefreshToken.user_id,
            (RefreshToken.consumed_at > func.now() - grace).label("within_grace"),
        ).where(RefreshToken.token == CONSUMED_MARK + digest, RefreshToken.expires_at > func.now())
    ).one_or_none()
    if consumed is None:
        raise InvalidRefreshTokenError
    owner: uuid.UUID = consumed.user_id
    if consumed.within_grace:
        return owner
    raise RefreshTokenReuseError(owner)


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
