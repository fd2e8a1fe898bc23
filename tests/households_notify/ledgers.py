"""Helpers for the households tests of notify_app: the ledger events api_app emits, handled as
the worker's task handles them, and notify_app's copy of a ledger as it stands."""

from __future__ import annotations

import itertools
import time
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from event_contract import (
    LEDGER_SHARED,
    Event,
    LedgerDeleted,
    LedgerMember,
    LedgerMembershipChanged,
)
from tests.telegram_standin import TelegramStandIn
from tests.users import SignedInUser

# Update ids are unique per bot; each test takes fresh ones.
_update_ids = itertools.count(int(time.time() * 1000))


def next_update_id() -> int:
    return next(_update_ids)


def snapshot(
    ledger_id: uuid.UUID,
    version: int,
    members: dict[uuid.UUID, str],
    *,
    name: str = "Home",
    kind: str = LEDGER_SHARED,
    changed_by: uuid.UUID | None = None,
) -> Event:
    """ledger.membership_changed: the ledger as it is at `version`."""
    return Event(
        user_id=changed_by or next(iter(members), uuid.uuid4()),
        payload=LedgerMembershipChanged(
            ledger_id=ledger_id,
            name=name,
            kind=kind,
            version=version,
            members=tuple(LedgerMember(user_id, role) for user_id, role in members.items()),
        ),
    )


def ledger_deleted(ledger_id: uuid.UUID, version: int, deleted_by: uuid.UUID) -> Event:
    return Event(user_id=deleted_by, payload=LedgerDeleted(ledger_id=ledger_id, version=version))


def handle(notify: Flask, event: Event) -> None:
    """What the worker's task does with a message from the broker."""
    from notify_app import handlers

    with notify.app_context():
        handlers.handle_event(event.to_message())


@dataclass(frozen=True)
class KnownLedger:
    name: str
    version: int
    members: dict[uuid.UUID, str]
    group_chat_id: str | None
    deleted: bool


def known_ledger(notify: Flask, ledger_id: uuid.UUID) -> KnownLedger | None:
    """notify_app's copy of the ledger, None when it never heard of it."""
    from notify_app.extensions import db
    from notify_app.models import Ledger, LedgerMembership

    with notify.app_context():
        ledger = db.session.get(Ledger, ledger_id)
        if ledger is None:
            return None
        members = db.session.execute(
            select(LedgerMembership.user_id, LedgerMembership.role).where(
                LedgerMembership.ledger_id == ledger_id
            )
        ).all()
        return KnownLedger(
            ledger.name,
            ledger.version,
            {row.user_id: row.role for row in members},
            ledger.group_chat_id,
            ledger.deleted_at is not None,
        )


# -- What Telegram posts to the webhook ------------------------------------------------------

BOT = "budget_alerts_bot"  # TELEGRAM_BOT_USERNAME's default, which the tests run with


def person(user_id: int, language_code: str | None = None) -> dict[str, Any]:
    sender: dict[str, Any] = {"id": user_id, "is_bot": False, "first_name": f"User {user_id}"}
    if language_code is not None:
        sender["language_code"] = language_code
    return sender


def group_message(
    chat_id: int, sender_id: int, text: str, *, language_code: str | None = None
) -> dict[str, Any]:
    """Someone (`sender_id`, their Telegram user id) writes `text` in the group `chat_id`."""
    return {
        "update_id": next_update_id(),
        "message": {
            "message_id": 1,
            "date": int(time.time()),
            "chat": {"id": chat_id, "type": "group", "title": "Family"},
            "from": person(sender_id, language_code),
            "text": text,
        },
    }


def private_message(chat_id: int, text: str) -> dict[str, Any]:
    """Someone writes `text` in their private chat with the bot (its id is theirs)."""
    return {
        "update_id": next_update_id(),
        "message": {
            "message_id": 1,
            "date": int(time.time()),
            "chat": {"id": chat_id, "type": "private"},
            "from": person(chat_id),
            "text": text,
        },
    }


def bot_membership(chat_id: int, by: int, status: str) -> dict[str, Any]:
    """my_chat_member: `by` added the bot to the group ("member") or removed it ("kicked")."""
    bot = {"id": 1, "is_bot": True, "first_name": "Budget", "username": BOT}
    old = "left" if status == "member" else "member"
    return {
        "update_id": next_update_id(),
        "my_chat_member": {
            "chat": {"id": chat_id, "type": "group", "title": "Family"},
            "from": person(by),
            "date": int(time.time()),
            "old_chat_member": {"status": old, "user": bot},
            "new_chat_member": {"status": status, "user": bot},
        },
    }


# -- Linking a group --------------------------------------------------------------------------

WEBHOOK_URL = "https://budget.example.com/api/notifications/telegram/webhook"


def group_link(notify_client: FlaskClient, user: SignedInUser, ledger_id: uuid.UUID) -> Any:
    return notify_client.post(
        f"/api/notifications/ledgers/{ledger_id}/telegram/link", headers=user.headers
    )


def group_code(notify_client: FlaskClient, user: SignedInUser, ledger_id: uuid.UUID) -> str:
    """The link's code, as the group's /start carries it."""
    offer = group_link(notify_client, user, ledger_id)
    assert offer.status_code == 201, offer.json
    url = urlsplit(offer.json["url"])
    assert (url.scheme, url.netloc, url.path) == ("https", "t.me", f"/{BOT}")
    assert offer.json["expires_at"]
    code: str = parse_qs(url.query)["startgroup"][0]
    return code


def link_group(
    telegram: TelegramStandIn,
    notify_client: FlaskClient,
    user: SignedInUser,
    ledger_id: uuid.UUID,
    chat_id: int,
    *,
    by: int,
    language_code: str | None = None,
) -> None:
    """`user` asks for the ledger's group link; Telegram user `by` opens it, adding the bot to
    the group `chat_id`: Telegram posts my_chat_member, then `/start@bot CODE` in the group."""
    code = group_code(notify_client, user, ledger_id)
    telegram.deliver_update(bot_membership(chat_id, by, "member"))
    telegram.deliver_update(
        group_message(chat_id, by, f"/start@{BOT} {code}", language_code=language_code)
    )


def sent_to(telegram: TelegramStandIn, chat_id: int) -> list[dict[str, Any]]:
    """sendMessage payloads to the chat, in the order they arrived."""
    return [m for m in telegram.messages if str(m["chat_id"]) == str(chat_id)]
