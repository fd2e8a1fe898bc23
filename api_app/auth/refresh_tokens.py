"""Opaque refresh tokens: 256 random bits for the client, only their SHA-256 digest in the database.

Each token is good for one refresh. Rotation keeps the consumed token's row, its digest marked
with CONSUMED_MARK and the time in consumed_at, until the token would have expired. A consumed
token presented again within REFRESH_REUSE_GRACE_SECONDS is a race (two tabs refreshing at
once) and is answered with the same successor: the successor of a token is derived from it with
a key only api_app holds, so it is found again without being stored. Both holders then share
one session, and whichever uses it second after the grace period is caught as reuse (someone
else holds a copy), which signs the user out everywhere. A successor that was revoked meanwhile
is not brought back. Revoking deletes rows. These functions join the caller's transaction; the
caller commits.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
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


def rotate(token: str) -> tuple[uuid.UUID, str]:
    """Use up a live token: its user's id and its successor, a new live token.

    A single UPDATE marks the row, so two requests racing with the same token cannot both
    consume it: the loser waits for the winner's row lock, then finds the token consumed a
    moment ago, within the grace period, and is answered the successor the winner created.
    """
    digest = _digest(token)
    successor = _successor(token)
    user_id: uuid.UUID | None = db.session.execute(
        update(RefreshToken)
        .where(RefreshToken.token == digest, RefreshToken.expires_at > func.now())
        .values(token=CONSUMED_MARK + digest, consumed_at=func.now())
        .returning(RefreshToken.user_id)
    ).scalar_one_or_none()
    if user_id is not None:
        expires_at = datetime.now(UTC) + current_app.config["REFRESH_TOKEN_TTL"]
        db.session.add(
            RefreshToken(token=_digest(successor), user_id=user_id, expires_at=expires_at)
        )
        return user_id, successor
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
    if not consumed.within_grace:
        raise RefreshTokenReuseError(owner)
    if not _exists(successor):
        # Signed out (or caught) since: the race is over, nothing to share.
        raise InvalidRefreshTokenError
    return owner, successor


def _successor(token: str) -> str:
    """The token that replaces `token`: as random as a fresh one to anyone without the key."""
    mac = hmac.new(_successor_key(), token.encode("utf-8", "surrogatepass"), hashlib.sha256)
    return base64.urlsafe_b64encode(mac.digest()).rstrip(b"=").decode()


def _successor_key() -> bytes:
    # Derived from the access tokens' private key, the one secret api_app holds (a hash of it
    # with a label of its own: the key itself never signs anything else).
    private_pem: str = current_app.config["JWT_PRIVATE_KEY"]
    return hashlib.sha256(b"refresh-token-successor\0" + private_pem.encode()).digest()


def _exists(token: str) -> bool:
    digest = _digest(token)
    return (
        db.session.execute(
            select(RefreshToken.id).where(
                RefreshToken.token.in_([digest, CONSUMED_MARK + digest]),
                RefreshToken.expires_at > func.now(),
            )
        ).first()
        is not None
    )


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
