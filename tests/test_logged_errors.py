"""Issue 22 item 9: a statement that fails is logged without its bound parameters (emails, user
ids, password hashes, descriptions), on every engine of both services and their workers.

A failed statement, for real: the test holds every table of the service's database locked, and
the app's connections give up waiting after a moment (lock_timeout, set through libpq's
PGOPTIONS for this test's own app only). The request answers 503 and the error is logged,
with the SQL but without the values.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import psycopg2
import pytest
from flask import Flask
from sqlalchemy import Engine

import api_app
import notify_app
from notify_app.extensions import autocommit_engine
from tests.conftest import ServiceDatabases
from tests.users import PASSWORD, SignedInUser, register_through


@contextmanager
def every_table_locked(database_url: str) -> Iterator[None]:
    connection = psycopg2.connect(database_url)
    try:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
                "AND tablename <> 'alembic_version'"
            )
            tables = ", ".join(row[0] for row in cursor.fetchall())
            cursor.execute(f"LOCK TABLE {tables} IN ACCESS EXCLUSIVE MODE")
        yield
    finally:
        connection.rollback()
        connection.close()


@pytest.fixture
def impatient_apps(
    monkeypatch: pytest.MonkeyPatch, api: Flask, notify: Flask
) -> Iterator[Callable[[Any], Flask]]:
    """Apps of their own whose connections wait at most 100 ms for a lock."""
    monkeypatch.setenv("PGOPTIONS", "-c lock_timeout=100")
    made: list[Flask] = []

    def make(service: Any) -> Flask:
        app: Flask = service.create_app({"TESTING": True})
        made.append(app)
        return app

    yield make
    for app in made:
        with app.app_context():
            app.extensions["sqlalchemy"].engine.dispose()


def test_a_failed_sign_in_statement_is_logged_without_the_email(
    impatient_apps: Callable[[Any], Flask],
    test_databases: ServiceDatabases,
    caplog: pytest.LogCaptureFixture,
) -> None:
    app = impatient_apps(api_app)
    client = app.test_client()
    user = register_through(client)
    with caplog.at_level(logging.INFO), every_table_locked(test_databases.api_url):
        response = client.post("/api/auth/login", json={"email": user.email, "password": PASSWORD})
    assert response.status_code == 503
    assert "lock timeout" in caplog.text  # the failed statement was logged...
    assert "FROM users" in caplog.text
    assert user.email not in caplog.text  # ...without its parameters
    assert "parameters hidden" in caplog.text


def test_a_failed_notify_statement_is_logged_without_the_user_id(
    impatient_apps: Callable[[Any], Flask],
    make_user: Callable[[], SignedInUser],
    test_databases: ServiceDatabases,
    caplog: pytest.LogCaptureFixture,
) -> None:
    app = impatient_apps(notify_app)
    user = make_user()
    with caplog.at_level(logging.INFO), every_table_locked(test_databases.notify_url):
        response = app.test_client().patch(
            "/api/notifications/settings", json={"warn_at_percent": 90}, headers=user.headers
        )
    assert response.status_code == 503
    assert "lock timeout" in caplog.text
    assert str(user.id) not in caplog.text
    assert user.id.hex not in caplog.text
    assert "parameters hidden" in caplog.text


def engines_of_every_process() -> dict[str, Engine]:
    from api_worker.tasks import api_application
    from worker.tasks import notify_application

    engines = {}
    # The api (and the relay, the CLI, migrations), the api worker (jobs, bot commands).
    for name, app in [("api", api_app.create_app()), ("api worker", api_application())]:
        with app.app_context():
            engines[name] = app.extensions["sqlalchemy"].engine
    # notify_app and the notifications worker, each with its autocommit engine.
    for name, app in [("notify", notify_app.create_app()), ("worker", notify_application())]:
        with app.app_context():
            engines[name] = app.extensions["sqlalchemy"].engine
            engines[f"{name} autocommit"] = autocommit_engine()
    return engines


def test_every_engine_hides_parameters(service_environment: dict[str, str]) -> None:
    engines = engines_of_every_process()
    assert {name: engine.hide_parameters for name, engine in engines.items()} == dict.fromkeys(
        engines, True
    )
