"""End to end, as a user sees it: HTTP calls through the gateway, the real worker, "Telegram".

Every request goes through `wsgi.Gateway`, the routing production uses. Users sign up with
POST /api/auth/register and set up everything through the API; the databases are read only for
what no endpoint shows: that a row exists or is gone, and which events a request recorded (the
outbox row is committed with the request, so it says what the worker will be asked to do).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import psycopg2
import pytest
import redis
from flask import Flask
from prometheus_client.parser import text_string_to_metric_families
from werkzeug.test import Client, TestResponse

from event_contract import (
    BUDGET_LIMIT_EXCEEDED,
    BUDGET_MONTH_CLOSED,
    BUDGET_THRESHOLD_REACHED,
    GOAL_REACHED,
    NOTIFICATIONS_QUEUE,
)
from tests.conftest import ServiceDatabases, register_through
from tests.linking import apply_settings
from tests.pipeline import OUTCOME_WAIT_SECONDS, wait_until
from wsgi import Gateway

HISTORY = "/api/notifications/history?page_size=100"
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


@pytest.fixture
def gateway(api: Flask, notify: Flask) -> Client:
    return Client(Gateway(api, notify))


@dataclass
class Person:
    """A signed-up user and the calls they make; the helpers assert the status they expect."""

    gateway: Client
    id: uuid.UUID
    email: str
    access_token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.access_token}"}

    def call(
        self, method: str, path: str, *, headers: dict[str, str] | None = None, **kwargs: Any
    ) -> TestResponse:
        return self.gateway.open(
            path, method=method, headers={**self.headers, **(headers or {})}, **kwargs
        )

    def expect(self, status: int, method: str, path: str, **kwargs: Any) -> Any:
        """The JSON body of a call that must answer `status` (None for an empty body)."""
        response = self.call(method, path, **kwargs)
        body = response.get_json(silent=True)
        assert response.status_code == status, f"{method} {path}: {response.status_code} {body}"
        return body

    def category_id(self, name: str) -> str:
        """One of the user's categories by name: a default one (Food, Transport, ...) or theirs."""
        categories = self.expect(200, "GET", "/api/categories?page_size=100")
        (wanted,) = [category["id"] for category in categories if category["name"] == name]
        return str(wanted)

    def new_category(self, name: str) -> str:
        return str(self.expect(201, "POST", "/api/categories", json={"name": name})["id"])

    def settings(self, **changes: Any) -> dict[str, Any]:
        """PATCH the notification settings (notify_limit_exceeded, ...); a telegram_chat_id
        other than null is linked through the bot's deep link, the one way to set it."""
        response = apply_settings(self.gateway, self.headers, changes)
        body = response.get_json(silent=True)
        assert response.status_code == 200, f"PATCH {SETTINGS}: {response.status_code} {body}"
        settings: dict[str, Any] = body
        return settings

    def budget(self, year: int, month: int, limits: dict[str, str]) -> str:
        """A monthly budget with {category id: limit}; its id."""
        body = {
            "year": year,
            "month": month,
            "limits": [{"category_id": c, "limit_amount": a} for c, a in limits.items()],
        }
        return str(self.expect(201, "POST", "/api/budgets", json=body)["id"])

    def transaction(
        self, category_id: str, amount: str, day: str, kind: str = "EXPENSE"
    ) -> dict[str, Any]:
        body = {"category_id": category_id, "type": kind, "amount": amount, "date": day}
        created: dict[str, Any] = self.expect(201, "POST", "/api/transactions", json=body)
        return created

    def history(self) -> list[dict[str, Any]]:
        """GET /api/notifications/history: the user's deliveries, newest first."""
        rows: list[dict[str, Any]] = self.expect(200, "GET", HISTORY)
        return rows


@pytest.fixture
def register(gateway: Client) -> Callable[[], Person]:
    """Sign a new user up through POST /api/auth/register."""

    def sign_up() -> Person:
        user = register_through(gateway)
        return Person(gateway, user.id, user.email, user.access_token)

    return sign_up


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
    person: Person, rows: Rows, kinds: tuple[str, ...] = ALERTS
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

    (history,) = wait_until(finished, f"one finished delivery for each of the events {expected}")
    return [row for row in history if row["event_type"] in kinds]


def sent_messages(telegram_messages: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """(chat id, text) of each message "Telegram" received, in order."""
    return [(message["chat_id"], message["text"]) for message in telegram_messages]


def wait_until_worker_idle(redis_url: str) -> None:
    """Until the broker holds no task for the notifications queue, neither waiting nor taken.

    With late acknowledgement a task leaves kombu's `unacked` hash only after it ran (its
    task_postrun metrics included). Seen idle twice in a row: a task moves from the queue into
    the hash in two steps.
    """
    broker = redis.Redis.from_url(redis_url)

    def idle() -> bool:
        queued = sum(int(broker.llen(key)) for key in broker.scan_iter(f"{NOTIFICATIONS_QUEUE}*"))
        return queued == 0 and int(broker.hlen("unacked")) == 0

    def idle_twice() -> bool:
        if not idle():
            return False
        time.sleep(0.05)
        return idle()

    wait_until(idle_twice, "the worker to finish every queued task", timeout=OUTCOME_WAIT_SECONDS)


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
