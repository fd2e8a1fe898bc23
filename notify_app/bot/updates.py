"""Reading what a Telegram Update says: a text message, the press of an inline button, or the
bot's own membership of a chat changing (`my_chat_member`: added to a group, removed from it)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any


@dataclass(frozen=True)
class Incoming:
    update_id: int
    chat_id: str
    private: bool
    # The command without slash and @botname ("spent"), None for text that is not a command.
    command: str | None
    arguments: str
    sent_at: datetime
    # Set for a button press: answerCallbackQuery needs it.
    callback_query_id: str | None = None
    # The sender's Telegram language ("ru", "en-GB"), when their client tells it.
    language_code: str | None = None
    # The sender's Telegram user id (`from.id`): in a private chat it is the chat's id, so in a
    # group it names the account whose private chat with the bot is linked.
    sender_id: str | None = None
    # The bot a command names (`/spent@budget_bot`), None when it names none: in a group with
    # several bots, a command for another one is not ours.
    addressed_to: str | None = None


# The bot's status in a chat after a my_chat_member update that means it is out of it.
REMOVED_STATUSES = frozenset({"left", "kicked"})


@dataclass(frozen=True)
class BotMembership:
    """A my_chat_member update: the bot's status in a chat changed."""

    update_id: int
    chat_id: str
    private: bool
    status: str

    @property
    def removed(self) -> bool:
        return self.status in REMOVED_STATUSES


def read_membership(update: Any) -> BotMembership | None:
    """The bot's new status in a chat, None for any other update."""
    if not isinstance(update, dict) or not _is_int(update.get("update_id")):
        return None
    changed = update.get("my_chat_member")
    if not isinstance(changed, dict):
        return None
    chat = _chat(changed)
    member = changed.get("new_chat_member")
    status = member.get("status") if isinstance(member, dict) else None
    if chat is None or not isinstance(status, str):
        return None
    return BotMembership(int(update["update_id"]), chat[0], chat[1], status)


@dataclass(frozen=True)
class GroupMigration:
    """A group became a supergroup: Telegram gives it a new chat id (`migrate_to_chat_id`, told
    in the old chat), and the old one takes no more messages."""

    from_chat_id: str
    to_chat_id: str


def read_migration(update: Any) -> GroupMigration | None:
    """The group's move to a new chat id, None for any other update."""
    message = update.get("message") if isinstance(update, dict) else None
    if not isinstance(message, dict) or not _is_int(message.get("migrate_to_chat_id")):
        return None
    chat = _chat(message)
    if chat is None:
        return None
    return GroupMigration(chat[0], str(message["migrate_to_chat_id"]))


def read_update(update: Any) -> Incoming | None:
    """The message or button press in an update, None for anything else (edits, joins...)."""
    if not isinstance(update, dict) or not _is_int(update.get("update_id")):
        return None
    update_id = int(update["update_id"])
    callback = update.get("callback_query")
    if isinstance(callback, dict):
        return _button_press(update_id, callback)
    message = update.get("message")
    if not isinstance(message, dict):
        return None
    chat = _chat(message)
    text = message.get("text")
    if chat is None or not isinstance(text, str):
        return None
    chat_id, private = chat
    command: str | None = None
    addressed_to: str | None = None
    arguments = text.strip()
    if arguments.startswith("/"):
        head, _, rest = arguments.partition(" ")
        name, at, bot = head[1:].partition("@")
        command = name.lower()
        addressed_to = bot if at else None
        arguments = rest.strip()
    return Incoming(
        update_id,
        chat_id,
        private,
        command,
        arguments,
        _sent_at(message),
        language_code=_language_code(message),
        sender_id=_sender_id(message),
        addressed_to=addressed_to,
    )


def _button_press(update_id: int, callback: dict[str, Any]) -> Incoming | None:
    message = callback.get("message")
    data = callback.get("data")
    callback_id = callback.get("id")
    if not isinstance(message, dict) or not isinstance(data, str):
        return None
    chat = _chat(message)
    if chat is None or not isinstance(callback_id, str):
        return None
    chat_id, private = chat
    return Incoming(
        update_id,
        chat_id,
        private,
        "choose",
        data,
        datetime.now(UTC),
        callback_query_id=callback_id,
        language_code=_language_code(callback),
        sender_id=_sender_id(callback),
    )


def _language_code(sent: dict[str, Any]) -> str | None:
    """`from.language_code` of a message or a button press."""
    sender = sent.get("from")
    code = sender.get("language_code") if isinstance(sender, dict) else None
    return code if isinstance(code, str) else None


def _sender_id(sent: dict[str, Any]) -> str | None:
    """`from.id` of a message or a button press."""
    sender = sent.get("from")
    sender_id = sender.get("id") if isinstance(sender, dict) else None
    return str(sender_id) if _is_int(sender_id) else None


def _chat(message: dict[str, Any]) -> tuple[str, bool] | None:
    chat = message.get("chat")
    if not isinstance(chat, dict):
        return None
    chat_id = chat.get("id")
    # bool is an int subclass; a chat id never is one.
    if not isinstance(chat_id, int | str) or isinstance(chat_id, bool):
        return None
    return str(chat_id), chat.get("type", "private") == "private"


def _sent_at(message: dict[str, Any]) -> datetime:
    stamp = message.get("date")
    if isinstance(stamp, int) and not isinstance(stamp, bool):
        return datetime.fromtimestamp(stamp, UTC)
    return datetime.now(UTC)


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)
