"""Each user sees only their own rows: another user's id answers exactly as a missing one."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import psycopg2

from tests.conftest import ServiceDatabases
from tests.users import SignedInUser

Ids = dict[str, str]
# (method, path, body) for the ids of the object under attack and of the attacker's own rows.
Attack = Callable[[Ids, Ids], tuple[str, str, Any]]

ATTACKS: dict[str, Attack] = {
    "get category": lambda a, _: ("GET", f"/api/categories/{a['category']}", None),
    "rename category": lambda a, _: ("PATCH", f"/api/categories/{a['category']}", {"name": "Mine"}),
    "delete category": lambda a, _: ("DELETE", f"/api/categories/{a['category']}", None),
    "delete own category reassigning to theirs": lambda a, b: (
        "DELETE", f"/api/categories/{b['category']}?reassign_to={a['category']}", None,
    ),
    "get budget": lambda a, _: ("GET", f"/api/budgets/{a['budget']}", None),
    "delete budget": lambda a, _: ("DELETE", f"/api/budgets/{a['budget']}", None),
    "set limit": lambda a, _: (
        "PUT", f"/api/budgets/{a['budget']}/limits/{a['category']}", {"limit_amount": "1"},
    ),
    "delete limit": lambda a, _: (
        "DELETE", f"/api/budgets/{a['budget']}/limits/{a['category']}", None,
    ),
    "their category in own budget": lambda a, b: (
        "PUT", f"/api/budgets/{b['budget']}/limits/{a['category']}", {"limit_amount": "1"},
    ),
    "own category in their budget": lambda a, b: (
        "PUT", f"/api/budgets/{a['budget']}/limits/{b['category']}", {"limit_amount": "1"},
    ),
    "budget limiting their category": lambda a, _: (
        "POST", "/api/budgets",
        {"year": 2030, "month": 1, "limits": [{"category_id": a["category"], "limit_amount": "1"}]},
    ),
    "get transaction": lambda a, _: ("GET", f"/api/transactions/{a['transaction']}", None),
    "change transaction": lambda a, _: (
        "PATCH", f"/api/transactions/{a['transaction']}", {"amount": "1"},
    ),
    "delete transaction": lambda a, _: ("DELETE", f"/api/transactions/{a['transaction']}", None),
    "transaction in their category": lambda a, _: (
        "POST", "/api/transactions",
        {"category_id": a["category"], "type": "EXPENSE", "amount": "1", "date": "2024-03-01"},
    ),
    "move own transaction to their category": lambda a, b: (
        "PATCH", f"/api/transactions/{b['transaction']}", {"category_id": a["category"]},
    ),
    "get goal": lambda a, _: ("GET", f"/api/goals/{a['goal']}", None),
    "change goal": lambda a, _: ("PATCH", f"/api/goals/{a['goal']}", {"name": "Mine"}),
    "delete goal": lambda a, _: ("DELETE", f"/api/goals/{a['goal']}", None),
    "contribute to goal": lambda a, _: (
        "POST", f"/api/goals/{a['goal']}/contributions", {"amount": "-1"},
    ),
}  # fmt: skip


def populate(client: SignedInUser) -> Ids:
    category = client.category("Food")
    budget = client.budget(limits={category["id"]: "50"})
    transaction = client.transaction(category["id"], "20.00")
    goal = client.goal(target="100")
    client.post(f"/api/goals/{goal['id']}/contributions", json={"amount": "10"})
    return {
        "category": category["id"],
        "budget": budget["id"],
        "transaction": transaction["id"],
        "goal": goal["id"],
    }


def everything_of(client: SignedInUser) -> dict[str, Any]:
    views = {
        path: client.get(path).json
        for path in [
            "/api/categories", "/api/budgets", "/api/transactions", "/api/goals",
            "/api/budgets/summary?year=2024&month=3",
        ]
    }  # fmt: skip
    views["csv"] = client.get("/api/transactions/export.csv").get_data(as_text=True)
    return views


def test_another_users_id_answers_404_exactly_like_a_missing_one(
    alice: SignedInUser, bob: SignedInUser
) -> None:
    alices = populate(alice)
    bobs = populate(bob)
    before = everything_of(alice)
    bobs_before = everything_of(bob)

    unlike_missing = {}
    for name, attack in ATTACKS.items():
        method, path, body = attack(alices, bobs)
        on_alices = bob.request(method, path, json=body)
        missing = {kind: str(uuid.uuid4()) for kind in alices}
        method, path, body = attack(missing, bobs)
        on_missing = bob.request(method, path, json=body)
        answer, answer_if_missing = (
            on_alices.get_data(as_text=True),
            on_missing.get_data(as_text=True),
        )
        if on_alices.status_code != 404 or answer != answer_if_missing:
            unlike_missing[name] = (on_alices.status_code, answer, answer_if_missing)

    assert unlike_missing == {}
    assert everything_of(alice) == before
    assert everything_of(bob) == bobs_before


def test_lists_summary_and_export_hold_only_your_rows(
    alice: SignedInUser, bob: SignedInUser, test_databases: ServiceDatabases
) -> None:
    alices = populate(alice)
    bobs = populate(bob)
    bob.transaction(bobs["category"], "500.00", kind="INCOME")
    seen = everything_of(alice)
    text = repr(seen)
    for bobs_id in bobs.values():
        assert bobs_id not in text
    assert [category["id"] for category in seen["/api/categories"]] == [alices["category"]]
    assert [transaction["id"] for transaction in seen["/api/transactions"]] == [
        alices["transaction"]
    ]
    summary = seen["/api/budgets/summary?year=2024&month=3"]
    assert (summary["income"], summary["expense"]) == ("0.00", "20.00")
    assert seen["csv"].count("\n") == 2

    # The rule that stands in for transactions.user_id's missing foreign key.
    with psycopg2.connect(test_databases.api_url) as connection, connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM transactions JOIN categories ON categories.id = category_id "
            "WHERE transactions.user_id <> categories.user_id"
        )
        assert cursor.fetchone() == (0,)
    connection.close()
