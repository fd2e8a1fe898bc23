"""Account use cases that need the current password again before they act."""

from __future__ import annotations

from sqlalchemy import delete

from api_app.auth.passwords import check_password, hash_password
from api_app.auth.service import sign_out_everywhere
from api_app.events import user_deleted
from api_app.models import User
from api_app.unit_of_work import UnitOfWork


class WrongPasswordError(Exception):
    pass


def change_password(user: User, current_password: str, new_password: str) -> None:
    """Set a new password and sign out every session: a stolen token, refresh or access, dies
    with the old password."""
    with UnitOfWork():
        _confirm_password(user, current_password)
        user.password_hash = hash_password(new_password)
        sign_out_everywhere(user.id)


def change_timezone(user: User, timezone: str) -> User:
    """The IANA zone in which the user's days begin and end."""
    with UnitOfWork():
        user.timezone = timezone
    return user


def delete_account(user: User, password: str) -> None:
    """Delete the user; the foreign keys' ON DELETE CASCADE removes everything they own, and
    the user.deleted event tells notify_app to forget its side."""
    with UnitOfWork() as uow:
        _confirm_password(user, password)
        uow.session.execute(delete(User).where(User.id == user.id))
        uow.record(user_deleted(user.id))


def _confirm_password(user: User, password: str) -> None:
    if not check_password(user.password_hash, password).matches:
        raise WrongPasswordError
