"""The Telegram stand-in keeps Telegram's rules, and our code keeps them too.

Every test talks to the stand-in instead of Telegram, so a rule the stand-in does not keep is a
rule no test can see us break. The first half holds the stand-in to the Bot API's documented
limits and descriptions; the second half runs our code (set-webhook, the webhook, captions)
against it.
"""

from __future__ import annotations

import json
import struct
import subprocess
import sys
import zlib
from collections.abc import Iterator
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

import pytest
import urllib3
from flask.testing import FlaskClient

from notify_app.charts import Bar, bar_chart_png
from notify_app.deliveries.sending import caption
from notify_app.telegram import TelegramClient
from tests.conftest import REPO_ROOT
from tests.telegram_standin import TelegramStandIn, WebhookTransport

TOKEN = "123:standin"
WEBHOOK_URL = "https://budget.example.com/api/notifications/telegram/webhook"


@pytest.fixture
def standin() -> Iterator[TelegramStandIn]:
    with TelegramStandIn() as telegram:
        yield telegram


def call(telegram: TelegramStandIn, method: str, **payload: Any) -> tuple[int, dict[str, Any]]:
    response = urllib3.request(
        "POST", f"{telegram.url}/bot{TOKEN}/{method}", json=payload, retries=False
    )
    body: dict[str, Any] = json.loads(response.data)
    return response.status, body


def png(width: int, height: int) -> bytes:
    """A valid PNG of that size (one grey pixel per row, zlib-compressed rows of zeros)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    rows = zlib.compress(b"\x00" * (width + 1) * height)
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", rows) + chunk(b"IEND", b"")
    )


def through(client: FlaskClient) -> WebhookTransport:
    """Telegram's POST to the webhook, made with the app's test client."""

    def post(url: str, headers: Any, body: bytes) -> tuple[int, bytes]:
        response = client.post(urlsplit(url).path, data=body, headers=dict(headers))
        return response.status_code, response.get_data()

    return post


# --------------------------------------------------------------------------------------------
# The stand-in's rules
# --------------------------------------------------------------------------------------------


def test_texts_are_counted_in_utf16_code_units_after_entities_are_parsed(
    standin: TelegramStandIn,
) -> None:
    assert call(standin, "sendMessage", chat_id=1, text="x" * 4096)[0] == 200
    status, body = call(standin, "sendMessage", chat_id=1, text="x" * 4097)
    assert (status, body["description"]) == (400, "Bad Request: message is too long")
    # An emoji is two UTF-16 code units: 2049 of them are 4098.
    assert call(standin, "sendMessage", chat_id=1, text="💸" * 2049)[0] == 400
    # The markup does not count; what it shows does.
    assert call(standin, "sendMessage", chat_id=1, text=f"<b>{'x' * 4096}</b>",
                parse_mode="HTML")[0] == 200  # fmt: skip
    status, body = call(standin, "sendMessage", chat_id=1, text="  ")
    assert (status, body["description"]) == (400, "Bad Request: message text is empty")


@pytest.mark.parametrize(
    ("text", "parse_mode", "description"),
    [
        ("<b>bold", "HTML", "Can't find end tag corresponding to start tag \"b\""),
        ("a <x>b</x>", "HTML", 'Unsupported start tag "x" at byte offset 2'),
        ("1 &nbsp; 2", "HTML", 'Unsupported HTML entity "&nbsp" at byte offset 2'),
        ("12.50 spent", "MarkdownV2",
         "Character '.' is reserved and must be escaped with the preceding '\\'"),
        ("*bold", "MarkdownV2", "Can't find end of Bold entity at byte offset 0"),
    ],
)  # fmt: skip
def test_markup_that_does_not_parse_is_refused(
    standin: TelegramStandIn, text: str, parse_mode: str, description: str
) -> None:
    status, body = call(standin, "sendMessage", chat_id=1, text=text, parse_mode=parse_mode)
    assert (status, body["description"]) == (
        400,
        f"Bad Request: can't parse entities: {description}",
    )


def test_markup_that_parses_is_shown_without_it(standin: TelegramStandIn) -> None:
    status, body = call(standin, "sendMessage", chat_id=1, parse_mode="HTML",
                        text='<b>Food</b> &amp; <a href="https://x">drinks</a> &lt;3')  # fmt: skip
    assert (status, body["result"]["text"]) == (200, "Food & drinks <3")
    status, body = call(standin, "sendMessage", chat_id=1, parse_mode="MarkdownV2",
                        text="*Food* 12\\.50")  # fmt: skip
    assert (status, body["result"]["text"]) == (200, "Food 12.50")
    # Without parse_mode nothing is markup.
    assert call(standin, "sendMessage", chat_id=1, text="<b>1.5</b>")[1]["result"]["text"] == (
        "<b>1.5</b>"
    )


def test_captions_and_photos_keep_their_limits(standin: TelegramStandIn) -> None:
    client = TelegramClient(standin.url, TOKEN, max_attempts=1)
    assert client.attempt("1", "x" * 1024, photo=png(100, 50)).kind == "sent"
    too_long = client.attempt("1", "x" * 1025, photo=png(100, 50))
    assert (too_long.http_status, too_long.description) == (
        400,
        "Bad Request: message caption is too long",
    )
    for width, height in ((9000, 1001), (2100, 100)):
        refused = client.attempt("1", "chart", photo=png(width, height))
        assert refused.description == "Bad Request: PHOTO_INVALID_DIMENSIONS", (width, height)
    oversized = png(100, 50) + b"\x00" * (10 * 1024 * 1024)
    assert client.attempt("1", "chart", photo=oversized).description == (
        "Bad Request: PHOTO_SAVE_FILE_INVALID"
    )


def test_a_blocked_bot_gets_403_and_a_flood_429_with_retry_after(
    standin: TelegramStandIn,
) -> None:
    standin.block(77)
    status, body = call(standin, "sendMessage", chat_id=77, text="hi")
    assert (status, body["description"]) == (403, "Forbidden: bot was blocked by the user")
    assert call(standin, "sendMessage", chat_id=78, text="hi")[0] == 200
    standin.enqueue_response(429, retry_after_seconds=7)
    status, body = call(standin, "sendMessage", chat_id=78, text="hi")
    assert (status, body["parameters"], body["description"]) == (
        429,
        {"retry_after": 7},
        "Too Many Requests: retry after 7",
    )


def test_the_webhook_gets_only_the_update_types_it_allowed_with_its_secret(
    standin: TelegramStandIn,
) -> None:
    received: list[tuple[dict[str, Any], dict[str, str]]] = []

    def webhook(url: str, headers: Any, body: bytes) -> tuple[int, bytes]:
        received.append((json.loads(body), dict(headers)))
        return 200, b"{}"

    standin.webhook_transport = webhook
    message = {"update_id": 1, "message": {"chat": {"id": 1}, "text": "hi"}}
    press = {"update_id": 2, "callback_query": {"id": "q", "data": "x"}}
    assert standin.deliver_update(message) is None  # no webhook yet
    status, body = call(standin, "setWebhook", url="http://plain.example.com/hook")
    assert (status, body["description"]) == (
        400,
        "Bad Request: bad webhook: An HTTPS URL must be provided for webhook",
    )
    status, body = call(standin, "setWebhook", url=WEBHOOK_URL, secret_token="a b")
    assert (status, body["description"]) == (
        400,
        "Bad Request: secret token contains unallowed characters",
    )
    assert call(standin, "setWebhook", url=WEBHOOK_URL, secret_token="s3-cret_",
                allowed_updates=["message"])[0] == 200  # fmt: skip
    assert standin.deliver_update(press) is None
    assert standin.deliver_update(message) is not None
    assert received == [(message, {"Content-Type": "application/json",
                                   "X-Telegram-Bot-Api-Secret-Token": "s3-cret_"})]  # fmt: skip
    status, body = call(standin, "getWebhookInfo")
    assert body["result"]["url"] == WEBHOOK_URL
    assert body["result"]["allowed_updates"] == ["message"]
    assert "last_error_message" not in body["result"]


def test_the_bots_removal_from_a_group_is_delivered_and_chat_ids_keep_telegrams_rules(
    standin: TelegramStandIn,
) -> None:
    received: list[dict[str, Any]] = []

    def webhook(url: str, headers: Any, body: bytes) -> tuple[int, bytes]:
        received.append(json.loads(body))
        return 200, b"{}"

    standin.webhook_transport = webhook
    call(standin, "setWebhook", url=WEBHOOK_URL, allowed_updates=["message", "my_chat_member"])
    removed = {
        "update_id": 1,
        "my_chat_member": {
            "chat": {"id": -4001, "type": "group", "title": "Home"},
            "from": {"id": 77, "is_bot": False, "first_name": "Ann"},
            "date": 1,
            "old_chat_member": {"status": "member", "user": {"id": 1, "is_bot": True}},
            "new_chat_member": {"status": "kicked", "user": {"id": 1, "is_bot": True}},
        },
    }
    assert standin.deliver_update(removed) is not None
    assert received == [removed]

    positive_group = {"update_id": 2, "message": {"chat": {"id": 4001, "type": "group"}}}
    with pytest.raises(ValueError, match="a group chat's id is negative, not 4001"):
        standin.deliver_update(positive_group)
    someone_elses = {
        "update_id": 3,
        "message": {"chat": {"id": 5, "type": "private"}, "from": {"id": 6}, "text": "/help"},
    }
    with pytest.raises(ValueError, match="a private chat's id is its sender's, 6, not 5"):
        standin.deliver_update(someone_elses)
    assert received == [removed]


def test_a_refused_update_is_the_webhooks_last_error_and_a_press_wants_its_answer(
    standin: TelegramStandIn,
) -> None:
    standin.webhook_transport = lambda url, headers, body: (401, b'{"code": 401}')
    call(standin, "setWebhook", url=WEBHOOK_URL, allowed_updates=["callback_query"])
    press = {"update_id": 2, "callback_query": {"id": "q1", "data": "x"}}
    delivered = standin.deliver_update(press)
    assert delivered is not None
    assert delivered.status == 401
    info = call(standin, "getWebhookInfo")[1]["result"]
    assert info["last_error_message"] == "Wrong response from the webhook: 401 Unauthorized"
    assert standin.unanswered_callback_queries == ["q1"]
    # Answered in time: taken once; answered again or unknown: Telegram's 400.
    assert call(standin, "answerCallbackQuery", callback_query_id="q1")[0] == 200
    status, body = call(standin, "answerCallbackQuery", callback_query_id="q1")
    assert (status, body["description"]) == (
        400,
        "Bad Request: query is too old and response timeout expired or query ID is invalid",
    )
    standin.callback_answer_seconds = 0.0
    standin.deliver_update({"update_id": 3, "callback_query": {"id": "q2", "data": "x"}})
    assert call(standin, "answerCallbackQuery", callback_query_id="q2")[0] == 400


# --------------------------------------------------------------------------------------------
# Our code against them
# --------------------------------------------------------------------------------------------


def test_set_webhook_and_the_webhook_take_a_button_press_and_answer_it_in_time(
    service_environment: dict[str, str],
    telegram: TelegramStandIn,
    notify_client: FlaskClient,
) -> None:
    """set-webhook as the operator runs it, then a press as Telegram delivers it: the press
    reaches the webhook (it is an allowed type), passes the secret, and is answered."""
    result = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "notify_app", "telegram", "set-webhook",
         WEBHOOK_URL],
        cwd=REPO_ROOT, env={**service_environment, "TELEGRAM_BOT_TOKEN": TOKEN},
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    telegram.webhook_transport = through(notify_client)
    press = {
        "update_id": 5,
        "callback_query": {
            "id": "press-1",
            "from": {"id": 4343, "is_bot": False, "first_name": "Ann"},
            "message": {"message_id": 2, "chat": {"id": 4343, "type": "private"}, "text": "?"},
            "data": "c:1",
        },
    }
    delivered = telegram.deliver_update(press)
    assert delivered is not None
    assert delivered.status == 200, delivered.answer
    assert telegram.unanswered_callback_queries == []
    (answer,) = telegram.calls_for("answerCallbackQuery")
    assert answer.response_status == 200
    assert "not linked" in answer.payload["text"]
    assert "last_error_message" not in telegram.webhook_info


def test_a_summary_caption_of_emoji_names_fits_telegrams_limit(telegram: TelegramStandIn) -> None:
    """Telegram counts a caption in UTF-16 code units: a month of emoji-named categories must
    be cut to 1,024 of those, not of characters."""
    lines = [f"🍔🍕 Takeaway {n}: 12.50 of 100.00" for n in range(60)]
    text = "November 2026\n" + "\n".join(lines)
    chart = bar_chart_png(
        "November 2026", [Bar("🍔 Takeaway", Decimal("12.50"), Decimal("100.00"))]
    )
    attempt = TelegramClient(telegram.url, TOKEN, max_attempts=1).attempt(
        "1", caption(text), photo=chart
    )
    assert attempt.kind == "sent", attempt.description
    assert caption(text).endswith("\n…")
