"""The bot's commands on ledgers (api_app's side): a group's commands act on its ledger as their
sender, a private chat's on the ledger the person picked with /ledger; /limit, /categories, and
/summary's chart whenever the month has spending."""

from __future__ import annotations

import itertools
import uuid
from datetime import UTC, datetime
from typing import Any

from flask import Flask
from sqlalchemy import select

from event_contract import CHAT_GROUP, BotCommand, bot_command_id, bot_reply_id
from tests.households.conftest import Household
from tests.users import SignedInUser

UPDATES = itertools.count(1)


def command(
    api: Flask,
    person: SignedInUser,
    name: str,
    arguments: str = "",
    *,
    group: str | None = None,
    chat_id: str | None = None,
) -> dict[str, Any]:
    """Carry out a command from `person`: in the group linked to ledger `group`, else in their
    private chat; the reply's payload."""
    from api_app.bot.service import handle_bot_command
    from api_app.extensions import db
    from api_app.models import OutboxEvent

    sent = BotCommand(
        id=bot_command_id("households", next(UPDATES)),
        user_id=person.id,
        chat_id=chat_id or ("-100" if group else str(person.id.int % 10**9)),
        name=name,
        arguments=arguments,
        sent_at=datetime.now(UTC),
        chat_type=CHAT_GROUP if group else "private",
        ledger_id=uuid.UUID(group) if group else None,
    )
    with api.app_context():
        assert handle_bot_command(sent.to_message()) == "done"
        reply = db.session.scalar(
            select(OutboxEvent).where(OutboxEvent.id == bot_reply_id(sent.id))
        )
        assert reply is not None
        payload: dict[str, Any] = reply.payload["payload"]
        return payload


def test_a_group_records_into_its_ledger_as_the_sender(api: Flask, household: Household) -> None:
    ledger, member = household.ledger_id, household.member
    reply = command(api, member, "spent", "12.50 food cheese", group=ledger)
    assert reply["text"].startswith("Spent: 12.50 (cheese)")
    [recorded] = member.expect(200, "GET", f"/api/transactions?ledger_id={ledger}")
    assert (recorded["amount"], recorded["created_by"]) == ("12.50", str(member.id))
    assert member.expect(200, "GET", "/api/transactions") == []
    # /undo takes back the sender's own entry from that chat only.
    command(api, household.owner, "spent", "3.00 food bread", group=ledger)
    undone = command(api, member, "undo", group=ledger)
    assert undone["text"].startswith("Removed: 12.50 (cheese)")
    [left] = member.expect(200, "GET", f"/api/transactions?ledger_id={ledger}")
    assert left["created_by"] == str(household.owner.id)


def test_a_viewer_may_only_read_and_a_stranger_is_told(
    api: Flask, household: Household, outsider: SignedInUser
) -> None:
    ledger = household.ledger_id
    for name, arguments in (("spent", "1 food"), ("income", "1 salary"), ("limit", "food 4"),
                            ("undo", "")):  # fmt: skip
        reply = command(api, household.viewer, name, arguments, group=ledger)
        assert reply["text"] == "You may only read this ledger: ask its owner to make you a member."
    assert command(api, household.viewer, "categories", group=ledger)["text"].startswith("Home · ")
    stranger = command(api, outsider, "spent", "1 food", group=ledger)
    assert stranger["text"] == (
        "You are not a member of this group's ledger: ask its owner for an invitation."
    )
    assert household.owner.expect(200, "GET", f"/api/transactions?ledger_id={ledger}") == []


def test_limit_sets_this_months_limit_and_categories_list_the_month(
    api: Flask, household: Household
) -> None:
    ledger, member = household.ledger_id, household.member
    command(api, member, "spent", "120 food", group=ledger)
    reply = command(api, member, "limit", "food 400", group=ledger)
    month = datetime.now(UTC).strftime("%B %Y")
    assert reply["text"] == f"Limit set for {month}: 400.00.\nFood: 120.00 of 400.00, 30 %"
    again = command(api, member, "limit", "fo 300,50", group=ledger)
    assert again["text"].startswith(f"Limit set for {month}: 300.50.")
    [budget] = member.expect(200, "GET", f"/api/budgets?ledger_id={ledger}")
    assert [limit["limit_amount"] for limit in budget["limits"]] == ["300.50"]
    assert command(api, member, "limit", "food", group=ledger)["text"].startswith(
        "Write it like this: /limit food 400"
    )
    assert command(api, member, "limit", "nothing 5", group=ledger)["text"].startswith(
        "Which category? Write one of: Entertainment, Food,"
    )
    listed = command(api, member, "categories", group=ledger)["text"].splitlines()
    assert listed[0] == f"Home · Categories, {month}:"
    assert "Food: 120.00 of 300.50, 40 %" in listed
    assert any(line.startswith("Transport: 0.00 spent") for line in listed)


def test_ledger_picks_where_a_private_spent_goes(api: Flask, household: Household) -> None:
    member = household.member
    listed = command(api, member, "ledger")["text"].splitlines()
    assert listed == [
        "Your ledgers; /spent and /income here record into the marked one:",
        "1. Personal ✓",
        "2. Home",
        "Pick another with /ledger and its number.",
    ]
    picked = command(api, member, "ledger", "2")
    assert picked["text"] == "From now on /spent and /income here record into Home."
    command(api, member, "spent", "7 food", chat_id="55")
    [recorded] = member.expect(200, "GET", f"/api/transactions?ledger_id={household.ledger_id}")
    assert recorded["amount"] == "7.00"
    assert command(api, member, "ledger", "9")["text"].startswith("No such ledger of yours")
    # Removed from the household, their private entries go to their personal ledger again.
    household.owner.expect(204, "DELETE", f"/api/ledgers/{household.ledger_id}/members/{member.id}")
    command(api, member, "spent", "2 food", chat_id="55")
    assert [t["amount"] for t in member.expect(200, "GET", "/api/transactions")] == ["2.00"]
    in_group = command(api, household.owner, "ledger", group=household.ledger_id)
    assert in_group["text"] == "This group records into Home."


def test_summary_draws_its_chart_whenever_the_month_has_spending(
    api: Flask, anna: SignedInUser
) -> None:
    command(api, anna, "spent", "12 food")
    summary = command(api, anna, "summary")
    month = datetime.now(UTC)
    assert summary["text"].splitlines()[3:] == [
        f"Food: 12.00 spent in {month.strftime('%B')} (no limit)",
        f"No budget limits for {month.strftime('%B %Y')}.",
    ]
    assert summary["chart"]["bars"] == [{"name": "Food", "spent": "12.00", "limit": None}]
    command(api, anna, "undo")
    assert "chart" not in command(api, anna, "summary")
