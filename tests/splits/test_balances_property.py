"""The balances the database sums are the arithmetic's: random expenses by random payers with
every method, then the settle-up transfers recorded as settlements bring every balance to zero."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from api_app.splits.arithmetic import Portion, SplitMethod, split
from tests.splits.conftest import Household
from tests.splits.reference import nets
from tests.splits.test_arithmetic import splits

EXPENSES = st.lists(st.tuples(st.integers(0, 2), splits()), min_size=1, max_size=4)


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(expenses=EXPENSES)
def test_database_nets_equal_the_arithmetic_and_settling_up_clears_them(
    home: Household, expenses: list[tuple[int, tuple[Decimal, SplitMethod, list[Portion]]]]
) -> None:
    people = home.members
    ids = [person.id for person in people]
    before = {uuid.UUID(user_id): Decimal(net) for user_id, net in home.nets().items()}
    payments: list[tuple[uuid.UUID, Decimal]] = list(before.items())
    shares = []
    for payer, (amount, method, portions) in expenses:
        # The generated members become the household's three (the split is among at most 3).
        among = [Portion(ids[i], p.value) for i, p in enumerate(portions[: len(ids)])]
        if method is SplitMethod.AMOUNTS:
            among = [Portion(ids[0], amount)]
        if method is SplitMethod.PERCENT:
            among = [Portion(ids[0], Decimal(100))]
        body: dict[str, Any] = {
            "method": str(method),
            "among": [
                {"user_id": str(p.user_id)} | ({} if p.value is None else {"value": str(p.value)})
                for p in among
            ],
        }
        if amount > Decimal("9999999999.99"):
            continue
        home.expense(people[payer], str(amount), paid_by=str(ids[payer]), split=body)
        payments.append((ids[payer], amount))
        shares.extend(split(amount, method, among))
    expected = nets(payments, shares)
    said = home.nets()
    for user_id in ids:
        assert Decimal(said[str(user_id)]) == expected.get(user_id, Decimal(0))
    for transfer in home.balances()["settle_up"]:
        payer = next(p for p in people if str(p.id) == transfer["from"])
        payee = next(p for p in people if str(p.id) == transfer["to"])
        home.settle(home.anna, payer, payee, transfer["amount"])
    assert set(home.nets().values()) == {"0.00"}
