"""Link codes and the bot commands that use them; each function is one unit of work."""

from __future__ import annotations

import hashlib
import logging
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, bindparam, delete, func, or_, select, update

from notify_app.auth import lock_user
from notify_app.domain_errors import NotFoundError
from notify_app.extensions import db
from notify_app.models import DeletedUser, NotificationSettings, TelegramLinkCode
from notify_app.settings.service import SettingsChanges, update_settings
from notify_app.unit_of_work import UnitOfWork
from service_kit.i18n import Translator, choose_language, supported_language, translator

logger = logging.getLogger(__name__)


def linked_reply(t: Translator, account: str | None) -> str:
    if account is None:
        # Only for accounts whose user.registered event has not been handled yet.
        return t.gettext(
            "Linked! Budget alerts for the account that opened this link will arrive in this"
            " chat. Not your account? Send /stop to unlink."
        )
    return t.gettext(
        "Linked! Budget alerts for the account %(account)s will arrive in this chat."
        " Not your account? Send /stop to unlink."
    ) % {"account": account}


def unknown_code_reply(t: Translator) -> str:
    return t.gettext(
        "This link is not valid any more: it was used already or has expired. "
        "Ask the app for a new Telegram link and open it again."
    )


def no_code_reply(t: Translator) -> str:
    return t.gettext(
        "Hi! To get budget alerts here, open the Telegram link from the app's settings."
    )


def group_code_in_private_reply(t: Translator) -> str:
    return t.gettext(
        "This link adds me to a group: open it again and pick the household's group chat."
    )


def stopped_reply(t: Translator) -> str:
    return t.gettext("Unlinked. You will not get budget alerts in this chat any more.")


def not_linked_reply(t: Translator) -> str:
    return t.gettext("This chat is not linked to any account.")


def moved_reply(t: Translator, account: str | None, previous: str | None) -> str:
    """A chat belongs to one account at a time: linking it elsewhere lets go of the one before,
    and the reply names both (an account whose user.registered event is not handled yet has no
    name here yet: the sentence says so instead)."""
    if account is None:
        linked = t.gettext(
            "Linked! Budget alerts for the account that opened this link will arrive in this chat."
        )
    else:
        linked = t.gettext(
            "Linked! Budget alerts for the account %(account)s will arrive in this chat."
        ) % {"account": account}
    if previous is None:
        released = t.gettext(
            "This chat is no longer linked to the account it was linked to before."
        )
    else:
        released = t.gettext(
            "This chat is no longer linked to the account it was linked to before (%(previous)s)."
        ) % {"previous": previous}
    advice = t.gettext(
        "Not what you meant? Send /stop to unlink, then open the link from the other account's app."
    )
    return f"{linked} {released} {advice}"


@dataclass(frozen=True)
class LinkOffer:
    code: str
    expires_at: datetime


def email_hint(email: str) -> str:
    """The email with most of its local part masked: enough for the owner to recognise it,
    too little for a stranger who linked a chat by mistake to learn it (a***@example.com)."""
    local, at, domain = email.rpartition("@")
    if not at or not local:
        return "***"
    return f"{local[0]}***@{domain}"


def code_digest(code: str) -> str:
    return hashlib.sha256(code.encode()).hexdigest()


def create_link_code(user_id: uuid.UUID, valid_for: timedelta) -> LinkOffer:
    """A code that links the private chat which opens it to the user's alerts."""
    with UnitOfWork() as uow:
        return new_link_code(uow, user_id, valid_for)


def new_link_code(
    uow: UnitOfWork,
    user_id: uuid.UUID,
    valid_for: timedelta,
    *,
    ledger_id: uuid.UUID | None = None,
) -> LinkOffer:
    """A one-time code of the user's; with `ledger_id`, one that links a group to the ledger."""
    # 24 random bytes -> 32 URL-safe characters, inside Telegram's 64-character start parameter.
    code = secrets.token_urlsafe(24)
    expires_at = datetime.now(UTC) + valid_for
    uow.session.add(
        TelegramLinkCode(
            user_id=user_id,
            ledger_id=ledger_id,
            code_digest=code_digest(code),
            expires_at=expires_at,
        )
    )
    return LinkOffer(code, expires_at)


def start_command(chat_id: str, code: str | None, language_code: str | None = None) -> str:
    """`/start CODE`: link the chat to the code's user if the code is valid; returns the reply,
    in the user's language, else the sender's Telegram language (`language_code`), which is
    remembered as the chat's for the user's alerts."""
    if not code:
        return no_code_reply(translator(language_code))
    try:
        with UnitOfWork() as uow:
            user_id, _ = consume_code(uow, code, for_group=False)
            previous = _release_chat(uow, chat_id, new_owner=user_id)
            # The consumed code, the released chat and the linked chat are committed together.
            update_settings(user_id, SettingsChanges(telegram_chat_id=chat_id))
            row = uow.session.execute(
                update(NotificationSettings)
                .where(NotificationSettings.user_id == user_id)
                .values(telegram_language=supported_language(language_code))
                .returning(NotificationSettings.email_hint, NotificationSettings.language)
            ).one()
    except WrongChatError:
        logger.info("telegram /start in a private chat with a group's link code")
        return group_code_in_private_reply(translator(language_code))
    except NotFoundError:
        logger.info("telegram /start with an unknown, used or expired code")
        return unknown_code_reply(translator(language_code))
    logger.info("telegram chat linked", extra={"user_id": str(user_id)})
    t = translator(choose_language(row.language, language_code))
    if previous is None:
        return linked_reply(t, row.email_hint)
    logger.info("telegram chat moved to another account", extra={"user_id": str(previous)})
    return moved_reply(t, row.email_hint, _email_hint_of(previous))


def _release_chat(uow: UnitOfWork, chat_id: str, *, new_owner: uuid.UUID) -> uuid.UUID | None:
    """Unlink the chat from the account it belongs to, unless that is `new_owner`; that
    account. Two /starts from one chat take turns (a lock on the chat), so neither trips over
    the unique index on the chat id (migration 0010) that enforces one account per chat."""
    uow.session.execute(_LOCK_CHAT, {"chat_key": f"telegram chat {chat_id}"})
    return uow.session.execute(
        update(NotificationSettings)
        .where(
            NotificationSettings.telegram_chat_id == chat_id,
            NotificationSettings.user_id != new_owner,
        )
        .values(telegram_chat_id=None, updated_at=datetime.now(UTC))
        .returning(NotificationSettings.user_id)
    ).scalar_one_or_none()


_LOCK_CHAT = select(func.pg_advisory_xact_lock(func.hashtext(bindparam("chat_key"))))


def _email_hint_of(user_id: uuid.UUID) -> str | None:
    return db.session.scalar(
        select(NotificationSettings.email_hint).where(NotificationSettings.user_id == user_id)
    )


class WrongChatError(NotFoundError):
    """A group's code opened in a private chat, or a private chat's in a group: not consumed."""


def consume_code(
    uow: UnitOfWork, code: str, *, for_group: bool
) -> tuple[uuid.UUID, uuid.UUID | None]:
    """Mark the code used; the user it links, and the ledger for a group's code. NotFoundError
    for an unknown, used or expired code, or one of a deleted account; WrongChatError for a
    code of the other kind (a group's when `for_group` is False, a private chat's when True)."""
    now = datetime.now(UTC)
    found = uow.session.execute(
        select(TelegramLinkCode.user_id, TelegramLinkCode.ledger_id).where(
            TelegramLinkCode.code_digest == code_digest(code)
        )
    ).one_or_none()
    if found is None:
        raise NotFoundError("unknown link code")
    if (found.ledger_id is not None) != for_group:
        raise WrongChatError("a link code of the other kind of chat")
    # As for any request of the user's: a user.deleted being handled is waited for, and a
    # deleted account gets nothing linked.
    lock_user(found.user_id, shared=True)
    if uow.session.get(DeletedUser, found.user_id) is not None:
        raise NotFoundError("the link code's account was deleted")
    # The UPDATE both checks and consumes the code, so two racing /starts cannot both use it.
    user_id = uow.session.execute(
        update(TelegramLinkCode)
        .where(
            TelegramLinkCode.code_digest == code_digest(code),
            TelegramLinkCode.used_at.is_(None),
            TelegramLinkCode.expires_at > now,
        )
        .values(used_at=now)
        .returning(TelegramLinkCode.user_id)
    ).scalar_one_or_none()
    if user_id is None:
        raise NotFoundError("used or expired link code")
    return user_id, found.ledger_id


def stop_command(chat_id: str, t: Translator) -> str:
    """`/stop`: unlink the chat from whichever user it is linked to; returns the reply."""
    with UnitOfWork() as uow:
        unlinked = (
            uow.session.execute(
                update(NotificationSettings)
                .where(NotificationSettings.telegram_chat_id == chat_id)
                .values(telegram_chat_id=None, updated_at=datetime.now(UTC))
                .returning(NotificationSettings.user_id)
            )
            .scalars()
            .all()
        )
    return stopped_reply(t) if unlinked else not_linked_reply(t)


def purge_link_codes() -> int:
    """Delete link codes that can link nothing any more (expired or used); answers how many."""
    with UnitOfWork() as uow:
        result = uow.session.execute(
            delete(TelegramLinkCode).where(
                or_(
                    TelegramLinkCode.expires_at <= func.now(),
                    TelegramLinkCode.used_at.is_not(None),
                )
            )
        )
    return cast("CursorResult[Any]", result).rowcount
