"""The month-end digest of a shared ledger adds who owes whom and how to settle up, when some
balance is not zero; notify_app writes it under the month's numbers."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal

from flask import Flask
from sqlalchemy import select

from event_contract import (
    BUDGET_MONTH_CLOSED,
    BudgetMonthClosed,
    Event,
    LedgerBalances,
    LedgerContext,
    MemberBalance,
    SettleUpTransfer,
)
from notify_app.messages import DigestBalance, DigestTransfer, digest_balances
from service_kit.i18n import translator
from tests.households.test_alerts import alerts, of_ledger
from tests.splits.conftest import Household


def test_a_shared_ledgers_digest_carries_its_balances(api: Flask, home: Household) -> None:
    from api_app.budgets.month_close import close_month

    anna, ben, _ = home.members
    for person, display_name in ((anna, "Anna"), (ben, "Ben")):
        person.expect(200, "PATCH", "/api/users/me", json={"display_name": display_name})
    home.expense(anna, "30.00", split={"method": "equal", "among": [{"user_id": str(ben.id)}]})
    with api.app_context():
        close_month(2026, 11, datetime(2026, 12, 2, tzinfo=UTC))
    digests = of_ledger(alerts(api, BUDGET_MONTH_CLOSED), home.ledger_id)
    assert digests
    for digest in digests:
        balances = digest.payload["balances"]
        members = {member["name"]: member["net"] for member in balances["members"]}
        assert (members["Anna"], members["Ben"]) == ("30.00", "-30.00")
        assert balances["settle_up"] == [{"payer": "Ben", "payee": "Anna", "amount": "30.00"}]


def test_an_even_ledgers_digest_has_no_balances(api: Flask, home: Household) -> None:
    from api_app.budgets.month_close import close_month

    home.expense(home.anna, "30.00")
    with api.app_context():
        close_month(2026, 11, datetime(2026, 12, 2, tzinfo=UTC))
    digests = of_ledger(alerts(api, BUDGET_MONTH_CLOSED), home.ledger_id)
    assert digests
    assert all("balances" not in digest.payload for digest in digests)


def test_notify_writes_the_balances_in_the_members_language() -> None:
    balances = [
        DigestBalance("Anna", Decimal("60")),
        DigestBalance("Ben", Decimal("-10")),
        DigestBalance("Cleo", Decimal("-50"), former_member=True),
    ]
    transfers = [DigestTransfer("Cleo", "Anna", Decimal("50"))]
    english = digest_balances(
        ledger_name="Home", balances=balances, settle_up=transfers, t=translator("en")
    )
    assert english.splitlines() == [
        "Who owes whom in Home:",
        "Anna: +60.00",
        "Ben: -10.00",
        "Cleo (former member): -50.00",
        "To settle up:",
        "Cleo pays Anna 50.00",
    ]
    russian = digest_balances(
        ledger_name="Дом", balances=balances, settle_up=transfers, t=translator("ru")
    )
    assert russian.splitlines()[0] == "Кто кому должен в бюджете Дом:"
    assert "бывший участник" in russian


def test_a_member_may_turn_the_balances_off(notify: Flask) -> None:
    """notify_app's digest handler writes the balances only for a member who wants them."""
    from notify_app.extensions import db
    from notify_app.handlers import Recipient, on_budget_month_closed
    from notify_app.models import Delivery
    from notify_app.settings.defaults import Settings
    from notify_app.unit_of_work import UnitOfWork

    closed = BudgetMonthClosed(
        year=2026,
        month=11,
        income=Decimal(0),
        expense=Decimal(30),
        net=Decimal(-30),
        categories=(),
        ledger=LedgerContext(ledger_id=uuid.uuid4(), ledger_name="Home"),
        balances=LedgerBalances(
            members=(MemberBalance("Anna", Decimal(30)), MemberBalance("Ben", Decimal(-30))),
            settle_up=(SettleUpTransfer("Ben", "Anna", Decimal(30)),),
        ),
    )
    texts = {}
    for wanted in (True, False):
        event = Event(user_id=uuid.uuid4(), payload=closed)
        settings = Settings(
            telegram_chat_id="42", notify_monthly_digest=True, digest_balances=wanted
        )
        with notify.app_context():
            with UnitOfWork() as uow:
                on_budget_month_closed(uow, event, closed, Recipient(settings))
            texts[wanted] = db.session.scalars(
                select(Delivery.text).where(Delivery.event_id == event.id)
            ).one()
    assert "Ben pays Anna 30.00" in texts[True]
    assert "Who owes whom" not in texts[False]
