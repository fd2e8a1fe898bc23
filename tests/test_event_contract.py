"""The typed contract: every payload crosses the broker as the JSON it always was, comes back as
the same value, and a payload that does not fit its type is refused before anything acts on it."""

from __future__ import annotations

import json
import uuid
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from event_contract import (
    PAYLOAD_TYPES,
    SCHEMA_VERSION,
    TASK_QUEUES,
    BotCommand,
    BotReply,
    BudgetLimitExceeded,
    BudgetMonthClosed,
    BudgetThresholdReached,
    ClosedCategory,
    Event,
    GoalReached,
    LedgerBalances,
    LedgerContext,
    LedgerDeleted,
    LedgerMember,
    LedgerMembershipChanged,
    MemberBalance,
    Payload,
    SettleUpTransfer,
    UnsupportedSchemaVersionError,
    UserDeleted,
    UserLocaleChanged,
    UserRegistered,
    UserSessionsRevoked,
)

BUDGET = uuid.UUID("00000000-0000-0000-0000-00000000000b")
CATEGORY = uuid.UUID("00000000-0000-0000-0000-00000000000c")
TRANSACTION = uuid.UUID("00000000-0000-0000-0000-00000000000d")
GOAL = uuid.UUID("00000000-0000-0000-0000-00000000000e")
LEDGER = uuid.UUID("00000000-0000-0000-0000-00000000001e")
ANNA = uuid.UUID("00000000-0000-0000-0000-0000000000a1")
BEN = uuid.UUID("00000000-0000-0000-0000-0000000000b1")

# Each payload and its JSON on the wire, as api_app has always sent it.
WIRE: list[tuple[Payload, dict[str, Any]]] = [
    (UserRegistered(email="ann@example.com"), {"email": "ann@example.com"}),
    (UserDeleted(), {}),
    (
        UserSessionsRevoked(epoch=3, reason="password_changed"),
        {"epoch": 3, "reason": "password_changed"},
    ),
    (
        BudgetLimitExceeded(
            budget_id=BUDGET,
            category_id=CATEGORY,
            category_name="Food",
            year=2026,
            month=11,
            limit=Decimal("500"),
            spent=Decimal("520.5"),
            transaction_id=TRANSACTION,
        ),
        {
            "budget_id": str(BUDGET),
            "category_id": str(CATEGORY),
            "category_name": "Food",
            "year": 2026,
            "month": 11,
            "limit": "500.00",
            "spent": "520.50",
            "transaction_id": str(TRANSACTION),
        },
    ),
    (
        BudgetThresholdReached(
            budget_id=BUDGET,
            category_id=CATEGORY,
            category_name="Food",
            year=2026,
            month=11,
            limit=Decimal("500.00"),
            spent=Decimal("450.00"),
            transaction_id=None,
            percent=90,
            threshold=90,
            crossed_thresholds=(80, 90),
        ),
        {
            "budget_id": str(BUDGET),
            "category_id": str(CATEGORY),
            "category_name": "Food",
            "year": 2026,
            "month": 11,
            "limit": "500.00",
            "spent": "450.00",
            "percent": 90,
            "threshold": 90,
            "crossed_thresholds": [80, 90],
            "transaction_id": None,
        },
    ),
    (
        GoalReached(
            goal_id=GOAL, name="Bike", target_amount=Decimal("1000"), current_amount=Decimal("1010")
        ),
        {
            "goal_id": str(GOAL),
            "name": "Bike",
            "target_amount": "1000.00",
            "current_amount": "1010.00",
        },
    ),
    (
        BudgetMonthClosed(
            year=2026,
            month=10,
            income=Decimal("2000"),
            expense=Decimal("1500.25"),
            net=Decimal("499.75"),
            categories=(
                ClosedCategory("Food", Decimal("400"), Decimal("380.25")),
                ClosedCategory("Fun", None, Decimal("12")),
            ),
        ),
        {
            "year": 2026,
            "month": 10,
            "income": "2000.00",
            "expense": "1500.25",
            "net": "499.75",
            "categories": [
                {"name": "Food", "limit": "400.00", "spent": "380.25"},
                {"name": "Fun", "limit": None, "spent": "12.00"},
            ],
        },
    ),
    (BotReply(chat_id="7", text="Saved."), {"chat_id": "7", "text": "Saved."}),
    (
        BotReply(
            chat_id="7",
            text="Which one?",
            buttons=[[{"text": "Food", "data": "c1"}]],
            chart={"title": "November 2026", "bars": []},
        ),
        {
            "chat_id": "7",
            "text": "Which one?",
            "buttons": [[{"text": "Food", "data": "c1"}]],
            "chart": {"title": "November 2026", "bars": []},
        },
    ),
    (
        UserRegistered(email="olga@example.com", language="ru"),
        {"email": "olga@example.com", "language": "ru"},
    ),
    (
        UserLocaleChanged(language="ru", currency="EUR"),
        {"language": "ru", "currency": "EUR"},
    ),
    (UserLocaleChanged(language=None), {"language": None, "currency": None}),
    (
        LedgerMembershipChanged(
            ledger_id=LEDGER,
            name="Home",
            kind="shared",
            version=3,
            members=(LedgerMember(ANNA, "owner"), LedgerMember(BEN, "viewer")),
        ),
        {
            "ledger_id": str(LEDGER),
            "name": "Home",
            "kind": "shared",
            "version": 3,
            "members": [
                {"user_id": str(ANNA), "role": "owner"},
                {"user_id": str(BEN), "role": "viewer"},
            ],
        },
    ),
    (LedgerDeleted(ledger_id=LEDGER, version=4), {"ledger_id": str(LEDGER), "version": 4}),
]

# A shared ledger's alert: the same payload with the "ledger" it belongs to and its audience.
SHARED_ALERT = BudgetLimitExceeded(
    budget_id=BUDGET,
    category_id=CATEGORY,
    category_name="Food",
    year=2026,
    month=11,
    limit=Decimal("400"),
    spent=Decimal("410"),
    transaction_id=TRANSACTION,
    ledger=LedgerContext(
        ledger_id=LEDGER,
        ledger_name="Home",
        audience="group",
        recorded_by=ANNA,
        recorded_by_name="Anna",
        transaction_amount=Decimal("32"),
        transaction_description="groceries",
    ),
)


def test_every_event_type_has_its_payload_on_the_wire() -> None:
    assert {type(payload) for payload, _ in WIRE} == set(PAYLOAD_TYPES.values())


@pytest.mark.parametrize(("payload", "wire"), WIRE, ids=lambda value: type(value).__name__)
def test_a_payload_crosses_the_broker_as_the_same_json_and_comes_back_the_same(
    payload: Payload, wire: dict[str, Any]
) -> None:
    event = Event(user_id=uuid.uuid4(), payload=payload)
    message = json.loads(json.dumps(event.to_message()))

    assert message["type"] == payload.TYPE
    assert message["payload"] == wire
    assert Event.from_message(message) == event


@pytest.mark.parametrize(
    "change",
    [
        {"spent": 520.5},  # a float: amounts travel as strings
        {"spent": "a lot"},
        {"spent": "NaN"},
        {"month": 13},
        {"year": "2026"},
        {"year": True},
        {"category_id": "not a uuid"},
        {"category_name": None},
    ],
)
def test_a_payload_that_does_not_fit_its_type_is_refused(change: dict[str, Any]) -> None:
    payload, wire = WIRE[3]
    message = Event(user_id=uuid.uuid4(), payload=payload).to_message()
    with pytest.raises((ValueError, TypeError)):
        Event.from_message({**message, "payload": {**wire, **change}})


def test_a_shared_ledgers_digest_may_carry_its_balances_and_reads_the_same_without() -> None:
    balances = LedgerBalances(
        members=(
            MemberBalance("Anna", Decimal("60")),
            MemberBalance("Ben", Decimal("-10")),
            MemberBalance("Cleo", Decimal("-50"), former_member=True),
        ),
        settle_up=(
            SettleUpTransfer("Cleo", "Anna", Decimal("50")),
            SettleUpTransfer("Ben", "Anna", Decimal("10")),
        ),
    )
    closed = BudgetMonthClosed(
        year=2026,
        month=11,
        income=Decimal(0),
        expense=Decimal("150"),
        net=Decimal("-150"),
        categories=(),
        balances=balances,
    )
    event = Event(user_id=ANNA, payload=closed)
    message = json.loads(json.dumps(event.to_message()))
    assert message["payload"]["balances"]["members"][1] == {
        "name": "Ben",
        "net": "-10.00",
        "former_member": False,
    }
    assert message["payload"]["balances"]["settle_up"][0] == {
        "payer": "Cleo",
        "payee": "Anna",
        "amount": "50.00",
    }
    assert Event.from_message(message) == event
    # An older digest, without the key, is one without balances.
    del message["payload"]["balances"]
    assert Event.from_message(message).payload == replace(closed, balances=None)


def test_a_shared_ledgers_alert_carries_its_ledger_and_audience() -> None:
    event = Event(user_id=ANNA, payload=SHARED_ALERT)
    message = json.loads(json.dumps(event.to_message()))

    assert message["payload"]["ledger"] == {
        "ledger_id": str(LEDGER),
        "ledger_name": "Home",
        "audience": "group",
        "recorded_by": str(ANNA),
        "recorded_by_name": "Anna",
        "transaction_amount": "32.00",
        "transaction_description": "groceries",
    }
    assert Event.from_message(message) == event
    message["payload"]["ledger"]["audience"] = "everyone"
    with pytest.raises(ValueError, match="one of"):
        Event.from_message(message)


def test_a_bot_command_from_a_group_names_its_ledger_and_one_from_before_reads_as_private() -> None:
    command = BotCommand(
        id=uuid.uuid4(),
        user_id=ANNA,
        chat_id="-1001",
        name="spent",
        arguments="32 food groceries",
        sent_at=datetime(2026, 11, 10, 12, tzinfo=UTC),
        chat_type="group",
        ledger_id=LEDGER,
    )
    assert BotCommand.from_message(json.loads(json.dumps(command.to_message()))) == command
    older = command.to_message()
    del older["chat_type"], older["ledger_id"]
    parsed = BotCommand.from_message(older)
    assert (parsed.chat_type, parsed.ledger_id) == ("private", None)


def test_sessions_revoked_from_before_its_reason_reads_as_signed_out_everywhere() -> None:
    """`reason` came without a new schema_version: older messages still parse."""
    assert UserSessionsRevoked.from_json({"epoch": 4}) == UserSessionsRevoked(
        epoch=4, reason="signed_out_everywhere"
    )
    with pytest.raises(ValueError, match="unknown reason"):
        UserSessionsRevoked.from_json({"epoch": 4, "reason": "because"})


def test_a_missing_field_is_refused() -> None:
    payload, _ = WIRE[3]
    message = Event(user_id=uuid.uuid4(), payload=payload).to_message()
    del message["payload"]["spent"]
    with pytest.raises(KeyError):
        Event.from_message(message)


@pytest.mark.parametrize("version", [SCHEMA_VERSION + 1, 0, "1", True, None])
def test_a_bot_command_of_an_unknown_schema_version_is_refused(version: object) -> None:
    command = BotCommand(
        id=uuid.uuid4(),
        user_id=uuid.uuid4(),
        chat_id="7",
        name="summary",
        arguments="",
        sent_at=datetime(2026, 11, 10, 12, tzinfo=UTC),
    )
    with pytest.raises(UnsupportedSchemaVersionError):
        BotCommand.from_message({**command.to_message(), "schema_version": version})


def test_every_task_has_one_queue_of_the_two() -> None:
    assert set(TASK_QUEUES.values()) == {"notifications", "api_jobs"}
    assert all(task.split(".")[0] in ("notifications", "api") for task in TASK_QUEUES)
