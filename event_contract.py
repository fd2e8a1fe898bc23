"""The event contract between api_app and notify_app: the only code both sides share.

api_app writes these events to its outbox and publishes them to the broker; the worker hands them
to notify_app. Each event type has its payload dataclass here, built by api_app and parsed by
notify_app through the same type; each task message (an Event, a BotCommand, a DeliveryDue) too;
every Celery task and queue is named here once. On the wire an event is JSON, amounts strings
with two decimals ("12.50"), ids strings.

This module is a leaf: it imports neither service and nothing outside the standard library, so
depending on it never couples the two services to each other.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, ClassVar, Final, Self

SCHEMA_VERSION: Final = 1
# The access-token claim that carries the user's token epoch (see USER_SESSIONS_REVOKED).
TOKEN_EPOCH_CLAIM: Final = "epoch"  # noqa: S105 - a claim name

# -- Celery routing: every task and queue, named once --------------------------------------
#
# Senders (api_app's publisher, notify_app's queues, Celery beat) send by name and never import
# the worker that registers the task.

# The notifications worker's queue (worker/tasks.py registers its tasks).
NOTIFICATIONS_QUEUE: Final = "notifications"
HANDLE_EVENT_TASK: Final = "notifications.handle_event"  # an Event from api_app's outbox
SEND_DELIVERY_TASK: Final = "notifications.send_delivery"  # a DeliveryDue
SWEEP_DELIVERIES_TASK: Final = "notifications.sweep_deliveries"  # periodic, no message
PURGE_LINK_CODES_TASK: Final = "notifications.purge_link_codes"  # periodic, no message
PING_TASK: Final = "notifications.ping"  # a no-op round trip (tests, the bench)
# The api worker's queue: periodic jobs and the bot's commands (api_worker/tasks.py).
API_JOBS_QUEUE: Final = "api_jobs"
BOT_COMMAND_TASK: Final = "api.bot_command"  # a BotCommand from notify_app
CLOSE_MONTH_TASK: Final = "api.close_month"  # periodic, no message
PURGE_REFRESH_TOKENS_TASK: Final = "api.purge_refresh_tokens"  # periodic, no message
PURGE_OUTBOX_TASK: Final = "api.purge_outbox"  # periodic, no message
RECORD_RECURRING_TASK: Final = "api.record_recurring_transactions"  # periodic, no message

TASK_QUEUES: Final[Mapping[str, str]] = {
    **dict.fromkeys(
        (
            HANDLE_EVENT_TASK,
            SEND_DELIVERY_TASK,
            SWEEP_DELIVERIES_TASK,
            PURGE_LINK_CODES_TASK,
            PING_TASK,
        ),
        NOTIFICATIONS_QUEUE,
    ),
    **dict.fromkeys(
        (
            BOT_COMMAND_TASK,
            CLOSE_MONTH_TASK,
            PURGE_REFRESH_TOKENS_TASK,
            PURGE_OUTBOX_TASK,
            RECORD_RECURRING_TASK,
        ),
        API_JOBS_QUEUE,
    ),
}

USER_REGISTERED: Final = "user.registered"
USER_DELETED: Final = "user.deleted"
USER_LOCALE_CHANGED: Final = "user.locale_changed"
# Logout-all, a password change or a stolen refresh token: access tokens with an `epoch` claim
# below the payload's `epoch` are no longer valid, and the account's Telegram chat is unlinked.
USER_SESSIONS_REVOKED: Final = "user.sessions_revoked"
# Its `reason`: why every session ended (the chat is told).
SIGNED_OUT_EVERYWHERE: Final = "signed_out_everywhere"
PASSWORD_CHANGED: Final = "password_changed"  # noqa: S105 - a reason, not a password
REFRESH_TOKEN_REUSED: Final = "refresh_token_reused"  # noqa: S105 - a reason, not a token
SESSIONS_REVOKED_REASONS: Final = frozenset(
    {SIGNED_OUT_EVERYWHERE, PASSWORD_CHANGED, REFRESH_TOKEN_REUSED}
)
BUDGET_LIMIT_EXCEEDED: Final = "budget.limit_exceeded"
GOAL_REACHED: Final = "goal.reached"
BUDGET_THRESHOLD_REACHED: Final = "budget.threshold_reached"
BUDGET_MONTH_CLOSED: Final = "budget.month_closed"
# api_app's answer to a BotCommand, for notify_app to send to the chat.
BOT_REPLY: Final = "bot.reply"
# A ledger's members changed (created, joined, role changed, left, renamed): the whole list.
LEDGER_MEMBERSHIP_CHANGED: Final = "ledger.membership_changed"
LEDGER_DELETED: Final = "ledger.deleted"

# -- Households: ledgers, their members and whom an alert is for ---------------------------
LEDGER_PERSONAL: Final = "personal"
LEDGER_SHARED: Final = "shared"
LEDGER_KINDS: Final = frozenset({LEDGER_PERSONAL, LEDGER_SHARED})
ROLE_OWNER: Final = "owner"
ROLE_MEMBER: Final = "member"
ROLE_VIEWER: Final = "viewer"
LEDGER_ROLES: Final = frozenset({ROLE_OWNER, ROLE_MEMBER, ROLE_VIEWER})
# Whom a shared ledger's alert is for: the event's user, in their private chat and by their own
# settings (one event per member who was a member when the change committed), or the ledger's
# linked group chat (one event per crossing).
AUDIENCE_MEMBER: Final = "member"
AUDIENCE_GROUP: Final = "group"
AUDIENCES: Final = frozenset({AUDIENCE_MEMBER, AUDIENCE_GROUP})

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


CENT: Final = Decimal("0.01")


def money(amount: Decimal) -> str:
    """Amounts travel as strings with two decimals, so no float ever touches money."""
    return f"{amount.quantize(CENT):f}"


class UnsupportedSchemaVersionError(ValueError):
    def __init__(self, version: object) -> None:
        super().__init__(
            f"unsupported schema_version {version!r} (this side knows {SCHEMA_VERSION})"
        )


def check_schema_version(message: Mapping[str, Any]) -> int:
    """The message's schema_version if this side knows it; UnsupportedSchemaVersionError (a
    ValueError) otherwise: its fields may mean something else, so it must not be acted on by
    shape alone."""
    version = message["schema_version"]
    if version != SCHEMA_VERSION or isinstance(version, bool):
        raise UnsupportedSchemaVersionError(version)
    return SCHEMA_VERSION


# -- Reading the wire: each raises ValueError (or KeyError, for a missing key) ---------------


def _text(value: object) -> str:
    if not isinstance(value, str):
        raise ValueError(f"expected a string, got {value!r}")
    return value


def _whole(value: object) -> int:
    # bool is an int subclass; true is no number.
    if not isinstance(value, int) or isinstance(value, bool):
        raise ValueError(f"expected a whole number, got {value!r}")
    return value


def _month(value: object) -> int:
    month = _whole(value)
    if not 1 <= month <= 12:
        raise ValueError(f"month {month} is not 1..12")
    return month


def _amount(value: object) -> Decimal:
    try:
        amount = Decimal(_text(value))
    except InvalidOperation:
        raise ValueError(f'expected an amount such as "12.50", got {value!r}') from None
    if not amount.is_finite():
        raise ValueError(f'expected an amount such as "12.50", got {value!r}')
    return amount


def _optional_amount(value: object) -> Decimal | None:
    return None if value is None else _amount(value)


def _id(value: object) -> uuid.UUID:
    return uuid.UUID(_text(value))


def _optional_text(value: object) -> str | None:
    return None if value is None else _text(value)


def _optional_id(value: object) -> uuid.UUID | None:
    return None if value is None else _id(value)


def _optional_id_text(value: uuid.UUID | None) -> str | None:
    return None if value is None else str(value)


def _one_of(value: object, allowed: frozenset[str]) -> str:
    text = _text(value)
    if text not in allowed:
        raise ValueError(f"expected one of {sorted(allowed)}, got {text!r}")
    return text


@dataclass(frozen=True)
class LedgerContext:
    """A shared ledger's alert: which ledger, whom this copy is for (`audience`, one of
    AUDIENCES) and, when a transaction crossed the line, who recorded it and what it was
    ("Home · Food: 410.00 of 400.00, after Anna's 32.00 groceries").

    Absent (None) on a personal ledger's alert: that goes to its one person, as before
    households existed, so events recorded before them still read the same.
    """

    ledger_id: uuid.UUID
    ledger_name: str
    audience: str = AUDIENCE_MEMBER
    recorded_by: uuid.UUID | None = None
    recorded_by_name: str | None = None
    transaction_amount: Decimal | None = None
    transaction_description: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "ledger_id": str(self.ledger_id),
            "ledger_name": self.ledger_name,
            "audience": self.audience,
            "recorded_by": _optional_id_text(self.recorded_by),
            "recorded_by_name": self.recorded_by_name,
            "transaction_amount": (
                None if self.transaction_amount is None else money(self.transaction_amount)
            ),
            "transaction_description": self.transaction_description,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Self:
        return cls(
            ledger_id=_id(data["ledger_id"]),
            ledger_name=_text(data["ledger_name"]),
            audience=_one_of(data["audience"], AUDIENCES),
            recorded_by=_optional_id(data.get("recorded_by")),
            recorded_by_name=_optional_text(data.get("recorded_by_name")),
            transaction_amount=_optional_amount(data.get("transaction_amount")),
            transaction_description=_optional_text(data.get("transaction_description")),
        )


def _ledger_json(ledger: LedgerContext | None) -> dict[str, Any]:
    """A payload's "ledger" key: present only for a shared ledger's alert."""
    return {} if ledger is None else {"ledger": ledger.to_json()}


def _ledger_field(data: Mapping[str, Any]) -> LedgerContext | None:
    ledger = data.get("ledger")
    return None if ledger is None else LedgerContext.from_json(_object(ledger))


# -- The payload of each event type ---------------------------------------------------------


@dataclass(frozen=True)
class UserRegistered:
    """`language`: the one the person chose at sign-up ("en", "ru"), None when they did not."""

    TYPE: ClassVar[str] = USER_REGISTERED
    email: str
    language: str | None = None

    def to_json(self) -> dict[str, Any]:
        registered: dict[str, Any] = {"email": self.email}
        if self.language is not None:
            registered["language"] = self.language
        return registered

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Self:
        # Absent from events recorded before languages: the same as not chosen.
        return cls(email=_text(data["email"]), language=_optional_text(data.get("language")))


@dataclass(frozen=True)
class UserLocaleChanged:
    """The person chose the language of their texts (None: none, their Telegram's decides)
    or the currency of their amounts (an ISO 4217 code; None: the language's own)."""

    TYPE: ClassVar[str] = USER_LOCALE_CHANGED
    language: str | None
    currency: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"language": self.language, "currency": self.currency}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Self:
        return cls(
            language=_optional_text(data["language"]),
            currency=_optional_text(data.get("currency")),
        )


@dataclass(frozen=True)
class UserDeleted:
    TYPE: ClassVar[str] = USER_DELETED

    def to_json(self) -> dict[str, Any]:
        return {}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Self:
        return cls()


@dataclass(frozen=True)
class UserSessionsRevoked:
    """Access tokens with an `epoch` claim below `epoch` are no longer valid; `reason` is one
    of SESSIONS_REVOKED_REASONS.

    `reason` came later without a new schema_version: a field added with a default is read
    from older messages (theirs was a logout-all or a password change, told alike) and
    ignored by older readers."""

    TYPE: ClassVar[str] = USER_SESSIONS_REVOKED
    epoch: int
    reason: str = SIGNED_OUT_EVERYWHERE

    def to_json(self) -> dict[str, Any]:
        return {"epoch": self.epoch, "reason": self.reason}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Self:
        reason = _text(data.get("reason", SIGNED_OUT_EVERYWHERE))
        if reason not in SESSIONS_REVOKED_REASONS:
            raise ValueError(f"unknown reason {reason!r} for {USER_SESSIONS_REVOKED}")
        return cls(epoch=_whole(data["epoch"]), reason=reason)


@dataclass(frozen=True)
class CategoryMonthSpending:
    """What the two spending events share: a category's spending against its limit in a month.

    `transaction_id` is the transaction whose change crossed the line; None when changing the
    limit itself did.
    """

    budget_id: uuid.UUID
    category_id: uuid.UUID
    category_name: str
    year: int
    month: int
    limit: Decimal
    spent: Decimal
    transaction_id: uuid.UUID | None
    ledger: LedgerContext | None = None

    def _spending_json(self) -> dict[str, Any]:
        return {
            **_ledger_json(self.ledger),
            "budget_id": str(self.budget_id),
            "category_id": str(self.category_id),
            "category_name": self.category_name,
            "year": self.year,
            "month": self.month,
            "limit": money(self.limit),
            "spent": money(self.spent),
        }

    @staticmethod
    def _spending_fields(data: Mapping[str, Any]) -> dict[str, Any]:
        return {
            "budget_id": _id(data["budget_id"]),
            "category_id": _id(data["category_id"]),
            "category_name": _text(data["category_name"]),
            "year": _whole(data["year"]),
            "month": _month(data["month"]),
            "limit": _amount(data["limit"]),
            "spent": _amount(data["spent"]),
            "transaction_id": _optional_id(data["transaction_id"]),
            "ledger": _ledger_field(data),
        }


@dataclass(frozen=True)
class BudgetLimitExceeded(CategoryMonthSpending):
    TYPE: ClassVar[str] = BUDGET_LIMIT_EXCEEDED

    def to_json(self) -> dict[str, Any]:
        return {**self._spending_json(), "transaction_id": _optional_id_text(self.transaction_id)}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Self:
        return cls(**cls._spending_fields(data))


@dataclass(frozen=True, kw_only=True)
class BudgetThresholdReached(CategoryMonthSpending):
    """One change crossed `crossed_thresholds` (ascending) of the warning thresholds, but not
    the limit: one event, for the highest of them (`threshold`). The whole list travels along
    so that a user warned at a lower one still hears of a jump past it."""

    TYPE: ClassVar[str] = BUDGET_THRESHOLD_REACHED
    percent: int
    threshold: int
    crossed_thresholds: tuple[int, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            **self._spending_json(),
            "percent": self.percent,
            "threshold": self.threshold,
            "crossed_thresholds": list(self.crossed_thresholds),
            "transaction_id": _optional_id_text(self.transaction_id),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Self:
        threshold = _whole(data["threshold"])
        # Events recorded before the list existed crossed their threshold only.
        crossed = data.get("crossed_thresholds", [threshold])
        if not isinstance(crossed, list):
            raise ValueError(f"crossed_thresholds must be a list, got {crossed!r}")
        return cls(
            **cls._spending_fields(data),
            percent=_whole(data["percent"]),
            threshold=threshold,
            crossed_thresholds=tuple(_whole(value) for value in crossed),
        )


@dataclass(frozen=True)
class GoalReached:
    TYPE: ClassVar[str] = GOAL_REACHED
    goal_id: uuid.UUID
    name: str
    target_amount: Decimal
    current_amount: Decimal
    ledger: LedgerContext | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            **_ledger_json(self.ledger),
            "goal_id": str(self.goal_id),
            "name": self.name,
            "target_amount": money(self.target_amount),
            "current_amount": money(self.current_amount),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Self:
        return cls(
            goal_id=_id(data["goal_id"]),
            name=_text(data["name"]),
            target_amount=_amount(data["target_amount"]),
            current_amount=_amount(data["current_amount"]),
            ledger=_ledger_field(data),
        )


@dataclass(frozen=True)
class ClosedCategory:
    """A category in a closed month: its limit (None without one) and its spending."""

    name: str
    limit: Decimal | None
    spent: Decimal

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "limit": None if self.limit is None else money(self.limit),
            "spent": money(self.spent),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Self:
        return cls(
            name=_text(data["name"]),
            limit=_optional_amount(data["limit"]),
            spent=_amount(data["spent"]),
        )


@dataclass(frozen=True)
class MemberBalance:
    """A person's net in a shared ledger: positive is owed to them, negative they owe."""

    name: str
    net: Decimal
    # Left the ledger with this balance unsettled.
    former_member: bool = False

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "net": money(self.net), "former_member": self.former_member}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Self:
        former = data.get("former_member", False)
        if not isinstance(former, bool):
            raise ValueError(f"former_member must be a boolean, got {former!r}")
        return cls(name=_text(data["name"]), net=_amount(data["net"]), former_member=former)


@dataclass(frozen=True)
class SettleUpTransfer:
    """One of the fewest transfers that settle a ledger: `payer` pays `payee` `amount`."""

    payer: str
    payee: str
    amount: Decimal

    def to_json(self) -> dict[str, Any]:
        return {"payer": self.payer, "payee": self.payee, "amount": money(self.amount)}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Self:
        return cls(
            payer=_text(data["payer"]), payee=_text(data["payee"]), amount=_amount(data["amount"])
        )


@dataclass(frozen=True)
class LedgerBalances:
    """Who owes whom in a shared ledger when its month was closed, and how they settle up
    (issue 24): the digest adds it when some balance is not zero."""

    members: tuple[MemberBalance, ...]
    settle_up: tuple[SettleUpTransfer, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "members": [member.to_json() for member in self.members],
            "settle_up": [transfer.to_json() for transfer in self.settle_up],
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Self:
        members, transfers = data["members"], data["settle_up"]
        if not isinstance(members, list) or not isinstance(transfers, list):
            raise ValueError("balances need the lists members and settle_up")
        return cls(
            members=tuple(MemberBalance.from_json(_object(entry)) for entry in members),
            settle_up=tuple(SettleUpTransfer.from_json(_object(entry)) for entry in transfers),
        )


@dataclass(frozen=True)
class BudgetMonthClosed:
    """The month's totals and, per category, its limit and spending (the monthly digest).

    `balances`: a shared ledger's, when someone owes someone (absent from the JSON otherwise,
    so events recorded before splits read the same)."""

    TYPE: ClassVar[str] = BUDGET_MONTH_CLOSED
    year: int
    month: int
    income: Decimal
    expense: Decimal
    net: Decimal
    categories: tuple[ClosedCategory, ...]
    ledger: LedgerContext | None = None
    balances: LedgerBalances | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            **_ledger_json(self.ledger),
            "year": self.year,
            "month": self.month,
            "income": money(self.income),
            "expense": money(self.expense),
            "net": money(self.net),
            "categories": [category.to_json() for category in self.categories],
            **({} if self.balances is None else {"balances": self.balances.to_json()}),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Self:
        categories = data["categories"]
        if not isinstance(categories, list):
            raise ValueError(f"categories must be a list, got {categories!r}")
        return cls(
            year=_whole(data["year"]),
            month=_month(data["month"]),
            income=_amount(data["income"]),
            expense=_amount(data["expense"]),
            net=_amount(data["net"]),
            categories=tuple(ClosedCategory.from_json(_object(entry)) for entry in categories),
            ledger=_ledger_field(data),
            balances=(
                None
                if data.get("balances") is None
                else LedgerBalances.from_json(_object(data["balances"]))
            ),
        )


@dataclass(frozen=True)
class BotReply:
    """api_app's answer to a BotCommand, for the chat that sent it.

    `buttons`: an inline keyboard, rows of {"text", "data"} (the data comes back as a "choose"
    command). `chart`: {"title", "bars": [{"name", "spent", "limit"}], "language"?,
    "currency"?}, amounts as strings (`limit` null for a category without one: the chart is
    drawn whenever the month has spending), sent as a photo with `text` as its caption.
    """

    TYPE: ClassVar[str] = BOT_REPLY
    chat_id: str
    text: str
    buttons: list[list[dict[str, str]]] | None = None
    chart: dict[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        reply: dict[str, Any] = {"chat_id": self.chat_id, "text": self.text}
        if self.buttons:
            reply["buttons"] = self.buttons
        if self.chart is not None:
            reply["chart"] = self.chart
        return reply

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Self:
        buttons = data.get("buttons")
        chart = data.get("chart")
        return cls(
            chat_id=str(data["chat_id"]),
            text=_text(data["text"]),
            buttons=buttons if isinstance(buttons, list) else None,
            chart=chart if isinstance(chart, dict) else None,
        )


@dataclass(frozen=True)
class LedgerMember:
    user_id: uuid.UUID
    role: str  # one of LEDGER_ROLES

    def to_json(self) -> dict[str, Any]:
        return {"user_id": str(self.user_id), "role": self.role}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Self:
        return cls(user_id=_id(data["user_id"]), role=_one_of(data["role"], LEDGER_ROLES))


@dataclass(frozen=True)
class LedgerMembershipChanged:
    """The ledger as it is now: its name, kind and every member with their role. The event's
    user is who changed it. `version` rises with every change of the ledger, so a reader keeps
    the highest it has seen and ignores an older snapshot that arrives late."""

    TYPE: ClassVar[str] = LEDGER_MEMBERSHIP_CHANGED
    ledger_id: uuid.UUID
    name: str
    kind: str
    version: int
    members: tuple[LedgerMember, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "ledger_id": str(self.ledger_id),
            "name": self.name,
            "kind": self.kind,
            "version": self.version,
            "members": [member.to_json() for member in self.members],
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Self:
        members = data["members"]
        if not isinstance(members, list):
            raise ValueError(f"members must be a list, got {members!r}")
        return cls(
            ledger_id=_id(data["ledger_id"]),
            name=_text(data["name"]),
            kind=_one_of(data["kind"], LEDGER_KINDS),
            version=_whole(data["version"]),
            members=tuple(LedgerMember.from_json(_object(member)) for member in members),
        )


@dataclass(frozen=True)
class LedgerDeleted:
    """The ledger and everything in it are gone; the event's user deleted it (or its personal
    ledger went with their account)."""

    TYPE: ClassVar[str] = LEDGER_DELETED
    ledger_id: uuid.UUID
    version: int

    def to_json(self) -> dict[str, Any]:
        return {"ledger_id": str(self.ledger_id), "version": self.version}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Self:
        return cls(ledger_id=_id(data["ledger_id"]), version=_whole(data["version"]))


def _object(value: object) -> Mapping[str, Any]:
    if not isinstance(value, dict):
        raise ValueError(f"expected an object, got {value!r}")
    return value


Payload = (
    UserRegistered
    | UserLocaleChanged
    | UserDeleted
    | UserSessionsRevoked
    | BudgetLimitExceeded
    | BudgetThresholdReached
    | GoalReached
    | BudgetMonthClosed
    | BotReply
    | LedgerMembershipChanged
    | LedgerDeleted
)

PAYLOAD_TYPES: Final[Mapping[str, type[Payload]]] = {
    payload.TYPE: payload
    for payload in (
        UserRegistered,
        UserLocaleChanged,
        UserDeleted,
        UserSessionsRevoked,
        BudgetLimitExceeded,
        BudgetThresholdReached,
        GoalReached,
        BudgetMonthClosed,
        BotReply,
        LedgerMembershipChanged,
        LedgerDeleted,
    )
}
EVENT_TYPES: Final = frozenset(PAYLOAD_TYPES)


# -- The envelope: HANDLE_EVENT_TASK's message ----------------------------------------------


@dataclass(frozen=True)
class Event:
    user_id: uuid.UUID
    payload: Payload
    id: uuid.UUID = field(default_factory=uuid.uuid4)
    occurred_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    schema_version: int = SCHEMA_VERSION
    # The HTTP request that caused it (X-Request-ID), so one id follows it from API to Telegram.
    request_id: str | None = None

    @property
    def type(self) -> str:
        return self.payload.TYPE

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
            "payload": self.payload.to_json(),
            "request_id": self.request_id,
        }

    @classmethod
    def from_message(cls, message: Mapping[str, Any]) -> Event:
        """Parse a message from the broker, its payload included; raises ValueError/KeyError/
        TypeError on a malformed one, and UnsupportedSchemaVersionError (a ValueError) on a
        schema version this code does not know."""
        version = check_schema_version(message)
        event_type = message["type"]
        if event_type not in PAYLOAD_TYPES:
            raise ValueError(f"unknown event type {event_type!r}")
        payload = message["payload"]
        if not isinstance(payload, dict):
            raise ValueError("payload must be an object")
        return cls(
            id=uuid.UUID(message["id"]),
            payload=PAYLOAD_TYPES[event_type].from_json(payload),
            schema_version=version,
            occurred_at=datetime.fromisoformat(message["occurred_at"]),
            user_id=uuid.UUID(message["user_id"]),
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
BOT_LANGUAGE: Final = "language"
BOT_LIMIT: Final = "limit"  # `/limit food 400`: this month's limit of a category
BOT_CATEGORIES: Final = "categories"  # the ledger's categories, this month's spent and limit
BOT_LEDGER: Final = "ledger"  # private chats: list the person's ledgers, pick where /spent goes
BOT_BALANCE: Final = "balance"  # who owes whom in the ledger, and how to settle up
BOT_SETTLE: Final = "settle"  # `/settle 30 Ben`: the sender paid Ben back 30
BOT_COMMANDS: Final = frozenset(
    {
        BOT_SPENT,
        BOT_INCOME,
        BOT_UNDO,
        BOT_SUMMARY,
        BOT_CHOOSE,
        BOT_LANGUAGE,
        BOT_LIMIT,
        BOT_CATEGORIES,
        BOT_LEDGER,
        BOT_BALANCE,
        BOT_SETTLE,
    }
)
# Where a command was sent: the person's private chat with the bot, or a group linked to a
# shared ledger (the command then acts on that ledger, as its sender).
CHAT_PRIVATE: Final = "private"
CHAT_GROUP: Final = "group"
CHAT_TYPES: Final = frozenset({CHAT_PRIVATE, CHAT_GROUP})


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
    data); `sent_at` is when the user sent it (Telegram's message date), which decides "today";
    `language_code` is Telegram's language of the sender ("ru", "en-GB"), the reply's language
    when the account has none chosen. In a group (`chat_type` CHAT_GROUP) `ledger_id` is the
    shared ledger linked to it and `user_id` the account whose private chat the sender linked;
    in a private chat `ledger_id` is None (the ledger the person picked with /ledger, else
    their personal one).
    """

    id: uuid.UUID
    user_id: uuid.UUID
    chat_id: str
    name: str
    arguments: str
    sent_at: datetime
    language_code: str | None = None
    chat_type: str = CHAT_PRIVATE
    ledger_id: uuid.UUID | None = None
    schema_version: int = SCHEMA_VERSION

    def to_message(self) -> dict[str, Any]:
        return {
            "id": str(self.id),
            "user_id": str(self.user_id),
            "chat_id": self.chat_id,
            "name": self.name,
            "arguments": self.arguments,
            "sent_at": self.sent_at.isoformat(),
            "language_code": self.language_code,
            "chat_type": self.chat_type,
            "ledger_id": _optional_id_text(self.ledger_id),
            "schema_version": self.schema_version,
        }

    @classmethod
    def from_message(cls, message: Mapping[str, Any]) -> BotCommand:
        """Raises ValueError/KeyError/TypeError on a malformed message, and
        UnsupportedSchemaVersionError (a ValueError) on a schema version this code does not
        know."""
        version = check_schema_version(message)
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
            language_code=_optional_text(message.get("language_code")),
            # Both absent from commands sent before households: a private chat's.
            chat_type=_one_of(message.get("chat_type", CHAT_PRIVATE), CHAT_TYPES),
            ledger_id=_optional_id(message.get("ledger_id")),
            schema_version=version,
        )


# -- SEND_DELIVERY_TASK's message: notify_app to its own worker ------------------------------


@dataclass(frozen=True)
class DeliveryDue:
    """A pending delivery in notify_app's delivery log, for a worker to send."""

    delivery_id: uuid.UUID

    def to_args(self) -> list[str]:
        return [str(self.delivery_id)]

    @classmethod
    def from_args(cls, delivery_id: str) -> DeliveryDue:
        return cls(uuid.UUID(delivery_id))


# -- Who may send each task: the signed envelope ---------------------------------------------
#
# Every task message carries, in its Celery headers (SIGNATURE_HEADER), an HMAC-SHA256 over the
# canonical JSON of what it asks for (task name, task id, arguments, signer, schema version),
# keyed with the key of the one signer TASK_SIGNERS names for its task. A key is held only by
# that signer's senders and by the one worker that consumes its tasks, so the notifications
# worker takes events only from api_app, the api worker bot commands only from notify_app, and
# each its periodic jobs only from beat. A message without a valid signature is not acted on.

SIGNATURE_HEADER: Final = "budget_signature"

EVENTS_SIGNER: Final = "events"  # api_app: the fast path, the relay, the api worker's replies
BOT_COMMANDS_SIGNER: Final = "bot_commands"  # notify_app's webhook
DELIVERIES_SIGNER: Final = "deliveries"  # notify_app: its web service and its worker
NOTIFY_JOBS_SIGNER: Final = "notify_jobs"  # beat (and the ping round trip of tests, the bench)
API_JOBS_SIGNER: Final = "api_jobs"  # beat

TASK_SIGNERS: Final[Mapping[str, str]] = {
    HANDLE_EVENT_TASK: EVENTS_SIGNER,
    BOT_COMMAND_TASK: BOT_COMMANDS_SIGNER,
    SEND_DELIVERY_TASK: DELIVERIES_SIGNER,
    SWEEP_DELIVERIES_TASK: NOTIFY_JOBS_SIGNER,
    PURGE_LINK_CODES_TASK: NOTIFY_JOBS_SIGNER,
    PING_TASK: NOTIFY_JOBS_SIGNER,
    CLOSE_MONTH_TASK: API_JOBS_SIGNER,
    PURGE_REFRESH_TOKENS_TASK: API_JOBS_SIGNER,
    PURGE_OUTBOX_TASK: API_JOBS_SIGNER,
    RECORD_RECURRING_TASK: API_JOBS_SIGNER,
}
SIGNERS: Final = frozenset(TASK_SIGNERS.values())


def signing_key_setting(signer: str) -> str:
    """The setting (and, with _FILE, the secret file) that holds `signer`'s key."""
    return f"BROKER_SIGNING_KEY_{signer.upper()}"


class UntrustedMessageError(ValueError):
    """A task message that is not signed by the signer its task belongs to."""


def _canonical(
    task: str, task_id: str, args: object, kwargs: object, signer: str, version: object
) -> bytes:
    document = {
        "task": task,
        "id": task_id,
        "args": args,
        "kwargs": kwargs,
        "signer": signer,
        "schema_version": version,
    }
    # Tuples and lists are one JSON array: what was sent and what arrives sign alike.
    return json.dumps(
        document, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def _mac(key: bytes, canonical: bytes) -> str:
    return hmac.new(key, canonical, hashlib.sha256).hexdigest()


def sign_task(
    key: bytes, task: str, task_id: str, args: Sequence[Any], kwargs: Mapping[str, Any]
) -> dict[str, Any]:
    """The SIGNATURE_HEADER value for one task message, signed with its signer's `key`."""
    signer = TASK_SIGNERS[task]
    canonical = _canonical(task, task_id, list(args), dict(kwargs), signer, SCHEMA_VERSION)
    return {"signer": signer, "schema_version": SCHEMA_VERSION, "hmac": _mac(key, canonical)}


def verify_task(
    keys: Mapping[str, bytes],
    task: str,
    task_id: object,
    args: object,
    kwargs: object,
    signature: object,
) -> None:
    """Raise UntrustedMessageError unless `signature` is the signature of the task's own signer
    (TASK_SIGNERS) over exactly this message, with a schema version this side knows."""
    signer = TASK_SIGNERS.get(task)
    if signer is None:
        raise UntrustedMessageError(f"no signer may send {task!r}")
    if not isinstance(signature, Mapping):
        raise UntrustedMessageError(f"{task} is not signed")
    if signature.get("signer") != signer:
        raise UntrustedMessageError(
            f"{task} must be signed by {signer}, not {signature.get('signer')!r}"
        )
    try:
        check_schema_version(signature)
    except (KeyError, UnsupportedSchemaVersionError) as error:
        raise UntrustedMessageError(f"{task}: {error}") from None
    key = keys.get(signer)
    if key is None:
        raise UntrustedMessageError(f"{task}: this side holds no key of {signer}")
    if not isinstance(task_id, str) or not isinstance(args, list | tuple):
        raise UntrustedMessageError(f"{task}: malformed message")
    if not isinstance(kwargs, dict):
        raise UntrustedMessageError(f"{task}: malformed message")
    try:
        canonical = _canonical(task, task_id, list(args), kwargs, signer, SCHEMA_VERSION)
    except (TypeError, ValueError):
        raise UntrustedMessageError(f"{task}: arguments are not JSON") from None
    given = signature.get("hmac")
    if not isinstance(given, str) or not hmac.compare_digest(given, _mac(key, canonical)):
        raise UntrustedMessageError(f"{task}: the signature of {signer} does not match")


class TaskSignatures:
    """The contract's signing rules, as the Celery apps of both services apply them
    (service_kit.message_signing, which knows no task of ours, is handed TASK_SIGNATURES)."""

    header: Final = SIGNATURE_HEADER
    signers: Final = SIGNERS

    def signer_of(self, task: str) -> str | None:
        return TASK_SIGNERS.get(task)

    def key_setting(self, signer: str) -> str:
        return signing_key_setting(signer)

    def sign(
        self, key: bytes, task: str, task_id: str, args: Sequence[Any], kwargs: Mapping[str, Any]
    ) -> dict[str, Any]:
        return sign_task(key, task, task_id, args, kwargs)

    def verify(
        self,
        keys: Mapping[str, bytes],
        task: str,
        task_id: object,
        args: object,
        kwargs: object,
        signature: object,
    ) -> None:
        verify_task(keys, task, task_id, args, kwargs, signature)


TASK_SIGNATURES: Final = TaskSignatures()
