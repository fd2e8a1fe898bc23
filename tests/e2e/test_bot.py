"""Issue 16: recording and checking spending from Telegram.

Updates go to the webhook as Telegram posts them; the command crosses the broker to the real api
worker, its reply comes back as an event through the real notifications worker to the Telegram
stand-in; the transactions are checked through the API.
"""

from __future__ import annotations

import base64
import itertools
import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from flask import Flask
from werkzeug.test import Client, TestResponse

from tests.conftest import TELEGRAM_WEBHOOK_SECRET
from tests.e2e.conftest import Rows
from tests.eventually import eventually
from tests.pipeline import wait_until_broker_idle
from tests.processes import LaunchedProcess
from tests.telegram_standin import TelegramStandIn
from tests.users import PASSWORD, SignedInUser

WEBHOOK = "/api/notifications/telegram/webhook"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

# Update ids are unique per bot; each test takes fresh ones.
_update_ids = itertools.count(int(time.time() * 1000))


def next_update_id() -> int:
    return next(_update_ids)


def post_update(gateway: Client, update: dict[str, Any]) -> TestResponse:
    return gateway.post(WEBHOOK, json=update, headers={SECRET_HEADER: TELEGRAM_WEBHOOK_SECRET})


def text_update(chat_id: int, text: str, update_id: int | None = None) -> dict[str, Any]:
    """What Telegram posts when someone writes `text` to the bot in a private chat."""
    return {
        "update_id": next_update_id() if update_id is None else update_id,
        "message": {
            "message_id": 1,
            "date": int(time.time()),
            "chat": {"id": chat_id, "type": "private"},
            "from": {"id": chat_id, "is_bot": False, "first_name": "Ann"},
            "text": text,
        },
    }


def button_update(chat_id: int, data: str) -> dict[str, Any]:
    """What Telegram posts when someone presses an inline button with `data`."""
    return {
        "update_id": next_update_id(),
        "callback_query": {
            "id": f"cb-{next_update_id()}",
            "from": {"id": chat_id, "is_bot": False, "first_name": "Ann"},
            "message": {
                "message_id": 2,
                "date": int(time.time()),
                "chat": {"id": chat_id, "type": "private"},
                "text": "Which category?",
            },
            "data": data,
        },
    }


def link_chat(gateway: Client, person: SignedInUser, chat_id: int) -> None:
    """The deep link from the app, opened in Telegram: /start CODE."""
    offer = person.expect(201, "POST", "/api/notifications/telegram/link")
    code = parse_qs(urlsplit(offer["url"]).query)["start"][0]
    linked = post_update(gateway, text_update(chat_id, f"/start {code}"))
    assert linked.get_json()["text"].startswith("Linked!")


def replies_to(telegram: TelegramStandIn, chat_id: int) -> list[dict[str, Any]]:
    """sendMessage and sendPhoto payloads to the chat, in the order they arrived."""
    return [
        call.payload for call in telegram.calls if str(call.payload.get("chat_id")) == str(chat_id)
    ]


def wait_for_replies(telegram: TelegramStandIn, chat_id: int, count: int) -> list[dict[str, Any]]:
    def arrived() -> list[dict[str, Any]] | None:
        replies = replies_to(telegram, chat_id)
        return replies if len(replies) >= count else None

    return eventually(arrived, f"{count} replies to chat {chat_id}", timeout=60)


def transactions_of(person: SignedInUser) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = person.expect(200, "GET", "/api/transactions?page_size=100")
    return rows


def today() -> str:
    return datetime.now(UTC).date().isoformat()


@pytest.fixture
def bot_pipeline(celery_worker: LaunchedProcess, api_worker: LaunchedProcess) -> LaunchedProcess:
    """Both workers: the api worker carries out commands, the notifications worker replies."""
    return api_worker


def test_spent_records_todays_expense_in_the_prefixed_category_and_alerts_over_the_limit(
    register: Callable[[], SignedInUser],
    gateway: Client,
    telegram: TelegramStandIn,
    bot_pipeline: LaunchedProcess,
) -> None:
    ann = register()
    link_chat(gateway, ann, 7101)
    food = ann.category_id("Food")
    now = datetime.now(UTC)
    ann.budget(now.year, now.month, {food: "300.00"})
    ann.transaction(food, "200.00", today())

    answer = post_update(gateway, text_update(7101, "/spent 12,50 foo lunch with Bo"))
    assert (answer.status_code, answer.get_json()) == (200, {})

    [reply] = wait_for_replies(telegram, 7101, 1)
    day = datetime.now(UTC).date()
    assert reply["text"] == (
        f"Spent: 12.50 (lunch with Bo), {day.day} {day.strftime('%b')}.\n"
        "Food: 212.50 of 300.00, 71 %"
    )
    recorded = [t for t in transactions_of(ann) if t["amount"] == "12.50"]
    assert [(t["category_id"], t["type"], t["date"], t["description"]) for t in recorded] == [
        (food, "EXPENSE", today(), "lunch with Bo")
    ]

    # Over the limit: the alert fires as for any other transaction.
    post_update(gateway, text_update(7101, "/spent 100 FOOD"))
    replies = wait_for_replies(telegram, 7101, 3)
    texts = sorted(reply["text"] for reply in replies[1:])
    assert texts[0].startswith("Budget alert: Food for ")
    assert "is over its limit: 312.50 spent of 300.00 (104%)" in texts[0]
    assert texts[1].endswith("Food: 312.50 of 300.00, 104 %")

    post_update(gateway, text_update(7101, "/income 1500 sal"))
    replies = wait_for_replies(telegram, 7101, 4)
    assert replies[3]["text"].startswith("Income: 1500.00, ")
    assert replies[3]["text"].endswith(f"Salary: 1500.00 received in {day.strftime('%B')}")
    assert [t["type"] for t in transactions_of(ann) if t["amount"] == "1500.00"] == ["INCOME"]


def test_a_repeated_update_records_one_transaction_and_sends_one_reply(
    register: Callable[[], SignedInUser],
    gateway: Client,
    telegram: TelegramStandIn,
    bot_pipeline: LaunchedProcess,
    redis_url: str,
) -> None:
    ann = register()
    link_chat(gateway, ann, 7201)
    update = text_update(7201, "/spent 4.20 transport bus")
    # Telegram sends an update again until it sees a 200: here three times.
    for _ in range(3):
        assert post_update(gateway, update).status_code == 200
    wait_for_replies(telegram, 7201, 1)
    # Once the reply is out, the update once more (a retry that crossed it).
    post_update(gateway, update)
    # Whatever it set off (a command, a reply) is queued by the time it is answered, and done
    # once the broker holds no task: a wrong second reply would be at Telegram by then.
    wait_until_broker_idle(redis_url)
    assert len(replies_to(telegram, 7201)) == 1
    assert [t["amount"] for t in transactions_of(ann)] == ["4.20"]


def test_an_unknown_or_ambiguous_category_is_chosen_with_a_button_once(
    register: Callable[[], SignedInUser],
    gateway: Client,
    telegram: TelegramStandIn,
    bot_pipeline: LaunchedProcess,
) -> None:
    ann = register()
    link_chat(gateway, ann, 7301)
    post_update(gateway, text_update(7301, "/spent 9.99 h pills"))
    [offer] = wait_for_replies(telegram, 7301, 1)
    assert offer["text"] == "Which category should 9.99 go to?"
    keyboard = offer["reply_markup"]["inline_keyboard"]
    buttons = {button["text"]: button["callback_data"] for row in keyboard for button in row}
    assert sorted(buttons) == ["Health", "Housing"]
    assert transactions_of(ann) == []

    pressed = post_update(gateway, button_update(7301, buttons["Health"]))
    assert pressed.get_json()["method"] == "answerCallbackQuery"
    replies = wait_for_replies(telegram, 7301, 2)
    assert replies[1]["text"].startswith("Spent: 9.99 (pills), ")
    health = ann.category_id("Health")
    assert [(t["category_id"], t["amount"]) for t in transactions_of(ann)] == [(health, "9.99")]

    # The other button afterwards: nothing more is recorded.
    post_update(gateway, button_update(7301, buttons["Housing"]))
    replies = wait_for_replies(telegram, 7301, 3)
    assert replies[2]["text"].startswith("Already recorded")
    assert len(transactions_of(ann)) == 1

    # A name that matches nothing offers every category.
    post_update(gateway, text_update(7301, "/spent 1 zzz"))
    replies = wait_for_replies(telegram, 7301, 4)
    offered = [b["text"] for row in replies[3]["reply_markup"]["inline_keyboard"] for b in row]
    assert len(offered) == 9
    assert "Food" in offered


def test_undo_removes_the_chats_last_entry(
    register: Callable[[], SignedInUser],
    gateway: Client,
    telegram: TelegramStandIn,
    bot_pipeline: LaunchedProcess,
) -> None:
    ann = register()
    link_chat(gateway, ann, 7401)
    food = ann.category_id("Food")
    kept = ann.transaction(food, "1.00", today())  # through the API, not the chat
    post_update(gateway, text_update(7401, "/spent 3 food first"))
    wait_for_replies(telegram, 7401, 1)
    post_update(gateway, text_update(7401, "/spent 5 food second"))
    wait_for_replies(telegram, 7401, 2)

    post_update(gateway, text_update(7401, "/undo"))
    replies = wait_for_replies(telegram, 7401, 3)
    assert replies[2]["text"].startswith("Removed: 5.00 (second), ")
    assert sorted(t["amount"] for t in transactions_of(ann)) == ["1.00", "3.00"]

    post_update(gateway, text_update(7401, "/undo"))
    wait_for_replies(telegram, 7401, 4)
    post_update(gateway, text_update(7401, "/undo"))
    replies = wait_for_replies(telegram, 7401, 5)
    assert replies[4]["text"].startswith("Nothing to undo")
    assert [t["id"] for t in transactions_of(ann)] == [kept["id"]]


def test_summary_answers_with_the_month_as_text_and_as_a_chart(
    register: Callable[[], SignedInUser],
    gateway: Client,
    telegram: TelegramStandIn,
    bot_pipeline: LaunchedProcess,
) -> None:
    ann = register()
    link_chat(gateway, ann, 7501)
    food, transport = ann.category_id("Food"), ann.category_id("Transport")
    now = datetime.now(UTC)
    ann.budget(now.year, now.month, {food: "300.00", transport: "80.00"})
    ann.transaction(food, "212.50", today())
    ann.transaction(transport, "100.00", today())
    ann.transaction(ann.category_id("Salary"), "2000.00", today(), kind="INCOME")

    post_update(gateway, text_update(7501, "/summary"))
    # Transport went over its limit on the way: that alert arrives too, as a message.
    wait_for_replies(telegram, 7501, 2)
    [photo] = [p for p in telegram.photos if p["chat_id"] == "7501"]
    assert photo["caption"] == "\n".join(
        [
            f"{now.strftime('%B')} {now.year} so far",
            "Income: 2000.00",
            "Expense: 312.50",
            "Food: 212.50 of 300.00, 71 %",
            "Transport: 100.00 of 80.00, 125 % - over the limit",
        ]
    )
    assert photo["photo"]["content_type"] == "image/png"
    png = base64.b64decode(photo["photo"]["base64"])
    assert png.startswith(PNG_SIGNATURE)
    assert sorted(
        call.method for call in telegram.calls if call.payload.get("chat_id") == "7501"
    ) == ["sendMessage", "sendPhoto"]


def test_help_and_an_unlinked_chat_are_answered_at_once_and_record_nothing(
    register: Callable[[], SignedInUser],
    gateway: Client,
    telegram: TelegramStandIn,
    rows: Rows,
) -> None:
    helped = post_update(gateway, text_update(7601, "/help"))
    assert helped.get_json()["method"] == "sendMessage"
    assert "/spent 12.50 food lunch" in helped.get_json()["text"]
    chatter = post_update(gateway, text_update(7601, "hello there"))
    assert chatter.get_json()["text"] == helped.get_json()["text"]

    stranger = post_update(gateway, text_update(7601, "/spent 12.50 food lunch"))
    assert stranger.status_code == 200
    assert stranger.get_json()["method"] == "sendMessage"
    assert "not linked" in stranger.get_json()["text"]
    assert "Settings > Telegram" in stranger.get_json()["text"]
    assert rows.api("SELECT count(*) FROM bot_commands") == [(0,)]
    assert rows.api("SELECT count(*) FROM transactions") == [(0,)]
    assert telegram.calls == []

    # A group not linked to a household ledger takes no commands (it is told how to link),
    # and the bot stays quiet about the chatter.
    group = text_update(-7601, "/summary")
    group["message"]["chat"]["type"] = "group"
    assert "not linked to a household ledger" in post_update(gateway, group).get_json()["text"]
    group["message"]["text"] = "lunch?"
    assert post_update(gateway, group).get_json() == {}


def test_commands_are_limited_per_chat_and_their_text_is_not_logged(
    register: Callable[[], SignedInUser],
    gateway: Client,
    notify: Flask,
    telegram: TelegramStandIn,
    bot_pipeline: LaunchedProcess,
    celery_worker: LaunchedProcess,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    ann = register()
    link_chat(gateway, ann, 7701)
    monkeypatch.setitem(notify.config, "BOT_COMMANDS_PER_MINUTE", 2)
    caplog.set_level(logging.INFO)
    answers = [
        post_update(gateway, text_update(7701, "/spent 1 food zebra-secret-lunch")).get_json()
        for _ in range(5)
    ]
    refused = [a for a in answers if a.get("text", "").startswith("That is a lot of commands")]
    # Two a minute: of five in a row, at most four fall into two minutes.
    assert 1 <= len(refused) <= 3
    accepted = len(answers) - len(refused)
    wait_for_replies(telegram, 7701, accepted)
    assert len(transactions_of(ann)) == accepted
    # Another chat has its own budget.
    bob = register()
    link_chat(gateway, bob, 7702)
    assert post_update(gateway, text_update(7702, "/summary")).get_json() == {}

    assert "zebra-secret-lunch" not in caplog.text
    assert "zebra-secret-lunch" not in bot_pipeline.log()
    # The replies quote it; the notifications worker that sends them does not log them.
    assert any("zebra-secret-lunch" in reply["text"] for reply in replies_to(telegram, 7701))
    assert "zebra-secret-lunch" not in celery_worker.log_path.read_text(errors="replace")


def test_a_command_the_broker_does_not_take_is_answered_503_so_telegram_sends_it_again(
    register: Callable[[], SignedInUser],
    gateway: Client,
    notify: Flask,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ann = register()
    link_chat(gateway, ann, 7801)
    # Redis is not there: nothing listens on port 1.
    monkeypatch.setitem(notify.config, "BROKER_URL", "redis://127.0.0.1:1/0")
    for extension in ("delivery_queue", "bot_rate_limit_redis"):
        monkeypatch.delitem(notify.extensions, extension, raising=False)
    answer = post_update(gateway, text_update(7801, "/spent 1 food"))
    assert answer.status_code == 503
    assert set(answer.get_json()) == {"code", "status", "message", "errors"}
    # Help needs no broker.
    assert post_update(gateway, text_update(7801, "/help")).status_code == 200
    monkeypatch.undo()
    for extension in ("delivery_queue", "bot_rate_limit_redis"):
        notify.extensions.pop(extension, None)


def test_after_logout_all_the_chat_is_unlinked_told_so_and_the_bot_acts_no_more(
    register: Callable[[], SignedInUser],
    gateway: Client,
    telegram: TelegramStandIn,
    bot_pipeline: LaunchedProcess,
) -> None:
    ann = register()
    link_chat(gateway, ann, 7501)
    post_update(gateway, text_update(7501, "/spent 4.21 food groceries"))
    wait_for_replies(telegram, 7501, 1)
    # An unused link code of hers: it must not link anything after the sign-out either.
    offer = ann.expect(201, "POST", "/api/notifications/telegram/link")
    code = parse_qs(urlsplit(offer["url"]).query)["start"][0]

    ann.expect(204, "POST", "/api/auth/logout-all")

    [_, told] = wait_for_replies(telegram, 7501, 2)
    assert told["text"].startswith("You signed out everywhere, and this chat is unlinked")
    for command in ("/summary", "/spent 4.21 food groceries"):
        answer = post_update(gateway, text_update(7501, command)).get_json()
        assert answer["text"].startswith("This chat is not linked to an account")
    voided = post_update(gateway, text_update(7502, f"/start {code}")).get_json()
    assert "not valid" in voided["text"]
    signed_in = gateway.post(
        "/api/auth/login", json={"email": ann.email, "password": PASSWORD}
    ).get_json()
    ann.access_token = signed_in["access_token"]
    assert [t["amount"] for t in transactions_of(ann)] == ["4.21"]
    assert ann.expect(200, "GET", "/api/notifications/settings")["telegram_chat_id"] is None
