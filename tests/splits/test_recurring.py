"""A shared ledger's recurring rule may carry its own split; without one its occurrences take
the ledger's default split."""

from __future__ import annotations

from typing import Any

from tests.splits.conftest import Household, shares_of


def rule(home: Household, **extra: Any) -> dict[str, Any]:
    return home.anna.created(
        "/api/recurring",
        {
            "category_id": home.food,
            "type": "EXPENSE",
            "amount": "90.00",
            "frequency": "monthly",
            "start_date": "2026-10-01",
            "end_date": "2026-11-30",
            "ledger_id": home.ledger_id,
            **extra,
        },
    )


def recorded(home: Household, rule_id: str) -> list[dict[str, Any]]:
    listed: list[dict[str, Any]] = home.anna.expect(
        200, "GET", f"/api/transactions?ledger_id={home.ledger_id}&recurring_id={rule_id}"
    )
    return listed


def test_a_rules_own_split_and_the_ledgers_default(home: Household) -> None:
    anna, ben, cleo = home.members
    a, b, c = str(anna.id), str(ben.id), str(cleo.id)
    rent = rule(
        home,
        paid_by=b,
        split={"method": "percent", "among": [
            {"user_id": a, "value": "50"}, {"user_id": c, "value": "50"}
        ]},
    )  # fmt: skip
    assert rent["paid_by"] == b
    assert rent["split"]["method"] == "percent"
    occurrences = recorded(home, rent["id"])
    assert len(occurrences) == 2
    assert all(shares_of(t) == {a: "45.00", c: "45.00"} for t in occurrences)
    assert home.nets() == {a: "-90.00", b: "+180.00", c: "-90.00", str(home.vic.id): "0.00"}

    home.anna.expect(
        200, "PATCH", f"/api/ledgers/{home.ledger_id}", json={"default_split": {"method": "equal"}}
    )
    internet = rule(home, amount="30.00")
    assert internet["split"] is None
    assert all(
        shares_of(t) == {a: "10.00", b: "10.00", c: "10.00"} for t in recorded(home, internet["id"])
    )

    wrong = home.anna.expect(
        422,
        "PATCH",
        f"/api/recurring/{rent['id']}",
        json={"split": {"method": "amounts", "among": [{"user_id": a, "value": "1"}]}},
    )
    assert "split" in wrong["errors"]["json"]
