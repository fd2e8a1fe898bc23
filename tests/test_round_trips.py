"""Database round trips per request on the main endpoints, counted with SQLAlchemy's events.

A round trip is a statement sent on a cursor, or a BEGIN, COMMIT or ROLLBACK of a transaction
(psycopg2 sends BEGIN right before a transaction's first statement). The counts below are those
of bench/README.md ("Where a goal is missed"); a change that makes one grow fails here and must
say why in both.
Every request checks out one connection, once: nothing is loaded again after the commit, and no
pre-ping runs at the checkout. And every statement they send is one SQLAlchemy can cache.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import psycopg2
import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event, text
from sqlalchemy.engine.interfaces import CacheStats

from tests.conftest import ServiceDatabases
from tests.users import PASSWORD, SignedInUser, unique_email

# Endpoint -> round trips, BEGIN and COMMIT (or ROLLBACK) included.
EXPECTED = {
    # 5, and the daily row quota's count (one statement in the same transaction: issue 22).
    "POST /api/transactions": 6,
    "PATCH /api/transactions/{id}": 6,
    "DELETE /api/transactions/{id}": 6,
    "PUT /api/budgets/{id}/limits/{category_id}": 9,
    "POST /api/goals/{id}/contributions": 5,
    "GET /api/budgets/summary": 5,
    "POST /api/auth/login": 4,
}


@dataclass
class RoundTrips:
    statements: list[str] = field(default_factory=list)
    transaction_ends: list[str] = field(default_factory=list)
    begins: int = 0
    checkouts: int = 0
    # Statements SQLAlchemy could not cache (no cache key): compiled again on every request.
    uncached: list[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        return self.begins + len(self.statements) + len(self.transaction_ends)

    def describe(self) -> str:
        return "\n".join([f"{self.begins} BEGIN", *self.statements, *self.transaction_ends])


@contextmanager
def counting(api: Flask) -> Iterator[RoundTrips]:
    from api_app.extensions import db

    with api.app_context():
        engine = db.engine
    trips = RoundTrips()

    def statement(_conn: Any, _cursor: Any, sql: str, *_args: Any) -> None:
        trips.statements.append(" ".join(sql.split())[:120])

    def cached(_conn: Any, _cursor: Any, sql: str, _parameters: Any, context: Any, *_: Any) -> None:
        if context.cache_hit is CacheStats.NO_CACHE_KEY:
            trips.uncached.append(" ".join(sql.split())[:120])

    def begin(_conn: Any) -> None:
        trips.begins += 1

    def commit(_conn: Any) -> None:
        trips.transaction_ends.append("COMMIT")

    def rollback(_conn: Any) -> None:
        trips.transaction_ends.append("ROLLBACK")

    def checkout(*_args: Any) -> None:
        trips.checkouts += 1

    listeners: list[tuple[Any, str, Callable[..., None]]] = [
        (engine, "before_cursor_execute", statement),
        (engine, "after_cursor_execute", cached),
        (engine, "begin", begin),
        (engine, "commit", commit),
        (engine, "rollback", rollback),
        (engine.pool, "checkout", checkout),
    ]
    for target, name, listener in listeners:
        event.listen(target, name, listener)
    try:
        yield trips
    finally:
        for target, name, listener in listeners:
            event.remove(target, name, listener)


@dataclass
class Scene:
    """A user with a budgeted category far from its limit, a transaction and a goal."""

    user: SignedInUser
    category_id: str
    budget_id: str
    transaction_id: str
    goal_id: str


@pytest.fixture
def scene(api: Flask, make_user: Callable[[], SignedInUser]) -> Scene:
    user = make_user()
    category_id = user.expect(201, "POST", "/api/categories", json={"name": "Food"})["id"]
    budget_id = user.expect(
        201,
        "POST",
        "/api/budgets",
        json={
            "year": 2026,
            "month": 11,
            "limits": [{"category_id": category_id, "limit_amount": "100000.00"}],
        },
    )["id"]
    transaction_id = user.expect(
        201, "POST", "/api/transactions", json=expense(category_id, "12.50")
    )["id"]
    goal_id = user.expect(
        201, "POST", "/api/goals", json={"name": "Bike", "target_amount": "1000.00"}
    )["id"]
    return Scene(user, category_id, budget_id, transaction_id, goal_id)


def expense(category_id: str, amount: str) -> dict[str, str]:
    return {"category_id": category_id, "type": "EXPENSE", "amount": amount, "date": "2026-11-10"}


def test_no_pre_ping_at_checkout(api: Flask) -> None:
    from api_app.extensions import db

    with api.app_context():
        assert db.engine.pool._pre_ping is False


def test_no_pre_ping_at_checkout_in_notify_app(notify: Flask) -> None:
    from notify_app.extensions import db

    with notify.app_context():
        assert db.engine.pool._pre_ping is False


def measured(api: Flask, request: Callable[[], object]) -> RoundTrips:
    with counting(api) as trips:
        request()
    assert trips.checkouts == 1, f"{trips.checkouts} connection checkouts:\n{trips.describe()}"
    return trips


def main_endpoints(api: Flask, s: Scene) -> dict[str, RoundTrips]:
    """Each main endpoint requested once, and what it sent to the database."""
    return {
        "POST /api/transactions": measured(
            api,
            lambda: s.user.expect(
                201, "POST", "/api/transactions", json=expense(s.category_id, "3")
            ),
        ),
        "PATCH /api/transactions/{id}": measured(
            api,
            lambda: s.user.expect(
                200, "PATCH", f"/api/transactions/{s.transaction_id}", json={"amount": "13.00"}
            ),
        ),
        "DELETE /api/transactions/{id}": measured(
            api, lambda: s.user.expect(204, "DELETE", f"/api/transactions/{s.transaction_id}")
        ),
        "PUT /api/budgets/{id}/limits/{category_id}": measured(
            api,
            lambda: s.user.expect(
                200,
                "PUT",
                f"/api/budgets/{s.budget_id}/limits/{s.category_id}",
                json={"limit_amount": "90000.00"},
            ),
        ),
        "POST /api/goals/{id}/contributions": measured(
            api,
            lambda: s.user.expect(
                200, "POST", f"/api/goals/{s.goal_id}/contributions", json={"amount": "10.00"}
            ),
        ),
        "GET /api/budgets/summary": measured(
            api, lambda: s.user.expect(200, "GET", "/api/budgets/summary?year=2026&month=11")
        ),
    }


def test_round_trips_of_the_main_endpoints(api: Flask, scene: Scene) -> None:
    counted = main_endpoints(api, scene)
    assert {endpoint: trips.total for endpoint, trips in counted.items()} == {
        endpoint: count for endpoint, count in EXPECTED.items() if endpoint in counted
    }, "\n\n".join(f"{endpoint}:\n{trips.describe()}" for endpoint, trips in counted.items())


def test_every_statement_of_the_main_endpoints_and_a_sign_up_is_compiled_once(
    api: Flask, api_client: FlaskClient, scene: Scene
) -> None:
    """SQLAlchemy compiles a statement once and caches it unless it cannot key it (an ON
    CONFLICT DO UPDATE with SET expressions, a VALUES list): such a statement is compiled on
    every request, which cost the write path more than its round trip (bench/README.md)."""
    counted = main_endpoints(api, scene)
    with counting(api) as trips:
        signed_up = api_client.post(
            "/api/auth/register", json={"email": unique_email(), "password": PASSWORD}
        )
    assert signed_up.status_code == 201, signed_up.json
    counted["POST /api/auth/register"] = trips
    uncached = {endpoint: trips.uncached for endpoint, trips in counted.items() if trips.uncached}
    assert uncached == {}


def test_round_trips_of_a_login(
    api: Flask, api_client: FlaskClient, sign_up: Callable[..., SignedInUser]
) -> None:
    user = sign_up()
    with counting(api) as trips:
        response = api_client.post(
            "/api/auth/login", json={"email": user.email, "password": user.password}
        )
    assert response.status_code == 200, response.json
    assert trips.checkouts == 1, trips.describe()
    assert trips.total == EXPECTED["POST /api/auth/login"], trips.describe()


def test_a_dropped_connection_costs_no_request(
    api: Flask, scene: Scene, test_databases: ServiceDatabases
) -> None:
    """Without a pre-ping, a pooled connection that the server dropped (as a restart drops them
    all) is noticed by the request's first statement: the request runs again on a fresh
    connection instead of failing. An app of its own, so only its connection is dropped."""
    import api_app
    from api_app.extensions import db

    app = api_app.create_app({"TESTING": True})
    client = app.test_client()
    try:
        for method, path, status, body in [
            ("GET", "/health", 200, None),
            ("GET", f"/api/transactions/{scene.transaction_id}", 200, None),
            ("POST", "/api/transactions", 201, expense(scene.category_id, "1.00")),
        ]:
            with app.app_context():
                pooled = db.session.scalar(text("SELECT pg_backend_pid()"))
                db.session.rollback()
            terminate(test_databases.api_url, pooled)
            response = client.open(path, method=method, headers=scene.user.headers, json=body)
            assert response.status_code == status, response.get_json(silent=True)
    finally:
        with app.app_context():
            db.engine.dispose()
    transactions = scene.user.expect(200, "GET", "/api/transactions?page_size=100")
    assert sorted(transaction["amount"] for transaction in transactions) == ["1.00", "12.50"]


def test_a_dropped_connection_costs_notify_app_no_request(
    make_user: Callable[[], SignedInUser], test_databases: ServiceDatabases
) -> None:
    """notify_app recovers a dropped connection as api_app does (service_kit's
    RecoveringFlask): the request whose first statement met it runs again on a fresh one."""
    import notify_app
    from notify_app.extensions import db

    user = make_user()
    app = notify_app.create_app({"TESTING": True})
    client = app.test_client()
    try:
        for method, path, status, body in [
            ("GET", "/api/notifications/health", 200, None),
            ("GET", "/api/notifications/settings", 200, None),
            ("PATCH", "/api/notifications/settings", 200, {"notify_goal_reached": False}),
        ]:
            with app.app_context():
                pooled = db.session.scalar(text("SELECT pg_backend_pid()"))
                db.session.rollback()
            terminate(test_databases.notify_url, pooled)
            response = client.open(path, method=method, headers=user.headers, json=body)
            assert response.status_code == status, response.get_json(silent=True)
        settings = client.get("/api/notifications/settings", headers=user.headers)
        assert settings.json["notify_goal_reached"] is False
    finally:
        with app.app_context():
            db.engine.dispose()


def terminate(database_url: str, backend_pid: int) -> None:
    with psycopg2.connect(database_url) as connection, connection.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(%s)", (backend_pid,))
        assert cursor.fetchone() == (True,)
    connection.close()
