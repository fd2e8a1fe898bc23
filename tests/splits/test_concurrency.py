"""Concurrent edits of one expense and settlements never leave balances that disagree with the
entries: the balances recomputed from scratch (from each expense's split as stored and the
settlements) equal what the endpoint says, and every expense's shares are its split's."""

from __future__ import annotations

import uuid
from dataclasses import replace
from decimal import Decimal
from typing import Any

from api_app.splits.arithmetic import Portion, Share, SplitMethod, split
from tests.households.conftest import Sql
from tests.parallel import in_parallel
from tests.splits.conftest import Household
from tests.splits.reference import nets
from tests.users import LiveClient, SignedInUser


def test_balances_agree_with_the_entries_after_concurrent_edits(
    gunicorn_gateway: str, home: Household, api_sql: Sql
) -> None:
    anna, ben, cleo = (
        replace(person, client=LiveClient(gunicorn_gateway, timeout_seconds=60))
        for person in home.members
    )
    everyone = [{"user_id": str(person.id)} for person in (anna, ben, cleo)]
    spent = home.expense(home.anna, "90.00", split={"method": "equal", "among": everyone})
    path = f"/api/transactions/{spent['id']}"
    settlements = f"/api/ledgers/{home.ledger_id}/settlements"

    def patch(person: SignedInUser, body: dict[str, Any]) -> Any:
        return lambda: person.request("PATCH", path, json=body).status_code

    def settle(payer: SignedInUser, payee: SignedInUser, amount: str) -> Any:
        body = {
            "from_user_id": str(payer.id),
            "to_user_id": str(payee.id),
            "amount": amount,
            "date": "2026-11-11",
        }
        return lambda: payer.request("POST", settlements, json=body).status_code

    one_to_two = {
        "method": "shares",
        "among": [
            {"user_id": str(anna.id), "value": "1"},
            {"user_id": str(ben.id), "value": "2"},
        ],
    }
    for _ in range(3):
        statuses = in_parallel(
            patch(ben, {"amount": "100.01"}),
            patch(cleo, {"amount": "33.33", "paid_by": str(cleo.id)}),
            patch(anna, {"split": one_to_two}),
            patch(ben, {"paid_by": str(ben.id)}),
            settle(ben, anna, "10.00"),
            settle(cleo, ben, "7.77"),
        )
        assert statuses == [200] * 4 + [201] * 2

    assert home.nets() == recomputed(home.ledger_id, api_sql)


def recomputed(ledger_id: str, api_sql: Sql) -> dict[str, str]:
    """Each member's net from scratch: every split expense's shares computed again from its
    stored split (and compared with the stored shares), plus the settlements."""
    payments: list[tuple[uuid.UUID, Decimal]] = []
    shares: list[Share] = []
    expenses = api_sql(
        "SELECT id, amount, paid_by, split FROM transactions"
        " WHERE ledger_id = %s AND split IS NOT NULL",
        (ledger_id,),
    )
    for transaction_id, amount, paid_by, asked in expenses:
        portions = [
            Portion(uuid.UUID(p["user_id"]), None if p["value"] is None else Decimal(p["value"]))
            for p in asked["among"]
        ]
        computed = split(amount, SplitMethod(asked["method"]), portions)
        stored = api_sql(
            "SELECT user_id, amount FROM transaction_shares WHERE transaction_id = %s",
            (transaction_id,),
        )
        assert {share.user_id: share.amount for share in computed if share.amount} == {
            uuid.UUID(str(user_id)): share for user_id, share in stored
        }
        payments.append((uuid.UUID(str(paid_by)), amount))
        shares.extend(computed)
    for payer, payee, amount in api_sql(
        "SELECT from_user_id, to_user_id, amount FROM settlements WHERE ledger_id = %s",
        (ledger_id,),
    ):
        payments.append((uuid.UUID(str(payer)), amount))
        shares.append(Share(uuid.UUID(str(payee)), amount))
    members = api_sql("SELECT user_id FROM ledger_members WHERE ledger_id = %s", (ledger_id,))
    balance = {uuid.UUID(str(user_id)): Decimal(0) for (user_id,) in members}
    balance.update(nets(payments, shares))
    return {
        str(user_id): (f"+{net}" if net > 0 else f"{net}")
        for user_id, net in ((u, n.quantize(Decimal("0.01"))) for u, n in balance.items())
    }
