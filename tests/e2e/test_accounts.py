"""Issue 6: signing up gives a user their notification settings; deleting the account forgets
them in the notifications service too (settings, history, pending Telegram links)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from urllib.parse import parse_qs, urlsplit

from werkzeug.test import Client

from tests.conftest import TELEGRAM_WEBHOOK_SECRET
from tests.e2e.conftest import SETTINGS, Rows, settled_history
from tests.eventually import eventually
from tests.processes import LaunchedProcess
from tests.telegram_standin import TelegramStandIn
from tests.users import PASSWORD, SignedInUser

WEBHOOK = "/api/notifications/telegram/webhook"


def settings_row(rows: Rows, user_id: uuid.UUID) -> list[tuple[object, ...]]:
    return rows.notify(
        "SELECT telegram_chat_id, notify_limit_exceeded, notify_goal_reached"
        " FROM notification_settings WHERE user_id = %s",
        str(user_id),
    )


def test_signing_up_creates_the_notification_settings(
    register: Callable[[], SignedInUser], celery_worker: LaunchedProcess, rows: Rows
) -> None:
    user = register()

    created = eventually(lambda: settings_row(rows, user.id), "the new user's settings row")
    assert created == [(None, True, True)]
    assert user.expect(200, "GET", SETTINGS) == {
        "telegram_chat_id": None,
        "notify_limit_exceeded": True,
        "notify_goal_reached": True,
        "warn_at_percent": 80,
        "notify_monthly_digest": False,
        "digest_balances": True,
    }

    user.settings(telegram_chat_id="123456789", notify_goal_reached=False)
    assert settings_row(rows, user.id) == [("123456789", True, False)]
    assert user.expect(200, "GET", SETTINGS) == {
        "telegram_chat_id": "123456789",
        "notify_limit_exceeded": True,
        "notify_goal_reached": False,
        "warn_at_percent": 80,
        "notify_monthly_digest": False,
        "digest_balances": True,
    }


def history_rows(rows: Rows, user_id: uuid.UUID) -> int:
    [(count,)] = rows.notify("SELECT count(*) FROM deliveries WHERE user_id = %s", str(user_id))
    return int(count)


def cross_a_limit(user: SignedInUser) -> None:
    food = user.category_id("Food")
    user.budget(2026, 11, {food: "10.00"})
    user.transaction(food, "10.01", "2026-11-01")


def test_deleting_the_account_removes_its_settings_and_history(
    register: Callable[[], SignedInUser],
    celery_worker: LaunchedProcess,
    rows: Rows,
    telegram: TelegramStandIn,
) -> None:
    ann, bob = register(), register()
    ann.settings(telegram_chat_id="1111")
    cross_a_limit(ann)
    cross_a_limit(bob)
    assert [row["status"] for row in settled_history(ann, rows)] == ["sent"]
    assert [row["status"] for row in settled_history(bob, rows)] == ["skipped"]

    # The wrong password deletes nothing.
    ann.expect(403, "DELETE", "/api/users/me", json={"password": "not-the-password"})
    ann.expect(204, "DELETE", "/api/users/me", json={"password": PASSWORD})

    ann.expect(401, "GET", "/api/users/me")
    eventually(lambda: not settings_row(rows, ann.id), "the deleted user's settings to go")
    assert history_rows(rows, ann.id) == 0
    # Her token is refused by notify_app too, though its signature is valid until it expires.
    ann.expect(401, "GET", "/api/notifications/history")
    # Nothing of anybody else's goes with it.
    assert settings_row(rows, bob.id) == [(None, True, True)]
    assert history_rows(rows, bob.id) == 1
    assert len(telegram.messages) == 1


def start(gateway: Client, code: str, chat_id: int) -> dict[str, str]:
    update = {"update_id": 1, "message": {"message_id": 2, "chat": {"id": chat_id}, "text": code}}
    response = gateway.post(
        WEBHOOK, json=update, headers={"X-Telegram-Bot-Api-Secret-Token": TELEGRAM_WEBHOOK_SECRET}
    )
    assert response.status_code == 200
    reply: dict[str, str] = response.get_json()
    return reply


def test_a_telegram_link_of_a_deleted_account_links_nothing(
    register: Callable[[], SignedInUser],
    gateway: Client,
    celery_worker: LaunchedProcess,
    rows: Rows,
) -> None:
    ann = register()
    offer = ann.expect(201, "POST", "/api/notifications/telegram/link")
    code = parse_qs(urlsplit(offer["url"]).query)["start"][0]
    eventually(lambda: settings_row(rows, ann.id), "the new user's settings row")

    ann.expect(204, "DELETE", "/api/users/me", json={"password": PASSWORD})
    eventually(lambda: not settings_row(rows, ann.id), "the deleted user's settings to go")

    reply = start(gateway, f"/start {code}", chat_id=777)
    assert "not valid" in reply["text"]
    assert settings_row(rows, ann.id) == []
    codes = "SELECT count(*) FROM telegram_link_codes WHERE user_id = %s"
    assert rows.notify(codes, str(ann.id)) == [(0,)]
