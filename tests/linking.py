"""Linking a Telegram chat the one way there is: the deep link, opened in "Telegram"."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

from werkzeug.test import Client

from tests.conftest import TELEGRAM_WEBHOOK_SECRET

LINK = "/api/notifications/telegram/link"
WEBHOOK = "/api/notifications/telegram/webhook"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


def telegram_update(client: Client, text: str, chat_id: int | str) -> Any:
    """What Telegram posts to the webhook when someone in chat `chat_id` writes `text`."""
    update = {
        "update_id": 1,
        "message": {"message_id": 2, "chat": {"id": int(chat_id)}, "text": text},
    }
    return client.post(WEBHOOK, json=update, headers={SECRET_HEADER: TELEGRAM_WEBHOOK_SECRET})


def link_chat(client: Client, headers: dict[str, str], chat_id: int | str) -> str:
    """Ask for a link as the user, open it from chat `chat_id`; the bot's reply."""
    offer = client.post(LINK, headers=headers)
    assert offer.status_code == 201, offer.get_json(silent=True)
    code = parse_qs(urlsplit(offer.get_json()["url"]).query)["start"][0]
    reply = telegram_update(client, f"/start {code}", chat_id)
    assert reply.status_code == 200, reply.get_json(silent=True)
    text: str = reply.get_json()["text"]
    assert text.startswith("Linked!"), text
    return text


def apply_settings(client: Client, headers: dict[str, str], changes: dict[str, Any]) -> Any:
    """PATCH the settings; a `telegram_chat_id` other than null is linked through the bot."""
    changes = dict(changes)
    chat_id = changes.get("telegram_chat_id")
    if chat_id is not None:
        del changes["telegram_chat_id"]
        link_chat(client, headers, chat_id)
    return client.patch("/api/notifications/settings", json=changes, headers=headers)
