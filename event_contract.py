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

USER_REGISTERED: Final = "user.registered"
USER_DELETED: Final = "user.deleted"
# Logout-all or a password change: access tokens with an `epoch` claim below the payload's
# `epoch` are no longer valid.
USER_SESSIONS_REVOKED: Final = "user.sessions_revoked"
BUDGET_LIMIT_EXCEEDED: Final = "budget.limit_exceeded"
GOAL_REACHED: Final = "goal.reached"
BUDGET_THRESHOLD_REACHED: Final = "budget.threshold_reached"
BUDGET_MONTH_CLOSED: Final = "budget.month_closed"

EVENT_TYPES: Final = frozenset(
    {
        USER_REGISTERED,
        USER_DELETED,
        USER_SESSIONS_REVOKED,
        BUDGET_LIMIT_EXCEEDED,
        GOAL_REACHED,
        BUDGET_THRESHOLD_REACHED,
        BUDGET_MONTH_CLOSED,
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
