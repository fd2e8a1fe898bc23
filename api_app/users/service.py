"""The signed-in user's own account; changes that need the current password again check it
before they act."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import delete

from api_app.auth.passwords import check_password, hash_password
from api_app.auth.service import sign_out_everywhere
from api_app.changes import UNSET, Unset, pick
from api_app.domain_errors import WrongPasswordError
from api_app.extensions import db
from api_app.ledgers.service import check_name_free, leave_every_ledger
from api_app.models import User
from api_app.unit_of_work import UnitOfWork
from event_contract import PASSWORD_CHANGED, Event, UserDeleted, UserLocaleChanged


def get_account(user_id: uuid.UUID) -> User:
    # The request's user check loaded the row already: the session's identity map answers.
    return db.session.get_one(User, user_id)


def change_password(user_id: uuid.UUID, current_password: str, new_password: str) -> None:
    """Set a new password and sign out every session: a stolen token, refresh or access, dies
    with the old password."""
    with UnitOfWork(user_id) as uow:
        user = uow.session.get_one(User, user_id)
        _confirm_password(user, current_password)
        user.password_hash = hash_password(new_password)
        sign_out_everywhere(uow, user_id, PASSWORD_CHANGED)


@dataclass(frozen=True)
class AccountChanges:
    """A PATCH of the account: the fields given, UNSET for the others."""

    timezone: str | Unset = UNSET
    language: str | Unset | None = UNSET
    currency: str | Unset | None = UNSET
    display_name: str | Unset | None = UNSET


def change_settings(user_id: uuid.UUID, changes: AccountChanges) -> User:
    """The IANA zone in which the user's days begin and end, and the language the bot and the
    alerts speak and the currency of their amounts (notify_app learns them through
    user.locale_changed)."""
    with UnitOfWork(user_id) as uow:
        user = uow.session.get_one(User, user_id)
        if not isinstance(changes.timezone, Unset):
            user.timezone = changes.timezone
        if not isinstance(changes.display_name, Unset):
            if changes.display_name is not None:
                check_name_free(uow.session, user_id, changes.display_name)
            user.display_name = changes.display_name
        set_locale(
            uow,
            user,
            language=pick(changes.language, user.language),
            currency=pick(changes.currency, user.currency),
        )
    return user


def set_locale(uow: UnitOfWork, user: User, *, language: str | None, currency: str | None) -> None:
    """The account's language and currency; notify_app is told when either changes."""
    if (user.language, user.currency) != (language, currency):
        user.language, user.currency = language, currency
        uow.record(
            Event(user_id=user.id, payload=UserLocaleChanged(language=language, currency=currency))
        )


def delete_account(user_id: uuid.UUID, password: str) -> None:
    """Delete the user; the foreign keys' ON DELETE CASCADE removes everything they own (their
    personal ledger with all its rows), and the user.deleted event tells notify_app to forget
    its side. Their shared ledgers keep their rows, made by nobody from now on, and pass to
    another member when they owned them (api_app.ledgers.service.leave_every_ledger)."""
    with UnitOfWork(user_id) as uow:
        _confirm_password(uow.session.get_one(User, user_id), password)
        leave_every_ledger(uow, user_id)
        uow.session.execute(delete(User).where(User.id == user_id))
        uow.record(Event(user_id=user_id, payload=UserDeleted()))


def _confirm_password(user: User, password: str) -> None:
    if not check_password(user.password_hash, password).matches:
        raise WrongPasswordError("the password is not correct")
