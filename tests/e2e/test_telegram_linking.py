"""Issue 7: a user links their chat through the bot's deep link, and their alerts go there."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlsplit

from werkzeug.test import Client

from tests.conftest import TELEGRAM_WEBHOOK_SECRET
from tests.e2e.conftest import SETTINGS, Rows, sent_messages, settled_history
from tests.eventually import eventually
from tests.processes import LaunchedProcess
from tests.telegram_standin import TelegramStandIn
from tests.users import SignedInUser

WEBHOOK = "/api/notifications/telegram/webhook"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


def telegram_posts(
    gateway: Client, text: str, chat_id: int, secret: str = TELEGRAM_WEBHOOK_SECRET
) -> Any:
    """What Telegram posts to the webhook when someone writes `text` to the bot."""
    update = {
        "update_id": 10,
        "message": {"message_id": 20, "chat": {"id": chat_id, "type": "private"}, "text": text},
    }
    return gateway.post(WEBHOOK, json=update, headers={SECRET_HEADER: secret})


def test_a_chat_linked_with_the_deep_link_receives_the_alerts(
    register: Callable[[], SignedInUser],
    gateway: Client,
    celery_worker: LaunchedProcess,
    rows: Rows,
    telegram: TelegramStandIn,
) -> None:
    ann = register()
    # The worker has handled ann's user.registered: notify_app knows which account it is.
    eventually(
        lambda: rows.notify("SELECT 1 FROM notification_settings WHERE user_id = %s", str(ann.id)),
        "ann's notification settings",
    )
    offer = ann.expect(201, "POST", "/api/notifications/telegram/link")
    link = urlsplit(offer["url"])
    assert (link.scheme, link.netloc, link.path) == ("https", "t.me", "/budget_alerts_bot")
    code = parse_qs(link.query)["start"][0]

    forged = telegram_posts(gateway, f"/start {code}", chat_id=1, secret="not-the-secret")
    assert forged.status_code == 401
    assert set(forged.get_json()) == {"code", "status", "message", "errors"}
    assert ann.expect(200, "GET", SETTINGS)["telegram_chat_id"] is None

    linked = telegram_posts(gateway, f"/start {code}", chat_id=987654321)
    assert linked.status_code == 200
    assert linked.get_json()["method"] == "sendMessage"
    assert linked.get_json()["chat_id"] == "987654321"
    assert linked.get_json()["text"].startswith("Linked!")
    # The reply names the account (masked), so a link opened by the wrong person is noticed.
    local, domain = ann.email.split("@")
    assert f"{local[0]}***@{domain}" in linked.get_json()["text"]
    assert local not in linked.get_json()["text"]
    assert ann.expect(200, "GET", SETTINGS)["telegram_chat_id"] == "987654321"

    # The code is used up: another chat presenting it changes nothing.
    replayed = telegram_posts(gateway, f"/start {code}", chat_id=555)
    assert replayed.status_code == 200
    assert "not valid" in replayed.get_json()["text"]
    assert ann.expect(200, "GET", SETTINGS)["telegram_chat_id"] == "987654321"

    food = ann.category_id("Food")
    ann.budget(2026, 11, {food: "500.00"})
    ann.transaction(food, "750.00", "2026-11-05")

    (delivery,) = settled_history(ann, rows)
    assert (delivery["status"], delivery["chat_id"]) == ("sent", "987654321")
    assert sent_messages(telegram.messages) == [
        (
            "987654321",
            "Budget alert: Food for November 2026 is over its limit:"
            " 750.00 spent of 500.00 (150%).",
        )
    ]
