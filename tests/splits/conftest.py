"""Three people who share a household's costs (Anna owns it, Ben and Cleo are members) and a
viewer, Vic, who only reads."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest

from tests.households.conftest import api_sql, create_ledger, invite, join
from tests.households.test_shared_budgeting import shared_category
from tests.users import SignedInUser


@dataclass(frozen=True)
class Household:
    ledger_id: str
    anna: SignedInUser
    ben: SignedInUser
    cleo: SignedInUser
    vic: SignedInUser
    food: str

    @property
    def members(self) -> tuple[SignedInUser, SignedInUser, SignedInUser]:
        return self.anna, self.ben, self.cleo

    def expense(
        self, by: SignedInUser, amount: str, status: int = 201, **extra: Any
    ) -> dict[str, Any]:
        body = {
            "category_id": self.food,
            "type": "EXPENSE",
            "amount": amount,
            "date": "2026-11-10",
            "ledger_id": self.ledger_id,
            **extra,
        }
        answer: dict[str, Any] = by.expect(status, "POST", "/api/transactions", json=body)
        return answer

    def balances(self, by: SignedInUser | None = None) -> dict[str, Any]:
        answer: dict[str, Any] = (by or self.anna).expect(
            200, "GET", f"/api/ledgers/{self.ledger_id}/balances"
        )
        return answer

    def nets(self, by: SignedInUser | None = None) -> dict[str, str]:
        """user id -> net, as the balances endpoint says."""
        return {row["user_id"]: row["net"] for row in self.balances(by)["balances"]}

    def settle(
        self, by: SignedInUser, payer: SignedInUser, payee: SignedInUser, amount: str
    ) -> dict[str, Any]:
        return by.created(
            f"/api/ledgers/{self.ledger_id}/settlements",
            {
                "from_user_id": str(payer.id),
                "to_user_id": str(payee.id),
                "amount": amount,
                "date": "2026-11-12",
            },
        )


@pytest.fixture
def home(sign_up: Callable[..., SignedInUser]) -> Household:
    anna, ben, cleo, vic = sign_up(), sign_up(), sign_up(), sign_up()
    ledger_id = create_ledger(anna)
    join(ben, invite(anna, ledger_id, "member"))
    join(cleo, invite(anna, ledger_id, "member"))
    join(vic, invite(anna, ledger_id, "viewer"))
    return Household(ledger_id, anna, ben, cleo, vic, shared_category(anna, ledger_id))


def shares_of(transaction: dict[str, Any]) -> dict[str, str]:
    return {share["user_id"]: share["amount"] for share in transaction["shares"]}


def total(nets: dict[str, str]) -> Decimal:
    return sum((Decimal(net) for net in nets.values()), Decimal(0))


__all__ = ["api_sql"]  # the households' fixture, for these tests too
