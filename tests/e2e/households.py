"""A household for the end-to-end tests: Anna's shared ledger "Home" with Boris and Vera, their
private chats linked through the bot, its group linked through the `?startgroup=` link; what
"Telegram" received, by chat."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.eventually import eventually
from tests.households.conftest import create_ledger, invite, join
from tests.households_notify.ledgers import BOT, bot_membership, group_message, private_message
from tests.pipeline import wait_until_broker_idle
from tests.telegram_standin import TelegramStandIn
from tests.users import SignedInUser

GROUP = -7001
# Telegram user ids, which are also the ids of their private chats with the bot.
ANNA, BORIS, VERA, DORA, STRANGER = 7201, 7202, 7203, 7204, 7299
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
VIEWER_MAY_ONLY_READ = "You may only read this ledger: ask its owner to make you a member."


def sent_to(telegram: TelegramStandIn, chat_id: int) -> list[dict[str, Any]]:
    """sendMessage and sendPhoto payloads to the chat, in the order they arrived."""
    return [
        call.payload for call in telegram.calls if str(call.payload.get("chat_id")) == str(chat_id)
    ]


def texts_to(telegram: TelegramStandIn, chat_id: int) -> list[str]:
    return [
        str(payload.get("text", payload.get("caption", "")))
        for payload in sent_to(telegram, chat_id)
    ]


def limit_alerts(telegram: TelegramStandIn, chat_id: int) -> list[str]:
    """The limit alerts the chat received."""
    return [
        text for text in texts_to(telegram, chat_id)
        if text.startswith("Budget alert:") and "is over its limit" in text
    ]  # fmt: skip


def wait_for_text(telegram: TelegramStandIn, chat_id: int, start: str) -> str:
    """The first message to the chat that starts with `start`, once it arrived."""

    def arrived() -> str | None:
        return next((t for t in texts_to(telegram, chat_id) if t.startswith(start)), None)

    return eventually(arrived, f"a message to chat {chat_id} starting {start!r}", timeout=60)


def link_private_chat(telegram: TelegramStandIn, person: SignedInUser, chat_id: int) -> None:
    """The app's deep link, opened in Telegram: /start CODE in the person's private chat."""
    offer = person.expect(201, "POST", "/api/notifications/telegram/link")
    code = parse_qs(urlsplit(offer["url"]).query)["start"][0]
    telegram.deliver_update(private_message(chat_id, f"/start {code}"))
    assert texts_to(telegram, chat_id)[-1].startswith("Linked!"), texts_to(telegram, chat_id)


def link_group(telegram: TelegramStandIn, person: SignedInUser, ledger_id: str, by: int) -> None:
    """`person` gets the ledger's group link; Telegram user `by` opens it: Telegram adds the bot
    to the group (my_chat_member), then posts `/start@bot CODE` there."""
    offer = person.expect(201, "POST", f"/api/notifications/ledgers/{ledger_id}/telegram/link")
    url = urlsplit(offer["url"])
    assert (url.netloc, url.path) == ("t.me", f"/{BOT}")
    code = parse_qs(url.query)["startgroup"][0]
    telegram.deliver_update(bot_membership(GROUP, by, "member"))
    telegram.deliver_update(group_message(GROUP, by, f"/start@{BOT} {code}"))
    assert texts_to(telegram, GROUP)[-1].startswith(
        "Linked! This group gets the alerts of the household ledger Home"
    ), texts_to(telegram, GROUP)


def named(person: SignedInUser, name: str) -> SignedInUser:
    person.expect(200, "PATCH", "/api/users/me", json={"display_name": name})
    return person


def category_of(person: SignedInUser, ledger_id: str, name: str) -> str:
    """The id of the ledger's category `name`, as `person` lists them."""
    listed = person.expect(200, "GET", f"/api/categories?ledger_id={ledger_id}&page_size=100")
    return str(next(category["id"] for category in listed if category["name"] == name))


def food_of(person: SignedInUser, ledger_id: str) -> str:
    return category_of(person, ledger_id, "Food")


def ledger_transactions(person: SignedInUser, ledger_id: str) -> list[dict[str, Any]]:
    listed: list[dict[str, Any]] = person.expect(
        200, "GET", f"/api/transactions?ledger_id={ledger_id}&page_size=100"
    )
    return listed


def expense(ledger_id: str, category_id: str, amount: str, about: str = "") -> dict[str, Any]:
    return {
        "ledger_id": ledger_id, "category_id": category_id, "type": "EXPENSE",
        "amount": amount, "date": today(), "description": about,
    }  # fmt: skip


def today() -> str:
    return datetime.now(UTC).date().isoformat()


def this_month() -> str:
    return datetime.now(UTC).strftime("%B %Y")


@dataclass(frozen=True)
class Home:
    """Anna's shared ledger "Home"; each person linked their private chat (its id is theirs)."""

    ledger_id: str
    anna: SignedInUser  # owner
    boris: SignedInUser  # member
    vera: SignedInUser  # a viewer, unless the test makes her a member


def share_home(
    register: Callable[[], SignedInUser],
    telegram: TelegramStandIn,
    redis_url: str,
    vera_role: str = "viewer",
) -> Home:
    anna, boris, vera = (
        named(register(), "Anna"),
        named(register(), "Boris"),
        named(register(), "Vera"),
    )
    ledger_id = create_ledger(anna)
    join(boris, invite(anna, ledger_id, "member"))
    join(vera, invite(anna, ledger_id, vera_role))
    for person, chat_id in ((anna, ANNA), (boris, BORIS), (vera, VERA)):
        link_private_chat(telegram, person, chat_id)
    # notify_app knows the ledger and its members from api_app's snapshots, handled by now.
    wait_until_broker_idle(redis_url)
    return Home(ledger_id, anna, boris, vera)
