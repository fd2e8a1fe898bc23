"""Access tokens: minted for a user, and accepted only while their user accepts them.

What a token must carry and the one JSON 401 that refuses it are both services' (service_kit's
token_policy). Here: the user a token names must still exist, so an account deleted a minute ago
cannot keep writing with a token that has not expired yet, and the token must carry the user's
current token epoch (`epoch` claim): logout-all, a password change and a detected refresh-token
theft raise the epoch, so every access token minted before is refused at once.
"""

from __future__ import annotations

import uuid

from flask import current_app
from flask_jwt_extended import JWTManager, create_access_token

from api_app.extensions import db
from api_app.ledgers.membership import Memberships, remember_for_request, token_user_statement
from api_app.models import User
from event_contract import TOKEN_EPOCH_CLAIM
from service_kit import token_policy

# Every protected request runs it: built once, so SQLAlchemy derives its cache key once. The
# user's ledger memberships come along, so a use case checks its ledger without a round trip.
TOKEN_USER = token_user_statement()


def mint_access_token(user: User) -> str:
    token: str = create_access_token(
        identity=str(user.id), additional_claims={TOKEN_EPOCH_CLAIM: user.token_epoch}
    )
    return token


def access_token_lifetime_seconds() -> int:
    return int(current_app.config["JWT_ACCESS_TOKEN_EXPIRES"].total_seconds())


def install_token_policy(jwt: JWTManager) -> None:
    token_policy.install_token_policy(jwt, epoch_claim=TOKEN_EPOCH_CLAIM, load_user=_token_user)


def _token_user(user_id: uuid.UUID, epoch: int) -> User | None:
    """The token's user, locked FOR KEY SHARE until the request's transaction ends: the account
    cannot be deleted while this request writes rows that belong to it (and plain reads are not
    slowed, as KEY SHARE conflicts only with deleting the row or changing its key). None, so
    refused, when the account is gone or the token predates its latest revocation."""
    row = db.session.execute(TOKEN_USER, {"user_id": user_id}).one_or_none()
    if row is None:
        return None
    user: User = row[0]
    if epoch < user.token_epoch:
        return None
    remember_for_request(Memberships.parse(user.id, row[1]))
    return user
