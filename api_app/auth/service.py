"""Sign-up, sign-in and the refresh-token life cycle: one unit of work per use case."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from api_app.auth import refresh_tokens
from api_app.auth.access_tokens import access_token_lifetime_seconds, mint_access_token
from api_app.auth.passwords import check_password, hash_password
from api_app.ledgers.creation import PERSONAL_LEDGER_NAME, create_ledger
from api_app.models import User
from api_app.unit_of_work import UnitOfWork
from event_contract import (
    LEDGER_PERSONAL,
    REFRESH_TOKEN_REUSED,
    SIGNED_OUT_EVERYWHERE,
    Event,
    UserRegistered,
    UserSessionsRevoked,
)
from service_kit.i18n import choose_language


class EmailTakenError(Exception):
    pass


class InvalidCredentialsError(Exception):
    """Unknown email or wrong password: deliberately one error for both."""


@dataclass(frozen=True)
class IssuedSession:
    """What a client gets on sign-up, sign-in and refresh."""

    access_token: str
    refresh_token: str
    expires_in: int
    user: User
    token_type: str = "Bearer"  # noqa: S105 - the OAuth token type, not a secret


def register(
    email: str, password: str, *, language: str | None = None, client_language: str | None = None
) -> IssuedSession:
    """`language`: the person's choice, kept; `client_language`: what their client prefers
    (Accept-Language), for the default categories' names only."""
    with UnitOfWork() as uow:
        if _user_by_email(uow.session, email) is not None:
            raise EmailTakenError
        user = User(email=email, password_hash=hash_password(password), language=language)
        uow.session.add(user)
        try:
            uow.session.flush()
        except IntegrityError:
            # Another request registered the same email between the check and the insert.
            raise EmailTakenError from None
        # Their personal ledger, its ownership and its default categories: one statement.
        create_ledger(
            uow.session,
            name=PERSONAL_LEDGER_NAME,
            kind=LEDGER_PERSONAL,
            owner_id=user.id,
            language=choose_language(language, client_language),
        )
        session = _issue_session(user)
        uow.record(
            Event(user_id=user.id, payload=UserRegistered(email=user.email, language=language))
        )
    return session


def login(email: str, password: str) -> IssuedSession:
    with UnitOfWork() as uow:
        user = _user_by_email(uow.session, email)
        check = check_password(None if user is None else user.password_hash, password)
        if user is None or not check.matches:
            raise InvalidCredentialsError
        if check.needs_rehash:
            user.password_hash = hash_password(password)
        return _issue_session(user)


def refresh(token: str) -> IssuedSession:
    """Trade a refresh token for a new pair; the presented token is used up."""
    with UnitOfWork() as uow:
        try:
            user_id, successor = refresh_tokens.rotate(token)
        except refresh_tokens.RefreshTokenReuseError as reuse:
            # Theft: whoever holds a copy loses every session, access tokens included. The
            # revocation must stand although this request fails: the unit commits it, and the
            # refusal is raised after.
            sign_out_everywhere(uow, reuse.user_id, REFRESH_TOKEN_REUSED)
            theft = reuse
        else:
            return _session(uow.session.get_one(User, user_id), successor)
    raise theft


def logout(token: str) -> None:
    with UnitOfWork():
        refresh_tokens.revoke(token)


def logout_everywhere(user: User) -> None:
    with UnitOfWork() as uow:
        sign_out_everywhere(uow, user.id, SIGNED_OUT_EVERYWHERE)


def sign_out_everywhere(uow: UnitOfWork, user_id: uuid.UUID, reason: str) -> None:
    """Revoke every refresh token and raise the token epoch, which refuses every access token
    minted before, here and (told by user.sessions_revoked, with the `reason`: one of the
    contract's SESSIONS_REVOKED_REASONS) in notify_app, which also unlinks the account's chat.
    In the caller's unit of work."""
    epoch = uow.session.execute(
        update(User)
        .where(User.id == user_id)
        .values(token_epoch=User.token_epoch + 1)
        .returning(User.token_epoch)
    ).scalar_one()
    refresh_tokens.revoke_all(user_id)
    uow.record(Event(user_id=user_id, payload=UserSessionsRevoked(epoch=epoch, reason=reason)))


def _user_by_email(session: Session, email: str) -> User | None:
    return session.execute(select(User).where(User.email == email)).scalar_one_or_none()


def _issue_session(user: User) -> IssuedSession:
    return _session(user, refresh_tokens.issue(user.id))


def _session(user: User, refresh_token: str) -> IssuedSession:
    return IssuedSession(
        access_token=mint_access_token(user),
        refresh_token=refresh_token,
        expires_in=access_token_lifetime_seconds(),
        user=user,
    )
