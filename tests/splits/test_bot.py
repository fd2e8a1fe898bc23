"""The group chat's side of splits: /spent by the ledger's default, @all, `for Ben`; every reply
says the split it applied; /balance agrees with the balances endpoint; /settle records a
repayment; display names are unique within the ledgers people share."""

from __future__ import annotations

from flask import Flask

from tests.households.test_bot import command
from tests.splits.conftest import Household, shares_of


def name(home: Household) -> None:
    for person, display_name in zip(home.members, ("Anna", "Ben", "Cleo"), strict=True):
        person.expect(200, "PATCH", "/api/users/me", json={"display_name": display_name})


def only(home: Household) -> dict[str, str]:
    [latest, *_] = home.anna.expect(200, "GET", f"/api/transactions?ledger_id={home.ledger_id}")
    return shares_of(latest)


def test_spent_splits_by_default_at_all_or_for_someone(api: Flask, home: Household) -> None:
    name(home)
    anna, ben, cleo = home.members
    a, b, c = str(anna.id), str(ben.id), str(cleo.id)
    group = home.ledger_id

    plain = command(api, ben, "spent", "60 food groceries", group=group)
    assert plain["text"].endswith("Not split: the household pays.")
    assert only(home) == {}

    everyone = command(api, ben, "spent", "60 food groceries @all", group=group)
    assert everyone["text"].startswith("Spent: 60.00 (groceries)")
    assert "Paid by Ben, split: " in everyone["text"]
    assert only(home) == {a: "20.00", b: "20.00", c: "20.00"}

    for_cleo = command(api, anna, "spent", "45 food cake for cleo", group=group)
    assert for_cleo["text"].startswith("Spent: 45.00 (cake)")
    assert for_cleo["text"].endswith("Paid by Anna, split: Cleo 45.00")
    assert only(home) == {c: "45.00"}

    anna.expect(
        200,
        "PATCH",
        f"/api/ledgers/{group}",
        json={"default_split": {"method": "shares", "among": [
            {"user_id": a, "value": "1"}, {"user_id": b, "value": "2"}
        ]}},
    )  # fmt: skip
    by_default = command(api, cleo, "spent", "30 food", group=group)
    assert by_default["text"].endswith("Paid by Cleo, split: " + _two(home, "10.00", "20.00"))

    balance = command(api, cleo, "balance", group=group)["text"]
    nets = home.nets()
    assert balance.startswith("Who owes whom in Home:")
    for person, display_name in zip(home.members, ("Anna", "Ben", "Cleo"), strict=True):
        assert f"{display_name}: {nets[str(person.id)]}" in balance
    assert "To settle up:" in balance
    transfers = home.balances()["settle_up"]
    assert len(transfers) == balance.count(" pays ")


def _two(home: Household, anna_share: str, ben_share: str) -> str:
    """The shares line lists members in user id order."""
    named = sorted(
        [(str(home.anna.id), f"Anna {anna_share}"), (str(home.ben.id), f"Ben {ben_share}")]
    )
    return ", ".join(text for _, text in named)


def test_settle_records_that_the_sender_paid_someone_back(api: Flask, home: Household) -> None:
    name(home)
    anna, ben, _ = home.members
    group = home.ledger_id
    command(api, anna, "spent", "30 food for Ben", group=group)
    assert home.nets()[str(ben.id)] == "-30.00"

    settled = command(api, ben, "settle", "30 anna", group=group)
    assert settled["text"].startswith("Recorded: you paid Anna back 30.00.")
    assert "Everyone is even." in settled["text"]
    assert set(home.nets().values()) == {"0.00"}
    [settlement] = anna.expect(200, "GET", f"/api/ledgers/{group}/settlements")
    assert (settlement["from_user_id"], settlement["to_user_id"]) == (str(ben.id), str(anna.id))

    unknown = command(api, ben, "settle", "5 Zoe", group=group)
    assert unknown["text"].startswith("No one here is called that.")
    assert command(api, ben, "settle", "five Anna", group=group)["text"].startswith(
        "Write it like this: /settle"
    )
    viewer = command(api, home.vic, "settle", "5 Anna", group=group)
    assert viewer["text"].startswith("You may only read this ledger")
    personal = command(api, ben, "balance")
    assert personal["text"].startswith("Nobody owes anybody in a personal ledger")


def test_display_names_are_unique_within_shared_ledgers(home: Household, sign_up: object) -> None:
    from tests.households.conftest import invite, join

    name(home)
    refused = home.cleo.expect(409, "PATCH", "/api/users/me", json={"display_name": "ANNA"})
    assert "display_name" in refused["errors"]["json"]
    # Someone who shares no ledger with Anna may be called that.
    stranger = sign_up()  # type: ignore[operator]
    stranger.expect(200, "PATCH", "/api/users/me", json={"display_name": "anna"})
    # ... until they join hers: refused, naming why.
    code = invite(home.anna, home.ledger_id)
    refused_join = stranger.expect(409, "POST", "/api/ledgers/join", json={"code": code})
    assert "anna" in refused_join["message"]
    stranger.expect(200, "PATCH", "/api/users/me", json={"display_name": "Anna B"})
    join(stranger, code)
