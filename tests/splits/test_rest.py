"""Paid by, split among, from REST: each method for three members, the ledger's default split,
the balances and settling up, and the splits that are refused with nothing written."""

from __future__ import annotations

import io
from decimal import Decimal
from typing import Any

import pytest

from tests.households.conftest import Sql
from tests.splits.conftest import Household, shares_of, total
from tests.users import SignedInUser


def among(*people: SignedInUser, values: tuple[str, ...] | None = None) -> list[dict[str, Any]]:
    if values is None:
        return [{"user_id": str(person.id)} for person in people]
    return [
        {"user_id": str(person.id), "value": value}
        for person, value in zip(people, values, strict=True)
    ]


def test_each_method_splits_to_the_cent_and_the_balances_follow(home: Household) -> None:
    anna, ben, cleo = home.members
    a, b, c = str(anna.id), str(ben.id), str(cleo.id)

    equal = home.expense(anna, "10.00", split={"method": "equal", "among": among(*home.members)})
    # 10.00 / 3: a cent left over goes by the largest remainder, ties by user id ascending.
    assert sorted(shares_of(equal).values()) == ["3.33", "3.33", "3.34"]
    first = min(a, b, c)
    assert shares_of(equal)[first] == "3.34"
    assert equal["paid_by"] == a
    assert equal["split"]["method"] == "equal"

    shares = home.expense(
        ben,
        "60.00",
        split={"method": "shares", "among": among(anna, ben, cleo, values=("2", "1", "3"))},
    )
    assert shares_of(shares) == {a: "20.00", b: "10.00", c: "30.00"}
    assert shares["paid_by"] == b

    percent = home.expense(
        anna,
        "50.00",
        paid_by=c,
        split={"method": "percent", "among": among(anna, ben, values=("60", "40"))},
    )
    assert shares_of(percent) == {a: "30.00", b: "20.00"}
    assert percent["paid_by"] == c

    amounts = home.expense(
        cleo,
        "25.00",
        split={"method": "amounts", "among": among(anna, ben, cleo, values=("5", "20.00", "0"))},
    )
    # A member left out with 0 owes nothing and keeps no share.
    assert shares_of(amounts) == {a: "5.00", b: "20.00"}

    nets = home.nets()
    # Anna paid 10.00, owes her third of it + 20 + 30 + 5; Ben paid 60, owes his third + 10
    # + 20 + 20; Cleo paid 50 + 25, owes her third + 30.
    third = {person: Decimal(amount) for person, amount in shares_of(equal).items()}
    assert Decimal(nets[a]) == Decimal("10.00") - third[a] - 55
    assert Decimal(nets[b]) == Decimal("60.00") - third[b] - 50
    assert Decimal(nets[c]) == Decimal("75.00") - third[c] - 30
    assert nets[str(home.vic.id)] == "0.00"
    assert total(nets) == 0
    # A viewer reads them too, and the same.
    assert home.nets(home.vic) == nets

    settle_up = home.balances()["settle_up"]
    # Anna owes both: two transfers, each the other's net.
    assert {(t["from"], t["to"], t["amount"]) for t in settle_up} == {
        (a, c, nets[c].lstrip("+")),
        (a, b, nets[b].lstrip("+")),
    }
    for transfer in settle_up:
        payer = next(p for p in home.members if str(p.id) == transfer["from"])
        payee = next(p for p in home.members if str(p.id) == transfer["to"])
        home.settle(anna, payer, payee, transfer["amount"])
    assert set(home.nets().values()) == {"0.00"}
    assert home.balances()["settle_up"] == []


def test_the_ledgers_default_split_applies_when_an_expense_names_none(home: Household) -> None:
    anna, ben, cleo = home.members
    a, b, c = str(anna.id), str(ben.id), str(cleo.id)
    path = f"/api/ledgers/{home.ledger_id}"

    # The default default: the household pays, nobody owes anybody.
    plain = home.expense(ben, "30.00")
    assert plain["split"] is None
    assert plain["shares"] == []
    assert set(home.nets().values()) == {"0.00"}
    assert anna.expect(200, "GET", path)["default_split"] is None

    ben.expect(403, "PATCH", path, json={"default_split": {"method": "equal"}})
    ledger = anna.expect(200, "PATCH", path, json={"default_split": {"method": "equal"}})
    assert ledger["default_split"] == {"method": "equal", "among": []}
    # Equal among the owner and members: the viewer owes nothing.
    equal = home.expense(ben, "30.00")
    assert shares_of(equal) == {a: "10.00", b: "10.00", c: "10.00"}
    assert equal["split"]["method"] == "equal"

    anna.expect(
        200,
        "PATCH",
        path,
        json={
            "default_split": {"method": "percent", "among": among(anna, ben, values=("60", "40"))}
        },
    )
    couple = home.expense(anna, "100.00")
    assert shares_of(couple) == {a: "60.00", b: "40.00"}
    # An expense may still say otherwise, or say it is not split at all.
    assert home.expense(anna, "100.00", split=None)["shares"] == []

    refused = anna.expect(
        422,
        "PATCH",
        path,
        json={"default_split": {"method": "percent", "among": among(anna, values=("90",))}},
    )
    assert "default_split" in refused["errors"]["json"]
    anna.expect(200, "PATCH", path, json={"default_split": None})
    assert home.expense(anna, "5.00")["shares"] == []


def test_editing_or_deleting_an_expense_recomputes_its_shares(home: Household) -> None:
    anna, ben, cleo = home.members
    a, b, c = str(anna.id), str(ben.id), str(cleo.id)
    spent = home.expense(anna, "30.00", split={"method": "equal", "among": among(*home.members)})
    path = f"/api/transactions/{spent['id']}"

    changed = ben.expect(200, "PATCH", path, json={"amount": "60.00"})
    assert shares_of(changed) == {a: "20.00", b: "20.00", c: "20.00"}
    assert home.nets()[a] == "+40.00"

    moved = ben.expect(200, "PATCH", path, json={"paid_by": b})
    assert moved["paid_by"] == b
    assert home.nets() == {a: "-20.00", b: "+40.00", c: "-20.00", str(home.vic.id): "0.00"}

    regrouped = ben.expect(
        200, "PATCH", path, json={"split": {"method": "equal", "among": among(anna, cleo)}}
    )
    assert shares_of(regrouped) == {a: "30.00", c: "30.00"}
    assert ben.expect(200, "GET", path) == regrouped
    listed = ben.expect(200, "GET", f"/api/transactions?ledger_id={home.ledger_id}")
    assert listed == [regrouped]

    # An amounts split that no longer adds up says so, and nothing changes.
    exact = ben.expect(
        200,
        "PATCH",
        path,
        json={"split": {"method": "amounts", "among": among(anna, cleo, values=("10", "50"))}},
    )
    refused = ben.expect(422, "PATCH", path, json={"amount": "70.00"})
    assert "70.00" in refused["message"]
    assert ben.expect(200, "GET", path) == exact

    ben.expect(200, "PATCH", path, json={"split": None})
    assert set(home.nets().values()) == {"0.00"}
    home.expense(anna, "9.00", split={"method": "equal", "among": among(*home.members)})
    anna.expect(204, "DELETE", path)
    assert home.nets()[a] == "+6.00"
    spent_again = home.expense(anna, "9.00", split={"method": "equal", "among": among(ben)})
    anna.expect(204, "DELETE", f"/api/transactions/{spent_again['id']}")
    assert home.nets()[b] == "-3.00"


@pytest.mark.parametrize(
    ("split", "field", "words"),
    [
        ({"method": "percent", "among": "percent-90"}, "among", "not 100"),
        ({"method": "amounts", "among": "amounts-wrong"}, "among", "not 30.00"),
        ({"method": "equal", "among": "nobody"}, "among", "between 1 and"),
        ({"method": "equal", "among": "outsider"}, "among", "not a member"),
        ({"method": "thirds", "among": "everyone"}, "method", "Must be one of"),
    ],
)
def test_an_invalid_split_is_refused_naming_it_and_nothing_is_written(
    home: Household,
    sign_up: Any,
    api_sql: Sql,
    split: dict[str, Any],
    field: str,
    words: str,
) -> None:
    anna, ben, _cleo = home.members
    outsider = sign_up()
    people = {
        "percent-90": among(anna, ben, values=("50", "40")),
        "amounts-wrong": among(anna, ben, values=("10", "10")),
        "outsider": among(anna, outsider),
        "everyone": among(*home.members),
        "nobody": [],
    }
    body = {**split, "among": people.get(split["among"], split["among"])}
    refused = home.expense(anna, "30.00", status=422, split=body)
    assert refused["code"] == 422
    problems = refused["errors"]["json"]["split"][field]
    assert words in str(problems)
    count = api_sql("SELECT count(*) FROM transactions WHERE ledger_id = %s", (home.ledger_id,))
    assert count == [(0,)]


def test_personal_ledgers_incomes_and_strangers_are_not_split(
    home: Household, sign_up: Any
) -> None:
    anna, ben, _ = home.members
    split = {"method": "equal", "among": among(anna)}
    personal = anna.expect(
        422,
        "POST",
        "/api/transactions",
        json={
            "category_id": anna.category_id("Food"),
            "type": "EXPENSE",
            "amount": "5",
            "date": "2026-11-10",
            "split": split,
        },
    )
    assert "personal" in personal["message"]
    assert "split" in personal["errors"]["json"]
    income = home.expense(anna, "5.00", status=422, type="INCOME", split=split)
    assert "income" in income["message"]
    stranger = home.expense(anna, "5.00", status=422, paid_by=str(sign_up().id))
    assert "paid_by" in stranger["errors"]["json"]
    # An income of a shared ledger is simply not split.
    assert home.expense(ben, "5.00", type="INCOME")["shares"] == []


def test_settlements_are_listed_read_deleted_and_never_count_as_spending(
    home: Household,
) -> None:
    anna, ben, cleo = home.members
    base = f"/api/ledgers/{home.ledger_id}/settlements"
    home.expense(anna, "30.00", split={"method": "equal", "among": among(*home.members)})
    paid = home.settle(ben, ben, anna, "10.00")
    assert paid["amount"] == "10.00"
    assert paid["created_by"] == str(ben.id)
    assert anna.expect(200, "GET", f"{base}/{paid['id']}") == paid
    assert home.vic.expect(200, "GET", base) == [paid]
    assert home.nets()[str(ben.id)] == "0.00"

    summary = anna.expect(
        200, "GET", f"/api/budgets/summary?year=2026&month=11&ledger_id={home.ledger_id}"
    )
    assert summary["expense"] == "30.00"
    assert summary["income"] == "0.00"
    report = anna.expect(
        200, "GET", f"/api/reports/monthly?year=2026&month=11&ledger_id={home.ledger_id}"
    )
    assert "10.00" not in str(report)
    export = anna.get(f"/api/transactions/export.csv?ledger_id={home.ledger_id}")
    assert export.data.decode().count("\n") == 2  # the header and the one expense

    home.vic.expect(403, "POST", base, json={**_settlement(ben, anna)})
    home.vic.expect(403, "DELETE", f"{base}/{paid['id']}")
    same = anna.expect(422, "POST", base, json={**_settlement(anna, anna)})
    assert "to_user_id" in same["errors"]["json"]
    cleo.expect(204, "DELETE", f"{base}/{paid['id']}")
    cleo.expect(404, "GET", f"{base}/{paid['id']}")
    assert home.nets()[str(ben.id)] == "-10.00"


def test_an_outsider_sees_no_balances_or_settlements(home: Household, sign_up: Any) -> None:
    outsider = sign_up()
    outsider.expect(404, "GET", f"/api/ledgers/{home.ledger_id}/balances")
    outsider.expect(404, "GET", f"/api/ledgers/{home.ledger_id}/settlements")
    outsider.expect(
        404,
        "POST",
        f"/api/ledgers/{home.ledger_id}/settlements",
        json=_settlement(home.anna, home.ben),
    )


def _settlement(payer: SignedInUser, payee: SignedInUser) -> dict[str, str]:
    return {
        "from_user_id": str(payer.id),
        "to_user_id": str(payee.id),
        "amount": "1.00",
        "date": "2026-11-12",
    }


def test_nets_add_up_to_zero_whatever_the_amounts(home: Household) -> None:
    anna, ben, cleo = home.members
    for amount in ("0.01", "0.02", "1.00", "9999.99", "100.01"):
        home.expense(cleo, amount, split={"method": "equal", "among": among(*home.members)})
        home.expense(
            ben,
            amount,
            split={"method": "shares", "among": among(anna, cleo, values=("1", "2"))},
        )
    assert total(home.nets()) == Decimal(0)


def test_an_import_into_a_shared_ledger_takes_its_default_split(home: Household) -> None:
    anna, ben, cleo = home.members
    home.anna.expect(
        200, "PATCH", f"/api/ledgers/{home.ledger_id}", json={"default_split": {"method": "equal"}}
    )
    statement = (
        b"date,amount,description,category\n2026-11-03,-9.00,milk,Food\n2026-11-04,100,gift,Food\n"
    )
    imported = ben.post(
        "/api/transactions/import",
        data={"file": (io.BytesIO(statement), "s.csv"), "ledger_id": home.ledger_id},
        content_type="multipart/form-data",
    )
    assert imported.status_code == 200, imported.get_json()
    listed = ben.expect(200, "GET", f"/api/transactions?ledger_id={home.ledger_id}")
    milk = next(t for t in listed if t["description"] == "milk")
    gift = next(t for t in listed if t["description"] == "gift")
    assert shares_of(milk) == {str(p.id): "3.00" for p in (anna, ben, cleo)}
    assert milk["paid_by"] == str(ben.id)
    assert gift["shares"] == []
    assert home.nets()[str(ben.id)] == "+6.00"
