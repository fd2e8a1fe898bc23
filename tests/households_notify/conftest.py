"""A household as notify_app knows it (from api_app's snapshot), and "Telegram" posting to the
webhook; `home` hands a test both at once."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient

from event_contract import ROLE_MEMBER, ROLE_OWNER, ROLE_VIEWER
from tests.households_notify.ledgers import WEBHOOK_URL, handle, snapshot
from tests.linking import link_chat
from tests.telegram_standin import TelegramStandIn
from tests.users import SignedInUser


@pytest.fixture
def webhook(
    notify: Flask, notify_client: FlaskClient, telegram: TelegramStandIn
) -> Iterator[TelegramStandIn]:
    """The stand-in, its webhook set by the operator's command, posting to notify_app."""

    def post(url: str, headers: Any, body: bytes) -> tuple[int, bytes]:
        response = notify_client.post(urlsplit(url).path, data=body, headers=dict(headers))
        return response.status_code, response.get_data()

    previous = telegram.webhook_transport
    telegram.webhook_transport = post
    result = notify.test_cli_runner().invoke(args=["telegram", "set-webhook", WEBHOOK_URL])
    assert result.exit_code == 0, result.output
    assert "my_chat_member" in telegram.webhook_info["allowed_updates"]
    yield telegram
    telegram.webhook_transport = previous


@dataclass(frozen=True)
class Household:
    ledger_id: uuid.UUID
    anna: SignedInUser  # owner, Telegram user (and private chat) 9101
    boris: SignedInUser  # member, 9102
    clara: SignedInUser  # viewer, 9103


@pytest.fixture
def household(
    notify: Flask, notify_client: FlaskClient, make_user: Callable[[], SignedInUser]
) -> Household:
    """Anna owns "Home", Boris is a member, Clara views it; each linked their private chat (its
    id is their Telegram user id). Telegram user 9999 has no account linked."""
    anna, boris, clara = make_user(), make_user(), make_user()
    for user, chat_id in ((anna, 9101), (boris, 9102), (clara, 9103)):
        link_chat(notify_client, user.headers, chat_id)
    ledger_id = uuid.uuid4()
    members = {anna.id: ROLE_OWNER, boris.id: ROLE_MEMBER, clara.id: ROLE_VIEWER}
    handle(notify, snapshot(ledger_id, 1, members))
    return Household(ledger_id, anna, boris, clara)


@dataclass(frozen=True)
class Home(Household):
    """The household of the ledger "Home", with notify_app, a client of it, and "Telegram" posting
    to its webhook: what a test of the household's chats takes."""

    notify: Flask
    notify_client: FlaskClient
    telegram: TelegramStandIn


@pytest.fixture
def home(
    notify: Flask, notify_client: FlaskClient, webhook: TelegramStandIn, household: Household
) -> Home:
    return Home(
        household.ledger_id,
        household.anna,
        household.boris,
        household.clara,
        notify,
        notify_client,
        webhook,
    )
