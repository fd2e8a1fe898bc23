"""Issue 14: one account cannot flood the queue or grow tables: per-user limits on test messages,
Telegram links and every write, on both services, counted in Redis."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from flask import Flask

import api_app
import notify_app
from tests.users import SignedInUser

ERROR_KEYS = {"code", "status", "message", "errors"}
LINK = "/api/notifications/telegram/link"
TEST = "/api/notifications/test"
SETTINGS = "/api/notifications/settings"


def assert_too_many(response: Any, window_seconds: int) -> None:
    assert response.status_code == 429, response.json
    assert set(response.json) == ERROR_KEYS
    assert response.json["code"] == 429
    assert 1 <= int(response.headers["Retry-After"]) <= window_seconds


@pytest.fixture
def limited_apps() -> Iterator[list[Flask]]:
    """Apps made by a test with limits of its own; their connections close after it (the
    PostgreSQL server is shared)."""
    apps: list[Flask] = []
    yield apps
    for app in apps:
        with app.app_context():
            app.extensions["sqlalchemy"].engine.dispose()


@pytest.fixture
def limited_notify(limited_apps: list[Flask]) -> Callable[..., Flask]:
    def make(**config: str) -> Flask:
        app = notify_app.create_app({"TESTING": True, **config})
        limited_apps.append(app)
        return app

    return make


def test_test_messages_are_limited_per_user(
    notify: Flask,
    make_user: Callable[[], SignedInUser],
    limited_notify: Callable[..., Flask],
) -> None:
    client = limited_notify(TEST_MESSAGE_RATE_LIMIT="2 per hour").test_client()
    ann, bob = make_user(), make_user()
    # Without a linked chat each answers 409, and still counts: asking is what costs.
    assert [client.post(TEST, headers=ann.headers).status_code for _ in range(2)] == [409, 409]
    assert_too_many(client.post(TEST, headers=ann.headers), 3600)
    assert client.post(TEST, headers=bob.headers).status_code == 409


def test_telegram_links_are_limited_per_user(
    notify: Flask,
    make_user: Callable[[], SignedInUser],
    limited_notify: Callable[..., Flask],
) -> None:
    client = limited_notify(TELEGRAM_LINK_RATE_LIMIT="2 per hour").test_client()
    ann, bob = make_user(), make_user()
    assert [client.post(LINK, headers=ann.headers).status_code for _ in range(2)] == [201, 201]
    assert_too_many(client.post(LINK, headers=ann.headers), 3600)
    assert client.post(LINK, headers=bob.headers).status_code == 201


def test_every_notify_write_draws_on_one_budget_per_user(
    notify: Flask,
    make_user: Callable[[], SignedInUser],
    limited_notify: Callable[..., Flask],
) -> None:
    client = limited_notify(WRITE_RATE_LIMIT_PER_USER="3 per minute").test_client()
    ann, bob = make_user(), make_user()
    change = {"notify_goal_reached": False}
    assert client.patch(SETTINGS, json=change, headers=ann.headers).status_code == 200
    assert client.post(LINK, headers=ann.headers).status_code == 201
    assert client.patch(SETTINGS, json=change, headers=ann.headers).status_code == 200
    assert_too_many(client.patch(SETTINGS, json=change, headers=ann.headers), 60)
    assert_too_many(client.post(LINK, headers=ann.headers), 60)
    # Reading is not limited, and other users have budgets of their own.
    assert client.get(SETTINGS, headers=ann.headers).status_code == 200
    assert client.patch(SETTINGS, json=change, headers=bob.headers).status_code == 200


def test_every_api_write_draws_on_one_budget_per_user(
    api: Flask, make_user: Callable[[], SignedInUser], limited_apps: list[Flask]
) -> None:
    app = api_app.create_app({"TESTING": True, "WRITE_RATE_LIMIT_PER_USER": "3 per minute"})
    limited_apps.append(app)
    client = app.test_client()
    ann, bob = make_user(), make_user()
    created = client.post("/api/categories", json={"name": "Books"}, headers=ann.headers)
    assert created.status_code == 201
    category = f"/api/categories/{created.json['id']}"
    assert client.patch(category, json={"name": "Comics"}, headers=ann.headers).status_code == 200
    goal = {"name": "Bike", "target_amount": "100.00"}
    assert client.post("/api/goals", json=goal, headers=ann.headers).status_code == 201
    assert_too_many(client.post("/api/goals", json=goal, headers=ann.headers), 60)
    assert_too_many(client.delete(category, headers=ann.headers), 60)
    assert client.get("/api/categories", headers=ann.headers).status_code == 200
    assert client.post("/api/goals", json=goal, headers=bob.headers).status_code == 201


def test_the_limits_are_documented_as_429(notify: Flask, api: Flask) -> None:
    notify_spec = notify.test_client().get("/api/notifications/openapi.json").json
    for path, method in ((TEST, "post"), (LINK, "post"), (SETTINGS, "patch")):
        assert "429" in notify_spec["paths"][path][method]["responses"], (path, method)
    assert "429" not in notify_spec["paths"][SETTINGS]["get"]["responses"]
    api_spec = api.test_client().get("/api/openapi.json").json
    assert "429" in api_spec["paths"]["/api/goals"]["post"]["responses"]
    assert "429" not in api_spec["paths"]["/api/goals"]["get"]["responses"]
