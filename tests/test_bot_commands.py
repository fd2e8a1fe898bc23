"""The bot's pieces that need no running services: reading an entry, matching a category, the
contract's ids and messages, the caption of a chart, and a command carried out twice."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from flask import Flask

from api_app.bot.parsing import match_category, parse_entry
from event_contract import BotCommand, bot_command_id, bot_reply_id, bot_transaction_id
from notify_app.deliveries.sending import CAPTION_MAX_LENGTH, caption
from tests.users import register_through

FOOD, FUN, HEALTH, HOUSING, EATING_OUT = (uuid.uuid4() for _ in range(5))
CATEGORIES = [
    (FOOD, "Food"),
    (FUN, "Fun"),
    (HEALTH, "Health"),
    (HOUSING, "Housing"),
    (EATING_OUT, "Eating out"),
]


@pytest.mark.parametrize(
    ("arguments", "amount"),
    [("12,50 food", "12.50"), ("12.5 food", "12.50"), ("7 food", "7.00"), ("0.01 x", "0.01")],
)
def test_amounts_with_a_comma_or_a_point(arguments: str, amount: str) -> None:
    entry = parse_entry(arguments)
    assert entry is not None
    assert entry.amount == Decimal(amount)


@pytest.mark.parametrize(
    "arguments", ["", "12.50", "food 12", "0 food", "-3 food", "1.234 food", "1e3 food", "12,5,0 x"]
)
def test_what_is_not_an_entry(arguments: str) -> None:
    assert parse_entry(arguments) is None


def test_a_whole_name_case_insensitively_then_the_description() -> None:
    match = match_category(["FOOD", "lunch", "with", "Bo"], CATEGORIES)
    assert (match.category_id, match.description) == (FOOD, "lunch with Bo")
    # A name of two words wins over a prefix of its first.
    match = match_category(["eating", "out", "pizza"], CATEGORIES)
    assert (match.category_id, match.description) == (EATING_OUT, "pizza")


def test_a_unique_prefix_or_the_candidates() -> None:
    assert match_category(["foo", "lunch"], CATEGORIES).category_id == FOOD
    ambiguous = match_category(["h", "pills"], CATEGORIES)
    assert ambiguous.category_id is None
    assert ambiguous.description == "pills"
    assert sorted(name for _, name in ambiguous.candidates) == ["Health", "Housing"]
    unknown = match_category(["zzz"], CATEGORIES)
    assert unknown.category_id is None
    assert unknown.candidates == CATEGORIES


def test_ids_derive_from_the_bot_and_the_update() -> None:
    first = bot_command_id("budget_bot", 42)
    assert first == bot_command_id("budget_bot", 42)
    assert first != bot_command_id("budget_bot", 43)
    assert first != bot_command_id("other_bot", 42)
    assert len({first, bot_transaction_id(first), bot_reply_id(first)}) == 3


def test_a_command_crosses_the_broker_as_json() -> None:
    command = BotCommand(
        id=bot_command_id("b", 1),
        user_id=uuid.uuid4(),
        chat_id="77",
        name="spent",
        arguments="12,50 food",
        sent_at=datetime(2026, 11, 30, 12, 0, tzinfo=UTC),
    )
    assert BotCommand.from_message(command.to_message()) == command
    with pytest.raises(ValueError, match="unknown bot command"):
        BotCommand.from_message({**command.to_message(), "name": "drop"})


def test_a_long_caption_is_cut_at_a_line() -> None:
    text = "\n".join(f"Category {n}: 10.00 of 20.00, 50 %" for n in range(60))
    cut = caption(text)
    assert len(cut) <= CAPTION_MAX_LENGTH
    assert cut.endswith("\n…")
    assert text.startswith(cut.removesuffix("\n…"))
    assert caption("short") == "short"


def spent_tea(user_id: uuid.UUID, update_id: int, chat_id: str) -> BotCommand:
    """`/spent 3.20 food tea`, written now in the chat, as the bot's update `update_id`."""
    return BotCommand(
        id=bot_command_id("b", update_id),
        user_id=user_id,
        chat_id=chat_id,
        name="spent",
        arguments="3.20 food tea",
        sent_at=datetime.now(UTC),
    )


def test_a_command_carried_out_twice_records_one_transaction_and_one_reply(api: Flask) -> None:
    from sqlalchemy import func, select

    from api_app.bot.service import handle_bot_command
    from api_app.extensions import db
    from api_app.models import BotCommandRecord, OutboxEvent, Transaction

    user = register_through(api.test_client())
    command = spent_tea(user.id, update_id=99, chat_id="4242")
    with api.app_context():
        assert handle_bot_command(command.to_message()) == "done"
        assert handle_bot_command(command.to_message()) == "answered before"
        transactions = db.session.scalars(
            select(Transaction).where(Transaction.user_id == user.id)
        ).all()
        assert [(t.id, t.amount, t.description) for t in transactions] == [
            (bot_transaction_id(command.id), Decimal("3.20"), "tea")
        ]
        assert db.session.scalar(select(func.count()).select_from(BotCommandRecord)) == 1
        replies = db.session.scalars(
            select(OutboxEvent.id).where(OutboxEvent.type == "bot.reply")
        ).all()
        assert replies == [bot_reply_id(command.id)]


def test_a_spent_past_the_daily_quota_records_nothing_and_says_so(
    api: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sqlalchemy import select

    from api_app.bot.service import handle_bot_command
    from api_app.extensions import db
    from api_app.models import OutboxEvent, Transaction

    user = register_through(api.test_client())
    command = spent_tea(user.id, update_id=100, chat_id="4243")
    monkeypatch.setitem(api.config, "DAILY_ROW_QUOTA_PER_USER", 0)
    with api.app_context():
        assert handle_bot_command(command.to_message()) == "done"
        assert not db.session.scalars(
            select(Transaction).where(Transaction.user_id == user.id)
        ).all()
        reply = db.session.scalar(
            select(OutboxEvent).where(OutboxEvent.id == bot_reply_id(command.id))
        )
        assert reply is not None
        assert reply.payload["payload"]["text"] == (
            "This account wrote as many entries today as it may in a day; nothing was recorded."
            " Send it again tomorrow."
        )
