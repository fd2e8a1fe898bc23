"""Answering a Telegram update: link or unlink (a private chat to an account, a group to a
household ledger), help, or hand a command to api_app.

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
    BOT_CATEGORIES,
    BOT_CHOOSE,
    BOT_COMMAND_TASK,
    BOT_INCOME,
    BOT_LANGUAGE,
    BOT_LEDGER,
    BOT_LIMIT,
    BOT_SETTLE,
    BOT_SPENT,
    BOT_SUMMARY,
    BOT_UNDO,
    CHAT_GROUP,
    CHAT_PRIVATE,
    BotCommand,
    bot_command_id,
)
from notify_app.bot.rate_limit import allow_command
from notify_app.bot.updates import (
    BotMembership,
    Incoming,
    read_membership,
    read_migration,
    read_update,
)
from notify_app.broker import QueueUnavailableError, task_sender
from notify_app.domain_errors import NotFoundError, UnavailableError
from notify_app.ledgers import service as ledgers
from notify_app.linking import service as linking
from notify_app.models import NotificationSettings
from notify_app.unit_of_work import UnitOfWork
from service_kit.domain_errors import ForbiddenError
from service_kit.i18n import Translator, choose_language, translator

logger = logging.getLogger(__name__)

# What a private chat hands to api_app, and what a linked group does (acting on its ledger).
FORWARDED: Final = frozenset(
    {
        BOT_SPENT,
        BOT_INCOME,
        BOT_UNDO,
        BOT_SUMMARY,
        BOT_LANGUAGE,
        BOT_LIMIT,
        BOT_CATEGORIES,
        BOT_LEDGER,
        BOT_CHOOSE,
        BOT_BALANCE,
        BOT_SETTLE,
    }
)
FORWARDED_IN_GROUPS: Final = frozenset(
    {
        BOT_SPENT,
        BOT_INCOME,
        BOT_UNDO,
        BOT_SUMMARY,
        BOT_LIMIT,
        BOT_CATEGORIES,
        BOT_CHOOSE,
        BOT_BALANCE,
        BOT_SETTLE,
    }
)
# What the bot answers itself in a group; any other text there is the members' chatter.
ANSWERED_IN_GROUPS: Final = frozenset({"start", "help", "stop"})


def help_text(t: Translator) -> str:
    return t.gettext(
        "What I understand:\n"
        "/spent 12.50 food lunch - record an expense today (the category by name or by the start"
        " of it, then a description if you like)\n"
        "/income 1500 salary - record an income today\n"
        "/undo - remove the last entry made here (within 24 hours)\n"
        "/summary - this month so far, with a chart\n"
        "/limit food 400 - this month's limit of a category\n"
        "/categories - the categories with this month's spending and limits\n"
        "/ledger - your ledgers, and which one /spent records into\n"
        "/balance - who owes whom in a shared ledger, and how to settle up\n"
        "/settle 30 Ben - record that you paid Ben 30\n"
        "/language ru or /language en - the language I write in\n"
        "/stop - unlink this chat"
    )


def group_help_text(t: Translator, ledger_name: str) -> str:
    return t.gettext(
        "This group is linked to the household ledger %(ledger)s. What I understand here:\n"
        "/spent 12.50 food lunch - record an expense in the ledger, as you (split the ledger's"
        " way; add @all to split it equally, or for Ben to put it all on Ben)\n"
        "/income 1500 salary - record an income in the ledger\n"
        "/undo - remove your last entry made here (within 24 hours)\n"
        "/summary - the ledger's month so far, with a chart\n"
        "/limit food 400 - this month's limit of a category\n"
        "/categories - the ledger's categories with this month's spending and limits\n"
        "/balance - who owes whom, and the fewest transfers that settle it\n"
        "/settle 30 Ben - record that you paid Ben 30\n"
        "/stop - unlink this group (the ledger's owner or a member)\n"
        "I know you by your private chat with me: link it from the app's settings first."
    ) % {"ledger": ledger_name}


def not_linked_text(t: Translator) -> str:
    return t.gettext(
        "This chat is not linked to an account, so I cannot record anything here yet. In the app,"
        " open Settings > Telegram and follow the link it gives you; it brings you back here"
        " linked."
    )


def group_not_linked_text(t: Translator) -> str:
    return t.gettext(
        "This group is not linked to a household ledger. In the app, the owner or a member of a"
        " shared ledger asks for its Telegram group link and opens it, choosing this group."
    )


def unknown_sender_text(t: Translator) -> str:
    return t.gettext(
        "I do not know who you are yet. Open a private chat with me and link your account there"
        " (the Telegram link in the app's settings), then send the command here again."
    )


def open_private_chat_button(t: Translator) -> str:
    return t.gettext("Open a private chat")


def too_many_text(t: Translator) -> str:
    return t.gettext("That is a lot of commands in a minute; wait a moment and send it again.")


def group_linked_text(t: Translator, ledger_name: str) -> str:
    return t.gettext(
        "Linked! This group gets the alerts of the household ledger %(ledger)s, and its members"
        " record into it here with /spent and /income. /help lists the rest."
    ) % {"ledger": ledger_name}


def group_taken_text(t: Translator, ledger_name: str) -> str:
    return t.gettext(
        "This group is linked to the ledger %(ledger)s already. Send /stop here first, then open"
        " the link again."
    ) % {"ledger": ledger_name}


def private_code_in_group_text(t: Translator) -> str:
    return t.gettext("That link is for a private chat with me, not for a group.")


def group_unlinked_text(t: Translator, ledger_name: str) -> str:
    return t.gettext(
        "Unlinked: this group no longer gets the alerts of the ledger %(ledger)s, nor records"
        " into it."
    ) % {"ledger": ledger_name}


def group_stop_refused_text(t: Translator) -> str:
    return t.gettext("Only the ledger's owner or a member may unlink this group.")


COMMAND_NOT_QUEUED: Final = "the command could not be queued; try again shortly"


class CommandNotSentError(UnavailableError):
    """The broker did not take the command: the webhook answers 503, so Telegram sends it
    again. The cause goes to the log, never to the answer."""

    def __init__(self) -> None:
        super().__init__(COMMAND_NOT_QUEUED)


def answer_update(update: Any) -> dict[str, Any]:
    """The webhook's answer to one update: a Bot API call, or {} for none."""
    membership = read_membership(update)
    if membership is not None:
        return _membership_changed(membership)
    migration = read_migration(update)
    if migration is not None:
        # The ledger's group goes on under its new id.
        ledgers.move_group(migration.from_chat_id, migration.to_chat_id)
        return {}
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
    bot = current_app.config["TELEGRAM_BOT_USERNAME"]
    if incoming.addressed_to is not None and incoming.addressed_to.lower() != bot.lower():
        # `/spent@other_bot` in a group with several bots: not ours.
        return {}
    if incoming.private:
        return _answer_private(incoming)
    return _answer_group(incoming)


def _membership_changed(membership: BotMembership) -> dict[str, Any]:
    """Removed from a group (left or kicked): the group is unlinked from its ledger. Being added
    links nothing by itself: the `/start@bot CODE` that follows does."""
    if membership.removed and not membership.private:
        group = ledgers.unlink_group(membership.chat_id)
        if group is not None:
            logger.info("removed from the group of ledger %s: unlinked", group.ledger_id)
    return {}


def _answer_private(incoming: Incoming) -> dict[str, Any]:
    if incoming.command == "start":
        return _say(
            incoming,
            linking.start_command(
                incoming.chat_id, incoming.arguments or None, incoming.language_code
            ),
        )
    known = incoming.command in FORWARDED or incoming.command == "stop"
    account = linked_account(incoming.chat_id)
    # The person's own choice, else what their Telegram speaks, else English.
    t = translator(choose_language(account and account[1], incoming.language_code))
    if incoming.command == "stop":
        return _say(incoming, linking.stop_command(incoming.chat_id, t))
    if not known:
        return _say(incoming, help_text(t))
    if account is None:
        return _say(incoming, not_linked_text(t))
    return _forward(incoming, account[0], t)


def _answer_group(incoming: Incoming) -> dict[str, Any]:
    """A linked group records into its ledger as the sender; anything else there is answered
    with how to link it, and the members' chatter not at all."""
    command = incoming.command
    if command not in FORWARDED_IN_GROUPS and command not in ANSWERED_IN_GROUPS:
        return {}
    if command == "start" and incoming.arguments:
        return _say(incoming, _link_group(incoming))
    group = ledgers.group_of_chat(incoming.chat_id)
    # The group's language (whoever linked it), else the sender's.
    t = translator(
        choose_language(None if group is None else group.language, incoming.language_code),
        None if group is None else group.currency,
    )
    if group is None:
        if command == "stop":
            # A group linked as someone's own alert chat (before households) unlinks as before.
            return _say(incoming, linking.stop_command(incoming.chat_id, t))
        return _say(incoming, group_not_linked_text(t))
    if command in ("start", "help"):
        return _say(incoming, group_help_text(t, group.ledger_name))
    sender = None if incoming.sender_id is None else linked_account(incoming.sender_id)
    if sender is None:
        return _say_with_private_chat_button(incoming, unknown_sender_text(t), t)
    if command == "stop":
        try:
            unlinked = ledgers.unlink_group(incoming.chat_id, by=sender[0])
        except ForbiddenError:
            return _say(incoming, group_stop_refused_text(t))
        return _say(incoming, group_unlinked_text(t, (unlinked or group).ledger_name))
    return _forward(incoming, sender[0], t, ledger_id=group.ledger_id)


def _link_group(incoming: Incoming) -> str:
    """`/start@bot CODE` in a group: the bot was added through a ledger's group link."""
    t = translator(incoming.language_code)
    try:
        linked = ledgers.link_group(incoming.chat_id, incoming.arguments, incoming.language_code)
    except ledgers.GroupTakenError as taken:
        return group_taken_text(t, taken.ledger_name)
    except linking.WrongChatError:
        return private_code_in_group_text(t)
    except NotFoundError:
        logger.info("telegram /start in a group with an unknown, used or expired code")
        return linking.unknown_code_reply(t)
    return group_linked_text(translator(linked.language), linked.ledger_name)


def _forward(
    incoming: Incoming,
    user_id: uuid.UUID,
    t: Translator,
    *,
    ledger_id: uuid.UUID | None = None,
) -> dict[str, Any]:
    """Hand the command to api_app, acting as `user_id` (in a group, on its `ledger_id`)."""
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
        chat_type=CHAT_PRIVATE if incoming.private else CHAT_GROUP,
        ledger_id=ledger_id,
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


def _say_with_private_chat_button(incoming: Incoming, text: str, t: Translator) -> dict[str, Any]:
    """`text` with a button that opens a private chat with the bot (a button press is answered
    with the text alone: answerCallbackQuery shows no buttons)."""
    answer = _say(incoming, text)
    if incoming.callback_query_id is None:
        bot = current_app.config["TELEGRAM_BOT_USERNAME"]
        answer["reply_markup"] = {
            "inline_keyboard": [
                [{"text": open_private_chat_button(t), "url": f"https://t.me/{bot}?start="}]
            ]
        }
    return answer


def _say(incoming: Incoming, text: str) -> dict[str, Any]:
    if incoming.callback_query_id is not None:
        return {
            "method": "answerCallbackQuery",
            "callback_query_id": incoming.callback_query_id,
            "text": text[:200],
        }
    return {"method": "sendMessage", "chat_id": incoming.chat_id, "text": text}
