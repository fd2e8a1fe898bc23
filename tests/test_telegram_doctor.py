"""`flask --app notify_app telegram doctor` names each fault that stops the bot, in an operator's
words, against the Telegram stand-in; and says the bot is ready when nothing does."""

from __future__ import annotations

import pytest
import urllib3
from click.testing import Result
from flask import Flask
from flask.testing import FlaskClient

from tests.conftest import TELEGRAM_WEBHOOK_SECRET
from tests.telegram_standin import TelegramStandIn

URL = "https://budget.example.com/api/notifications/telegram/webhook"
TOKEN = "4242:doctor"


@pytest.fixture
def bot(notify: Flask, telegram: TelegramStandIn, monkeypatch: pytest.MonkeyPatch) -> Flask:
    """notify_app configured as an operator would, for a bot the stand-in knows as @budget_bot."""
    monkeypatch.setattr(telegram, "bot_username", "budget_bot")
    monkeypatch.setattr(telegram, "accepted_tokens", frozenset({TOKEN}))
    for name, value in {
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "TELEGRAM_BOT_USERNAME": "budget_bot",
        "TELEGRAM_WEBHOOK_SECRET": TELEGRAM_WEBHOOK_SECRET,
        "TELEGRAM_API_URL": telegram.url,
    }.items():
        monkeypatch.setitem(notify.config, name, value)
    return notify


def doctor(app: Flask, *arguments: str) -> Result:
    return app.test_cli_runner().invoke(args=["telegram", "doctor", *arguments])


def set_webhook(app: Flask) -> None:
    result = app.test_cli_runner().invoke(args=["telegram", "set-webhook", URL])
    assert result.exit_code == 0, result.output


def problems(result: Result) -> list[str]:
    return [line for line in result.output.splitlines() if line.startswith("PROBLEM")]


def test_a_bot_set_up_right_is_ready(bot: Flask) -> None:
    set_webhook(bot)
    result = doctor(bot, "--url", URL)
    assert result.exit_code == 0, result.output
    assert problems(result) == []
    assert result.output.splitlines()[-1] == "the bot is ready"


def test_a_bot_that_may_not_join_groups_is_named(
    bot: Flask, telegram: TelegramStandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    set_webhook(bot)
    monkeypatch.setattr(telegram, "can_join_groups", False)
    assert problems(doctor(bot, "--url", URL)) == [
        "PROBLEM: the bot may not be added to groups, so households cannot link their group"
        " chat. In @BotFather: /setjoingroups, Enable"
    ]


def test_an_invalid_token_is_named(bot: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(bot.config, "TELEGRAM_BOT_TOKEN", "4242:revoked")
    result = doctor(bot)
    assert result.exit_code == 1
    assert problems(result) == [
        "PROBLEM: TELEGRAM_BOT_TOKEN is invalid: Telegram answered getMe with HTTP 401:"
        " Unauthorized. Copy the token from @BotFather again"
    ]
    assert "4242:revoked" not in result.output


def test_a_webhook_not_set_or_set_elsewhere_is_named(bot: Flask, telegram: TelegramStandIn) -> None:
    assert "PROBLEM: no webhook is set" in doctor(bot, "--url", URL).output
    set_webhook(bot)
    elsewhere = doctor(
        bot, "--url", "https://budget.example.org/api/notifications/telegram/webhook"
    )
    assert elsewhere.exit_code == 1
    assert problems(elsewhere) == [
        f"PROBLEM: the webhook is set to {URL}, not to"
        " https://budget.example.org/api/notifications/telegram/webhook: this service gets no"
        " updates; run `flask --app notify_app telegram set-webhook URL`"
    ]


def test_an_old_registration_without_button_presses_is_named(
    bot: Flask, telegram: TelegramStandIn
) -> None:
    """What main's set-webhook registered: messages only."""
    set_webhook(bot)
    urllib3.request("POST", f"{telegram.url}/bot{TOKEN}/setWebhook",
                    json={"url": URL, "allowed_updates": ["message"]})  # fmt: skip
    assert problems(doctor(bot, "--url", URL)) == [
        "PROBLEM: the webhook does not receive callback_query, my_chat_member, chat_member"
        " updates; run `flask --app notify_app telegram set-webhook URL`"
    ]


def test_telegrams_last_error_is_named(
    bot: Flask,
    telegram: TelegramStandIn,
    notify_client: FlaskClient,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The webhook answered 401: the secret Telegram sends is not the one the service has."""
    set_webhook(bot)
    monkeypatch.setitem(bot.config, "TELEGRAM_WEBHOOK_SECRET", "rotated-without-set-webhook")

    def post(url: str, headers: object, body: bytes) -> tuple[int, bytes]:
        response = notify_client.post("/api/notifications/telegram/webhook", data=body,
                                      headers=dict(headers))  # type: ignore[call-overload]  # fmt: skip
        return response.status_code, response.get_data()

    telegram.webhook_transport = post
    telegram.deliver_update({"update_id": 1, "message": {"chat": {"id": 1}, "text": "/help"}})
    found = problems(doctor(bot, "--url", URL))
    assert len(found) == 1
    assert found[0].startswith("PROBLEM: Telegram's last delivery to the webhook failed at ")
    assert found[0].endswith(" UTC: Wrong response from the webhook: 401 Unauthorized")


def test_a_missing_secret_and_another_bots_username_are_named(
    bot: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    set_webhook(bot)
    monkeypatch.setitem(bot.config, "TELEGRAM_WEBHOOK_SECRET", None)
    monkeypatch.setitem(bot.config, "TELEGRAM_BOT_USERNAME", "budget_alerts_bot")
    assert problems(doctor(bot, "--url", URL)) == [
        "PROBLEM: TELEGRAM_WEBHOOK_SECRET is not set: the webhook refuses every update (401)."
        " Set it (1-256 of A-Z a-z 0-9 _ -) and run `telegram set-webhook` again",
        "PROBLEM: TELEGRAM_BOT_USERNAME is 'budget_alerts_bot', but the token belongs to"
        " @budget_bot: the links users open lead to another bot. Set"
        " TELEGRAM_BOT_USERNAME=budget_bot",
    ]
