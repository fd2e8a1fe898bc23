"""End to end, as a user sees it: HTTP calls through the gateway, the real worker, "Telegram".

Every request goes through `wsgi.Gateway`, the routing production uses. Users sign up with
POST /api/auth/register and set up everything through the API; the databases are read only for
what no endpoint shows: that a row exists or is gone, and which events a request recorded (the
outbox row is committed with the request, so it says what the worker will be asked to do).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import psycopg2
import pytest
from flask import Flask
from prometheus_client.parser import text_string_to_metric_families
from werkzeug.test import Client

from event_contract import (
    BUDGET_LIMIT_EXCEEDED,
    BUDGET_MONTH_CLOSED,
    BUDGET_THRESHOLD_REACHED,
    GOAL_REACHED,
)
from tests.conftest import ServiceDatabases
from tests.eventually import eventually
from tests.households_notify.ledgers import WEBHOOK_URL
from tests.telegram_standin import TelegramStandIn
from tests.users import SignedInUser

SETTINGS = "/api/notifications/settings"
# The events that end up as a delivery in the user's history.
# Every event that ends in a delivery row (sent or skipped) in the user's history.
NOTIFYING_EVENTS = (
    BUDGET_LIMIT_EXCEEDED,
    GOAL_REACHED,
    BUDGET_THRESHOLD_REACHED,
    BUDGET_MONTH_CLOSED,
)
# The alerts of issue 6; heads-up warnings and digests have tests of their own.
ALERTS = (BUDGET_LIMIT_EXCEEDED, GOAL_REACHED)


@dataclass(frozen=True)
class Rows:
    """Plain SQL on the services' databases, for what the API does not show."""

    databases: ServiceDatabases

    def api(self, statement: str, *parameters: Any) -> list[tuple[Any, ...]]:
        return _rows(self.databases.api_url, statement, parameters)

    def notify(self, statement: str, *parameters: Any) -> list[tuple[Any, ...]]:
        return _rows(self.databases.notify_url, statement, parameters)

    def notifying_events(self, user_id: uuid.UUID) -> set[str]:
        """Ids of the limit and goal events the user's requests recorded (committed)."""
        rows = self.api(
            "SELECT id::text FROM outbox_events WHERE payload->>'user_id' = %s AND type IN %s",
            str(user_id),
            NOTIFYING_EVENTS,
        )
        return {row[0] for row in rows}


def _rows(url: str, statement: str, parameters: tuple[Any, ...]) -> list[tuple[Any, ...]]:
    connection = psycopg2.connect(url)
    try:
        with connection, connection.cursor() as cursor:
            cursor.execute(statement, parameters)
            return cursor.fetchall() if cursor.description else []
    finally:
        connection.close()


@pytest.fixture
def rows(test_databases: ServiceDatabases) -> Rows:
    return Rows(test_databases)


def settled_history(
    person: SignedInUser, rows: Rows, kinds: tuple[str, ...] = ALERTS
) -> list[dict[str, Any]]:
    """The user's history of `kinds` once the worker has finished every event that their
    requests recorded: one finished delivery per event, and none for anything else.

    A request's events are committed with it, so after its response nothing more can come:
    this is the point at which "no further message" can be asserted without waiting blindly.
    """
    expected = rows.notifying_events(person.id)

    def finished() -> tuple[list[dict[str, Any]]] | None:
        history = person.history()
        done = {row["event_id"] for row in history if row["status"] != "pending"}
        # In a tuple: an empty history is an answer too.
        return (history,) if done == expected and len(history) == len(expected) else None

    (history,) = eventually(finished, f"one finished delivery for each of the events {expected}")
    return [row for row in history if row["event_type"] in kinds]


def sent_messages(telegram_messages: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """(chat id, text) of each message "Telegram" received, in order."""
    return [(message["chat_id"], message["text"]) for message in telegram_messages]


def metric_samples(metrics_text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Every sample of a Prometheus text exposition, by name and labels."""
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(metrics_text)
        for sample in family.samples
    }


def metric_value(
    samples: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str
) -> float:
    """One sample's value; 0 for a labelled counter that was never incremented."""
    return samples.get((name, frozenset(labels.items())), 0.0)


@pytest.fixture
def webhook(gateway: Client, notify: Flask, telegram: TelegramStandIn) -> Iterator[TelegramStandIn]:
    """The stand-in, its webhook set by the operator's command, posting through the gateway."""

    def post(url: str, headers: Any, body: bytes) -> tuple[int, bytes]:
        response = gateway.post(urlsplit(url).path, data=body, headers=dict(headers))
        return response.status_code, response.get_data()

    previous = telegram.webhook_transport
    telegram.webhook_transport = post
    result = notify.test_cli_runner().invoke(args=["telegram", "set-webhook", WEBHOOK_URL])
    assert result.exit_code == 0, result.output
    yield telegram
    telegram.webhook_transport = previous
