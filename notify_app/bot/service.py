"""Answering a Telegram update: link or unlink, help, or hand a command to api_app.

Only the webhook's own answer is sent from here (Telegram takes a Bot API call as the response
to its POST); a command's reply comes later, as a bot.reply event, through the worker.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any, Final

import redis
from flask import current_app
from sqlalchemy import select

from event_contract import (
    BOT_BALANCE,
    BOT_CHOOSE,
    BOT_COMMAND_TASK,
    BOT_INCOME,
    BOT_LANGUAGE,
    BOT_SETTLE,
    BOT_SPENT,
    BOT_SUMMARY,
    BOT_UNDO,
    BotCommand,
    bot_command_id,
)
from notify_app.bot.rate_limit import allow_command
from notify_app.bot.updates import Incoming, read_update
from notify_app.broker import QueueUnavailableError, task_sender
from notify_app.domain_errors import UnavailableError
from notify_app.linking import service as linking
from notify_app.models import NotificationSettings
from notify_app.unit_of_work import UnitOfWork
from service_kit.i18n import Translator, choose_language, translator

logger = logging.getLogger(__name__)

FORWARDED: Final = frozenset(
    {BOT_SPENT, BOT_INCOME, BOT_UNDO, BOT_SUMMARY, BOT_LANGUAGE, BOT_BALANCE, BOT_SETTLE}
)


def help_text(t: Translator) -> str:
    return t.gettext(
        "What I understand:\n"
        "/spent 12.50 food lunch - record an expense today (the category by name or by the start"
        " of it, then a description if you like)\n"
        "/income 1500 salary - record an income today\n"
        "/undo - remove the last entry made here (within 24 hours)\n"
        "/summary - this month so far, with a chart\n"
        "/language ru or /language en - the language I write in\n"
        "/stop - unlink this chat"
    )


def not_linked_text(t: Translator) -> str:
    return t.gettext(
        "This chat is not linked to an account, so I cannot record anything here yet. In the app,"
        " open Settings > Telegram and follow the link it gives you; it brings you back here"
        " linked."
    )


def private_only_text(t: Translator) -> str:
    return t.gettext("I take commands in a private chat only.")


def too_many_text(t: Translator) -> str:
    return t.gettext("That is a lot of commands in a minute; wait a moment and send it again.")


COMMAND_NOT_QUEUED: Final = "the command could not be queued; try again shortly"


class CommandNotSentError(UnavailableError):
    """The broker did not take the command: the webhook answers 503, so Telegram sends it
    again. The cause goes to the log, never to the answer."""

    def __init__(self) -> None:
        super().__init__(COMMAND_NOT_QUEUED)


def answer_update(update: Any) -> dict[str, Any]:
    """The webhook's answer to one update: a Bot API call, or {} for none."""
    incoming = read_update(update)
    if incoming is None:
        logger.info("telegram update ignored: neither a text message nor a button press")
        return {}
    # Never the text itself (it is the user's): the command and its length.
    logger.info(
        "telegram update %s: /%s with %d characters",
        incoming.update_id,
        incoming.command or "-",
        len(incoming.arguments),
    )
    if incoming.command == "start":
        return _say(
            incoming,
            linking.start_command(
                incoming.chat_id, incoming.arguments or None, incoming.language_code
            ),
        )
    known = incoming.command in FORWARDED or incoming.command in {BOT_CHOOSE, "stop"}
    if not known and not incoming.private:
        # Talk in a group that is not for the bot: no answer, no look-up.
        return {}
    account = linked_account(incoming.chat_id)
    # The person's own choice, else what their Telegram speaks, else English.
    t = translator(choose_language(account and account[1], incoming.language_code))
    if incoming.command == "stop":
        return _say(incoming, linking.stop_command(incoming.chat_id, t))
    if not known:
        return _say(incoming, help_text(t))
    if not incoming.private:
        return _say(incoming, private_only_text(t))
    if account is None:
        return _say(incoming, not_linked_text(t))
    user_id = account[0]
    try:
        allowed = allow_command(incoming.chat_id)
    except redis.RedisError as error:
        logger.warning("bot command not handed on (rate limit unknown: %s)", error)
        raise CommandNotSentError from error
    if not allowed:
        logger.warning("telegram chat %s: over its command rate limit", incoming.chat_id)
        return _say(incoming, too_many_text(t))
    assert incoming.command is not None
    command = BotCommand(
        id=bot_command_id(current_app.config["TELEGRAM_BOT_USERNAME"], incoming.update_id),
        user_id=user_id,
        chat_id=incoming.chat_id,
        name=incoming.command,
        arguments=incoming.arguments,
        sent_at=incoming.sent_at,
        language_code=incoming.language_code,
    )
    try:
        task_sender().send(BOT_COMMAND_TASK, [command.to_message()], task_id=str(command.id))
    except QueueUnavailableError as error:
        logger.warning("bot command not handed on, Telegram will send it again: %s", error)
        raise CommandNotSentError from error
    logger.info(
        "bot command %s sent to the api worker", command.id, extra={"user_id": str(user_id)}
    )
    if incoming.callback_query_id is not None:
        # Stops the button's spinner; the reply itself comes as a message.
        return {"method": "answerCallbackQuery", "callback_query_id": incoming.callback_query_id}
    return {}


def linked_account(chat_id: str) -> tuple[uuid.UUID, str | None] | None:
    """The user whose alerts go to this chat (one at most: a unique index, migration 0010) and
    the language they chose, if they did."""
    # Its own unit: ended before the rate limit and the broker are asked anything.
    with UnitOfWork() as uow:
        row = uow.session.execute(
            select(NotificationSettings.user_id, NotificationSettings.language).where(
                NotificationSettings.telegram_chat_id == chat_id
            )
        ).one_or_none()
    return None if row is None else (row.user_id, row.language)


def _say(incoming: Incoming, text: str) -> dict[str, Any]:
    if incoming.callback_query_id is not None:
        return {
            "method": "answerCallbackQuery",
            "callback_query_id": incoming.callback_query_id,
            "text": text[:200],
        }
    return {"method": "sendMessage", "chat_id": incoming.chat_id, "text": text}
