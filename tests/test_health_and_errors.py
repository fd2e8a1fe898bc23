"""Health answers from a real query; every error, on both services, is JSON of one shape."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest
from flask import Flask
from werkzeug.test import Client

import api_app
import notify_app
from devstack.servers import ensure_database, free_port, start_postgres
from tests.conftest import database_url
from wsgi import Gateway

ERROR_KEYS = {"code", "status", "message", "errors"}


def test_health_answers_ok_through_the_gateway(api: Flask, notify: Flask) -> None:
    gateway = Client(Gateway(api, notify))
    api_health = gateway.get("/health")
    assert (api_health.status_code, api_health.json) == (200, {"status": "ok"})
    notify_health = gateway.get("/api/notifications/health")
    assert (notify_health.status_code, notify_health.json) == (
        200,
        {"status": "ok", "service": "notifications"},
    )


@pytest.mark.parametrize(
    ("factory", "variable", "path"),
    [
        (api_app.create_app, "SQLALCHEMY_DATABASE_URI", "/health"),
        (notify_app.create_app, "SQLALCHEMY_DATABASE_URI", "/api/notifications/health"),
    ],
)
def test_health_answers_503_json_fast_when_the_database_is_unreachable(
    service_environment: dict[str, str],
    factory: Callable[..., Flask],
    variable: str,
    path: str,
) -> None:
    closed_port = free_port()
    app = factory({variable: f"postgresql://budget:budget@127.0.0.1:{closed_port}/nowhere"})
    started = time.monotonic()
    response = app.test_client().get(path)
    elapsed = time.monotonic() - started
    assert response.status_code == 503
    assert set(response.json) == ERROR_KEYS
    assert response.json["message"] == "database unavailable"
    assert elapsed < 2.5, f"health took {elapsed:.1f}s with the database unreachable"


@pytest.mark.chaos  # it stops a PostgreSQL server of its own under the app
def test_health_answers_503_when_its_database_stops(
    service_environment: dict[str, str], tmp_path: Path
) -> None:
    server = start_postgres(tmp_path / "pg", cleanup="delete")
    try:
        ensure_database(server.superuser_url, "budget_notifications")
        url = database_url(server.superuser_url, "budget_notifications")
        client = notify_app.create_app({"SQLALCHEMY_DATABASE_URI": url}).test_client()
        assert client.get("/api/notifications/health").status_code == 200
    finally:
        server.stop()
    response = client.get("/api/notifications/health")
    assert response.status_code == 503
    assert set(response.json) == ERROR_KEYS


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("get", "/no/such/route", 404),
        ("delete", "/health", 405),
        ("get", "/api/notifications/no/such/route", 404),
        ("put", "/api/notifications/health", 405),
    ],
)
def test_unknown_routes_and_methods_answer_json(
    api: Flask, notify: Flask, method: str, path: str, status: int
) -> None:
    response = getattr(Client(Gateway(api, notify)), method)(path)
    assert response.status_code == status
    assert response.mimetype == "application/json"
    assert set(response.json) == ERROR_KEYS
    assert response.json["code"] == status


@pytest.mark.parametrize("factory", [api_app.create_app, notify_app.create_app])
def test_unexpected_exception_answers_generic_json_500(
    service_environment: dict[str, str], factory: Callable[..., Flask]
) -> None:
    app = factory()

    @app.get("/boom")
    def boom() -> str:
        raise RuntimeError("secret internals")

    response = app.test_client().get("/boom")
    assert response.status_code == 500
    assert set(response.json) == ERROR_KEYS
    assert "secret internals" not in response.get_data(as_text=True)
    assert "Traceback" not in response.get_data(as_text=True)
