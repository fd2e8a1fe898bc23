"""The event contract between api_app and notify_app: the only code both sides share.

api_app writes these events to its outbox and publishes them to the broker; the worker hands them
to notify_app. This module is a leaf: it imports neither service and nothing outside the standard
library, so depending on it never couples the two services to each other.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Final

SCHEMA_VERSION: Final = 1
# The access-token claim that carries the user's token epoch (see USER_SESSIONS_REVOKED).
TOKEN_EPOCH_CLAIM: Final = "epoch"  # noqa: S105 - a claim name

# Celery routing, named here so the publisher can send by name without importing the worker.
NOTIFICATIONS_QUEUE: Final = "notifications"
HANDLE_EVENT_TASK: Final = "notifications.handle_event"
# The api worker's queue (periodic jobs and the bot's commands), and the task notify_app sends a
# BotCommand to.
API_JOBS_QUEUE: Final = "api_jobs"
BOT_COMMAND_TASK: Final = "api.bot_command"

USER_REGISTERED: Final = "user.registered"
USER_DELETED: Final = "user.deleted"
# Logout-all or a password change: access tokens with an `epoch` claim below the payload's
# `epoch` are no longer valid.
USER_SESSIONS_REVOKED: Final = "user.sessions_revoked"
BUDGET_LIMIT_EXCEEDED: Final = "budget.limit_exceeded"
GOAL_REACHED: Final = "goal.reached"
BUDGET_THRESHOLD_REACHED: Final = "budget.threshold_reached"
BUDGET_MONTH_CLOSED: Final = "budget.month_closed"
# api_app's answer to a BotCommand, for notify_app to send to the chat.
BOT_REPLY: Final = "bot.reply"

EVENT_TYPES: Final = frozenset(
    {
        USER_REGISTERED,
        USER_DELETED,
        USER_SESSIONS_REVOKED,
        BUDGET_LIMIT_EXCEEDED,
        GOAL_REACHED,
        BUDGET_THRESHOLD_REACHED,
        BUDGET_MONTH_CLOSED,
        BOT_REPLY,
    }
)

# The percentages of a category's limit at which budget.threshold_reached is emitted (100 is
# budget.limit_exceeded). Both services read BUDGET_WARNING_THRESHOLDS with `warning_thresholds`:
# api_app to detect crossings, notify_app to validate what users may choose.
DEFAULT_WARNING_THRESHOLDS: Final = (50, 80, 90)


def warning_thresholds(setting: str | None) -> tuple[int, ...]:
    """BUDGET_WARNING_THRESHOLDS ("50,80,90"), ascending; unset or blank means the default.

    Raises ValueError for anything but distinct whole percentages between 1 and 99.
    """
    if setting is None or not setting.strip():
        return DEFAULT_WARNING_THRESHOLDS
    try:
        values = [int(part) for part in setting.split(",")]
    except ValueError:
        raise ValueError(
            f"BUDGET_WARNING_THRESHOLDS must be whole percentages separated by commas: {setting!r}"
        ) from None
    if len(set(values)) != len(values) or not all(1 <= value <= 99 for value in values):
        raise ValueError(
            f"BUDGET_WARNING_THRESHOLDS must be distinct percentages from 1 to 99: {setting!r}"
        )
    return tuple(sorted(values))


def money(amount: Decimal) -> str:
    """Amounts travel as strings with two decimals, so no float ever touches money."""
    return f"{amount.quantize(Decimal('0.01')):f}"


class UnsupportedSchemaVersionError(ValueError):
    def __init__(self, version: object) -> None:
        super().__init__(
            f"unsupported schema_version {version!r} (this side knows {SCHEMA_VERSION})"
        )


@dataclass(frozen=True)
class Event:
    type: str
    user_id: uuid.UUID
    payload: dict[str, Any]
    id: uuid.UUID = field(default_factory=uuid.uuid4)
    occurred_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    schema_version: int = SCHEMA_VERSION
    # The HTTP request that caused it (X-Request-ID), so one id follows it from API to Telegram.
    request_id: str | None = None

    def caused_by(self, request_id: str | None) -> Event:
        """The same event, tagged with the request that caused it."""
        return replace(self, request_id=request_id)

    def to_message(self) -> dict[str, Any]:
        """The JSON-safe form that crosses the broker."""
        return {
            "id": str(self.id),
            "type": self.type,
            "schema_version": self.schema_version,
            "occurred_at": self.occurred_at.isoformat(),
            "user_id": str(self.user_id),
            "payload": self.payload,
            "request_id": self.request_id,
        }

    @classmethod
    def from_message(cls, message: dict[str, Any]) -> Event:
        """Parse a message from the broker; raises ValueError/KeyError on a malformed one, and
        UnsupportedSchemaVersionError (a ValueError) on a schema version this code does not
        know: its fields may mean something else, so it must not be acted on by shape alone."""
        version = message["schema_version"]
        if version != SCHEMA_VERSION or isinstance(version, bool):
            raise UnsupportedSchemaVersionError(version)
        event_type = message["type"]
        if event_type not in EVENT_TYPES:
            raise ValueError(f"unknown event type {event_type!r}")
        payload = message["payload"]
        if not isinstance(payload, dict):
            raise ValueError("payload must be an object")
        return cls(
            id=uuid.UUID(message["id"]),
            type=event_type,
            schema_version=version,
            occurred_at=datetime.fromisoformat(message["occurred_at"]),
            user_id=uuid.UUID(message["user_id"]),
            payload=payload,
            request_id=message.get("request_id"),
        )


# -- The bot: notify_app owns the chat, api_app the transactions -------------------------------
#
# notify_app turns a command from a linked chat into a BotCommand and sends it to the api worker
# (BOT_COMMAND_TASK on API_JOBS_QUEUE); api_app acts as that user and records a BOT_REPLY event
# in its outbox, which notify_app's worker sends to the chat. Ids derive from the Telegram update
# (uuid5), so an update that Telegram repeats, or a message redelivered after a crash, is one
# command, one transaction and one reply.

BOT_NAMESPACE: Final = uuid.UUID("6f0d6a1e-4f7c-5c1b-9d55-2b8f6f0b7a16")

# What a BotCommand asks for; "choose" is the press of a category button.
BOT_SPENT: Final = "spent"
BOT_INCOME: Final = "income"
BOT_UNDO: Final = "undo"
BOT_SUMMARY: Final = "summary"
BOT_CHOOSE: Final = "choose"
BOT_COMMANDS: Final = frozenset({BOT_SPENT, BOT_INCOME, BOT_UNDO, BOT_SUMMARY, BOT_CHOOSE})


def bot_command_id(bot: str, update_id: int) -> uuid.UUID:
    """The command's id: one per bot and Telegram update_id."""
    return uuid.uuid5(BOT_NAMESPACE, f"{bot}:update:{update_id}")


def bot_transaction_id(command_id: uuid.UUID) -> uuid.UUID:
    """The id of the transaction a command records."""
    return uuid.uuid5(BOT_NAMESPACE, f"transaction:{command_id}")


def bot_reply_id(command_id: uuid.UUID) -> uuid.UUID:
    """The id of the BOT_REPLY event that answers a command."""
    return uuid.uuid5(BOT_NAMESPACE, f"reply:{command_id}")


@dataclass(frozen=True)
class BotCommand:
    """A command from a linked chat, as it crosses the broker to the api worker.

    `arguments` is the text after the command (`12,50 food lunch`; for "choose", the button's
    data); `sent_at` is when the user sent it (Telegram's message date), which decides "today".
    """

    id: uuid.UUID
    user_id: uuid.UUID
    chat_id: str
    name: str
    arguments: str
    sent_at: datetime
    schema_version: int = SCHEMA_VERSION

    def to_message(self) -> dict[str, Any]:
        return {
            "id": str(self.id),
            "user_id": str(self.user_id),
            "chat_id": self.chat_id,
            "name": self.name,
            "arguments": self.arguments,
            "sent_at": self.sent_at.isoformat(),
            "schema_version": self.schema_version,
        }

    @classmethod
    def from_message(cls, message: dict[str, Any]) -> BotCommand:
        """Raises ValueError/KeyError/TypeError on a malformed message."""
        name = message["name"]
        if name not in BOT_COMMANDS:
            raise ValueError(f"unknown bot command {name!r}")
        sent_at = datetime.fromisoformat(message["sent_at"])
        if sent_at.tzinfo is None:
            raise ValueError("sent_at needs a time zone")
        return cls(
            id=uuid.UUID(message["id"]),
            user_id=uuid.UUID(message["user_id"]),
            chat_id=str(message["chat_id"]),
            name=name,
            arguments=str(message["arguments"]),
            sent_at=sent_at,
            schema_version=int(message["schema_version"]),
        )
