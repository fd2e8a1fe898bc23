"""Reading the bot commands this service understands out of a Telegram Update object."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class BotCommand:
    chat_id: str
    name: str  # without the slash and without an @botname suffix
    argument: str | None


def bot_command(update: Any) -> BotCommand | None:
    """The command in a message update (`/start CODE`, `/stop`), or None for anything else."""
    if not isinstance(update, dict):
        return None
    message = update.get("message")
    if not isinstance(message, dict):
        return None
    chat = message.get("chat")
    text = message.get("text")
    if not isinstance(chat, dict) or not isinstance(text, str) or not text.startswith("/"):
        return None
    chat_id = chat.get("id")
    # bool is an int subclass; a chat id never is one.
    if not isinstance(chat_id, int | str) or isinstance(chat_id, bool):
        return None
    command, _, argument = text.strip().partition(" ")
    name = command[1:].split("@", 1)[0].lower()
    return BotCommand(chat_id=str(chat_id), name=name, argument=argument.strip() or None)
