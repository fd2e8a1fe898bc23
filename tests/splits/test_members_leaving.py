"""A member who owes or is owed cannot walk away from it: leaving is refused until they have
settled up, unless the owner removes them, and then their balance stays as a former member's
until it is settled."""

from __future__ import annotations

from tests.splits.conftest import Household, total


def test_leaving_with_a_balance_is_refused_naming_it(home: Household) -> None:
    anna, ben, cleo = home.members
    members = f"/api/ledgers/{home.ledger_id}/members"
    home.expense(anna, "30.00", split={"method": "equal", "among": [{"user_id": str(ben.id)}]})

    refused = ben.expect(409, "DELETE", f"{members}/{ben.id}")
    assert "-30.00" in refused["message"]
    # The one owed cannot slip away either (the owner, alone, would delete the ledger).
    cleo.expect(204, "DELETE", f"{members}/{cleo.id}")  # even: she leaves
    home.settle(ben, ben, anna, "30.00")
    ben.expect(204, "DELETE", f"{members}/{ben.id}")
    assert str(ben.id) not in home.nets()


def test_the_owner_removes_a_member_whose_balance_stays_until_settled(home: Household) -> None:
    anna, ben, cleo = home.members
    members = f"/api/ledgers/{home.ledger_id}/members"
    home.expense(
        cleo,
        "40.00",
        split={"method": "amounts", "among": [
            {"user_id": str(ben.id), "value": "25"}, {"user_id": str(anna.id), "value": "15"}
        ]},
    )  # fmt: skip
    anna.expect(204, "DELETE", f"{members}/{ben.id}")

    balances = home.balances()
    former = next(row for row in balances["balances"] if row["user_id"] == str(ben.id))
    assert former["net"] == "-25.00"
    assert former["former_member"] is True
    assert total(home.nets()) == 0
    assert {"from": str(ben.id), "to": str(cleo.id), "amount": "25.00"} in balances["settle_up"]
    # A former member can no longer be given a share of a new expense...
    gone = home.expense(
        anna, "10.00", status=422, split={"method": "equal", "among": [{"user_id": str(ben.id)}]}
    )
    assert "not a member" in gone["message"]
    # ... but what they owe can still be settled, and then they are gone from the balances.
    home.settle(cleo, ben, cleo, "25.00")
    assert str(ben.id) not in home.nets()
    assert home.nets()[str(cleo.id)] == "+15.00"
