"""GET and PATCH /api/notifications/settings: defaults until changed, strict input, per user."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import psycopg2
import pytest
from flask.testing import FlaskClient

from tests.conftest import ServiceDatabases
from tests.linking import link_chat
from tests.users import SignedInUser

DEFAULTS = {
    "telegram_chat_id": None,
    "notify_limit_exceeded": True,
    "notify_goal_reached": True,
    "warn_at_percent": 80,
    "notify_monthly_digest": False,
    "digest_balances": True,
}
ERROR_KEYS = {"code", "status", "message", "errors"}
PATH = "/api/notifications/settings"


@pytest.fixture
def settings_rows(test_databases: ServiceDatabases) -> Callable[[], list[tuple[Any, ...]]]:
    def read() -> list[tuple[Any, ...]]:
        with (
            psycopg2.connect(test_databases.notify_url) as connection,
            connection.cursor() as cursor,
        ):
            cursor.execute(
                "SELECT user_id::text, telegram_chat_id, notify_limit_exceeded, "
                "notify_goal_reached FROM notification_settings ORDER BY user_id"
            )
            rows = cursor.fetchall()
        connection.close()
        return rows

    return read


def test_settings_are_the_defaults_until_changed(
    notify_client: FlaskClient,
    make_user: Callable[[], SignedInUser],
    settings_rows: Callable[[], list[tuple[Any, ...]]],
) -> None:
    user = make_user()
    response = notify_client.get(PATH, headers=user.headers)
    assert response.status_code == 200
    assert response.json == DEFAULTS
    assert settings_rows() == []


def test_patch_changes_the_given_fields_and_keeps_the_others(
    notify_client: FlaskClient,
    make_user: Callable[[], SignedInUser],
    settings_rows: Callable[[], list[tuple[Any, ...]]],
) -> None:
    user = make_user()
    link_chat(notify_client, user.headers, "123456789")
    assert settings_rows() == [(str(user.id), "123456789", True, True)]

    response = notify_client.patch(PATH, json={"notify_goal_reached": False}, headers=user.headers)
    assert response.status_code == 200
    assert response.json == {
        **DEFAULTS,
        "telegram_chat_id": "123456789",
        "notify_goal_reached": False,
    }
    assert notify_client.get(PATH, headers=user.headers).json == response.json
    assert settings_rows() == [(str(user.id), "123456789", True, False)]


def test_null_unlinks_the_chat(
    notify_client: FlaskClient, make_user: Callable[[], SignedInUser]
) -> None:
    user = make_user()
    link_chat(notify_client, user.headers, "-1001234567890")
    response = notify_client.patch(
        PATH, json={"telegram_chat_id": None, "notify_limit_exceeded": False}, headers=user.headers
    )
    assert response.status_code == 200
    assert response.json == {**DEFAULTS, "notify_limit_exceeded": False}


@pytest.mark.parametrize("chat_id", ["123456789", "-1001234567890", "7", 42, ""])
def test_a_chat_id_cannot_be_set_by_hand(
    notify_client: FlaskClient,
    make_user: Callable[[], SignedInUser],
    settings_rows: Callable[[], list[tuple[Any, ...]]],
    chat_id: Any,
) -> None:
    """Otherwise any account could point the bot at a stranger's chat."""
    user = make_user()
    link_chat(notify_client, user.headers, "555")
    response = notify_client.patch(PATH, json={"telegram_chat_id": chat_id}, headers=user.headers)
    assert response.status_code == 422
    assert set(response.json) == ERROR_KEYS
    assert "telegram_chat_id" in response.json["errors"]["json"]
    assert settings_rows() == [(str(user.id), "555", True, True)]


def test_an_empty_patch_changes_nothing(
    notify_client: FlaskClient,
    make_user: Callable[[], SignedInUser],
    settings_rows: Callable[[], list[tuple[Any, ...]]],
) -> None:
    user = make_user()
    response = notify_client.patch(PATH, json={}, headers=user.headers)
    assert (response.status_code, response.json) == (200, DEFAULTS)
    assert settings_rows() == []


@pytest.mark.parametrize(
    "body",
    [
        {"telegram_chat_id": "12a"},
        {"telegram_chat_id": 123456789},
        {"notify_goal_reached": "maybe"},
        {"notify_limit_exceeded": None},
        {"user_id": "00000000-0000-0000-0000-000000000000"},
        {"telegram_chat_id": "1", "language": "en"},
        ["telegram_chat_id"],
    ],
)
def test_invalid_patches_answer_422_and_change_nothing(
    notify_client: FlaskClient,
    make_user: Callable[[], SignedInUser],
    settings_rows: Callable[[], list[tuple[Any, ...]]],
    body: Any,
) -> None:
    user = make_user()
    response = notify_client.patch(PATH, json=body, headers=user.headers)
    assert response.status_code == 422
    assert set(response.json) == ERROR_KEYS
    assert settings_rows() == []


def test_each_user_sees_and_changes_only_their_own_settings(
    notify_client: FlaskClient,
    make_user: Callable[[], SignedInUser],
    settings_rows: Callable[[], list[tuple[Any, ...]]],
) -> None:
    alice, bob = make_user(), make_user()
    link_chat(notify_client, alice.headers, "111")
    notify_client.patch(PATH, json={"notify_limit_exceeded": False}, headers=bob.headers)
    assert notify_client.get(PATH, headers=alice.headers).json == {
        **DEFAULTS,
        "telegram_chat_id": "111",
    }
    assert notify_client.get(PATH, headers=bob.headers).json == {
        **DEFAULTS,
        "notify_limit_exceeded": False,
    }
    assert len(settings_rows()) == 2


@pytest.mark.parametrize("method", ["get", "patch"])
def test_settings_need_an_access_token(notify_client: FlaskClient, method: str) -> None:
    response = getattr(notify_client, method)(PATH, json={"telegram_chat_id": "1"})
    assert response.status_code == 401
    assert set(response.json) == ERROR_KEYS
    assert response.headers["WWW-Authenticate"] == "Bearer"
