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

from flask_jwt_extended import JWTManager
from flask_smorest import Api
from sqlalchemy import bindparam, func, select

from event_contract import TOKEN_EPOCH_CLAIM
from notify_app.extensions import db
from notify_app.models import DeletedUser, TokenEpoch
from service_kit import token_policy
from service_kit.openapi import document_bearer_auth


def install_token_policy(jwt: JWTManager, api: Api) -> None:
    token_policy.install_token_policy(jwt, epoch_claim=TOKEN_EPOCH_CLAIM, load_user=_token_user)
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


def _token_user(user_id: uuid.UUID, epoch: int) -> TokenUser | None:
    lock_user(user_id, shared=True)
    if db.session.get(DeletedUser, user_id) is not None:
        return None
    latest = db.session.scalar(select(TokenEpoch.epoch).where(TokenEpoch.user_id == user_id))
    if latest is not None and epoch < latest:
        return None
    return TokenUser(user_id)
