"""Linking a Telegram chat with the bot's deep link: /start CODE links, /stop unlinks."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient

from notify_app.extensions import db
from notify_app.linking.service import code_digest
from notify_app.models import NotificationSettings, TelegramLinkCode
from tests.conftest import REPO_ROOT, TELEGRAM_WEBHOOK_SECRET
from tests.telegram_standin import TelegramStandIn
from tests.users import SignedInUser

WEBHOOK = "/api/notifications/telegram/webhook"


def request_link(notify_client: FlaskClient, user: SignedInUser) -> str:
    response = notify_client.post("/api/notifications/telegram/link", headers=user.headers)
    assert response.status_code == 201, response.json
    url = urlsplit(response.json["url"])
    assert (url.scheme, url.netloc, url.path) == ("https", "t.me", "/budget_alerts_bot")
    return parse_qs(url.query)["start"][0]


def send_update(
    notify_client: FlaskClient,
    text: str,
    chat_id: int = 4242,
    secret: str = TELEGRAM_WEBHOOK_SECRET,
) -> Any:
    update = {"update_id": 1, "message": {"message_id": 7, "chat": {"id": chat_id}, "text": text}}
    return notify_client.post(
        WEBHOOK, json=update, headers={"X-Telegram-Bot-Api-Secret-Token": secret}
    )


def chat_id_of(notify: Flask, user: SignedInUser) -> str | None:
    with notify.app_context():
        settings = db.session.execute(
            db.select(NotificationSettings).filter_by(user_id=user.id)
        ).scalar_one_or_none()
        return None if settings is None else settings.telegram_chat_id


@pytest.fixture
def user(make_user: Callable[[], SignedInUser], notify: Flask) -> SignedInUser:
    return make_user()


def test_start_with_a_fresh_code_links_the_chat_and_replies(
    notify: Flask, notify_client: FlaskClient, user: SignedInUser
) -> None:
    code = request_link(notify_client, user)
    response = send_update(notify_client, f"/start {code}", chat_id=-100123)
    assert response.status_code == 200
    assert response.json["method"] == "sendMessage"
    assert response.json["chat_id"] == "-100123"
    assert response.json["text"].startswith("Linked!")
    assert chat_id_of(notify, user) == "-100123"


def test_a_code_links_once_only(
    notify: Flask, notify_client: FlaskClient, user: SignedInUser
) -> None:
    code = request_link(notify_client, user)
    send_update(notify_client, f"/start {code}", chat_id=1)
    again = send_update(notify_client, f"/start {code}", chat_id=2)
    assert again.status_code == 200
    assert "not valid" in again.json["text"]
    assert chat_id_of(notify, user) == "1"


def test_an_expired_or_unknown_code_links_nothing(
    notify: Flask,
    notify_client: FlaskClient,
    user: SignedInUser,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(notify.config, "TELEGRAM_LINK_CODE_TTL", timedelta(seconds=-1))
    expired = request_link(notify_client, user)
    assert "not valid" in send_update(notify_client, f"/start {expired}").json["text"]
    assert "not valid" in send_update(notify_client, "/start made-up-code").json["text"]
    assert chat_id_of(notify, user) is None


def test_codes_are_stored_only_as_digests(
    notify: Flask, notify_client: FlaskClient, user: SignedInUser
) -> None:
    code = request_link(notify_client, user)
    with notify.app_context():
        stored = db.session.execute(db.select(TelegramLinkCode.code_digest)).scalars().all()
    assert stored
    assert code not in stored


def test_a_wrong_or_missing_secret_is_rejected_and_changes_nothing(
    notify: Flask, notify_client: FlaskClient, user: SignedInUser
) -> None:
    code = request_link(notify_client, user)
    wrong = send_update(notify_client, f"/start {code}", secret="guess")
    assert wrong.status_code == 401
    assert set(wrong.json) == {"code", "status", "message", "errors"}
    missing = notify_client.post(WEBHOOK, json={"update_id": 1})
    assert missing.status_code == 401
    assert chat_id_of(notify, user) is None
    # The code was not consumed by the rejected request.
    assert send_update(notify_client, f"/start {code}").json["text"].startswith("Linked!")


def test_stop_unlinks_the_chat(
    notify: Flask, notify_client: FlaskClient, user: SignedInUser
) -> None:
    send_update(notify_client, f"/start {request_link(notify_client, user)}", chat_id=55)
    reply = send_update(notify_client, "/stop", chat_id=55)
    assert reply.json["text"].startswith("Unlinked")
    assert chat_id_of(notify, user) is None
    assert "not linked" in send_update(notify_client, "/stop", chat_id=55).json["text"]


@pytest.mark.parametrize(
    "body",
    [
        None,
        "not json",
        {"update_id": 3},
        {"message": "text"},
        {"message": {"chat": {"id": True}, "text": "/start x"}},
        {"message": {"chat": {"id": 5}, "text": "hello"}},
        {"message": {"chat": {"id": 5}, "text": "/unknown"}},
        {"edited_message": {"chat": {"id": 5}, "text": "/stop"}},
    ],
)
def test_malformed_or_unrelated_updates_answer_200_with_no_effect(
    notify_client: FlaskClient, body: Any
) -> None:
    headers = {"X-Telegram-Bot-Api-Secret-Token": TELEGRAM_WEBHOOK_SECRET}
    if isinstance(body, str):
        response = notify_client.post(
            WEBHOOK, data=body, headers=headers, content_type="application/json"
        )
    else:
        response = notify_client.post(WEBHOOK, json=body, headers=headers)
    assert response.status_code == 200
    assert response.json == {}


def test_link_needs_an_access_token(notify_client: FlaskClient) -> None:
    assert notify_client.post("/api/notifications/telegram/link").status_code == 401


def test_set_webhook_registers_the_url_with_the_secret(
    service_environment: dict[str, str],
) -> None:
    with TelegramStandIn() as telegram:
        environment = {
            **service_environment,
            "TELEGRAM_API_URL": telegram.url,
            "TELEGRAM_BOT_TOKEN": "123:operator",
        }
        result = subprocess.run(
            [sys.executable, "-m", "flask", "--app", "notify_app", "telegram", "set-webhook",
             "https://budget.example.com/api/notifications/telegram/webhook"],
            cwd=REPO_ROOT, env=environment, capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        (call,) = telegram.calls_for("setWebhook")
    assert call.token == "123:operator"
    assert call.payload["url"] == "https://budget.example.com/api/notifications/telegram/webhook"
    assert call.payload["secret_token"] == TELEGRAM_WEBHOOK_SECRET
    # Without callback_query Telegram never delivers a button press (the categories of /spent).
    assert call.payload["allowed_updates"] == [
        "message",
        "callback_query",
        "my_chat_member",
        "chat_member",
    ]


def test_purge_codes_deletes_expired_and_used_codes_only(
    notify: Flask, notify_client: FlaskClient, user: SignedInUser
) -> None:
    used = request_link(notify_client, user)
    send_update(notify_client, f"/start {used}")
    request_link(notify_client, user)  # still valid: kept
    expired = request_link(notify_client, user)
    with notify.app_context():
        db.session.execute(
            db.update(TelegramLinkCode)
            .where(TelegramLinkCode.code_digest == code_digest(expired))
            .values(expires_at=db.func.now() - timedelta(seconds=1))
        )
        db.session.commit()

    result = notify.test_cli_runner().invoke(args=["telegram", "purge-codes"])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "purged 2 link codes"
    with notify.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(TelegramLinkCode)) == 1


def test_a_chat_linked_to_another_account_leaves_the_first_one(
    notify: Flask,
    notify_client: FlaskClient,
    make_user: Callable[[], SignedInUser],
) -> None:
    victim, attacker = make_user(), make_user()
    send_update(notify_client, f"/start {request_link(notify_client, victim)}", chat_id=77)
    reply = send_update(
        notify_client, f"/start {request_link(notify_client, attacker)}", chat_id=77
    )
    assert chat_id_of(notify, victim) is None
    assert chat_id_of(notify, attacker) == "77"
    # Told which account it now belongs to, that the other one let go, and how to undo it.
    text = reply.json["text"]
    assert text.startswith("Linked!")
    assert "no longer linked to the account it was linked to before" in text
    assert "/stop" in text


def test_the_database_refuses_one_chat_on_two_accounts(
    notify: Flask, make_user: Callable[[], SignedInUser]
) -> None:
    from sqlalchemy.exc import IntegrityError

    first, second = make_user(), make_user()
    with notify.app_context():
        db.session.add(NotificationSettings(user_id=first.id, telegram_chat_id="88"))
        db.session.commit()
        db.session.add(NotificationSettings(user_id=second.id, telegram_chat_id="88"))
        with pytest.raises(IntegrityError):
            db.session.commit()
        db.session.rollback()
