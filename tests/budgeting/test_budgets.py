"""/api/budgets: one budget per month, a limit per category, copied from the previous budget."""

from __future__ import annotations

import uuid

import pytest

from tests.users import SignedInUser

BUDGET_KEYS = {"id", "month", "year", "limits", "created_at", "updated_at"}


def test_create_with_limits(alice: SignedInUser) -> None:
    food = alice.category("Food")
    rent = alice.category("Rent")
    response = alice.post(
        "/api/budgets",
        json={
            "year": 2024,
            "month": 3,
            "limits": [
                {"category_id": food["id"], "limit_amount": "250.5"},
                {"category_id": rent["id"], "limit_amount": 900},
            ],
        },
    )
    assert response.status_code == 201
    assert set(response.json) == BUDGET_KEYS
    assert (response.json["year"], response.json["month"]) == (2024, 3)
    assert sorted(response.json["limits"], key=lambda limit: limit["category_id"]) == sorted(
        [
            {"category_id": food["id"], "limit_amount": "250.50"},
            {"category_id": rent["id"], "limit_amount": "900.00"},
        ],
        key=lambda limit: limit["category_id"],
    )
    assert alice.get(f"/api/budgets/{response.json['id']}").json == response.json


def test_one_budget_per_month(alice: SignedInUser, bob: SignedInUser) -> None:
    alice.budget(2024, 3)
    again = alice.post("/api/budgets", json={"year": 2024, "month": 3})
    assert again.status_code == 409
    assert len(alice.get("/api/budgets").json) == 1
    assert alice.budget(2024, 4)["month"] == 4
    assert bob.budget(2024, 3)["month"] == 3


@pytest.mark.parametrize(
    "body",
    [
        {"year": 2024},
        {"month": 3},
        {"year": 2024, "month": 0},
        {"year": 2024, "month": 13},
        {"year": 1999, "month": 1},
        {"year": 2101, "month": 1},
        {"year": 2024, "month": "3"},
        {"year": 2024, "month": 3.0},
        {"year": 2024, "month": True},
        {"year": 2024, "month": 3, "copy_from": "next"},
        {"year": 2024, "month": 3, "limits": [{"category_id": "nope", "limit_amount": "1"}]},
        {"year": 2024, "month": 3, "limits": [{"limit_amount": "1"}]},
        {"year": 2024, "month": 3, "name": "March"},
    ],
)
def test_invalid_input_is_refused(alice: SignedInUser, body: dict[str, object]) -> None:
    response = alice.post("/api/budgets", json=body)
    assert response.status_code == 422, response.json
    assert alice.get("/api/budgets").json == []


@pytest.mark.parametrize("amount", ["0", "-1", "1.234", "10000000000", None])
def test_invalid_limit_amounts_are_refused(alice: SignedInUser, amount: object) -> None:
    food = alice.category("Food")
    body = {
        "year": 2024,
        "month": 3,
        "limits": [{"category_id": food["id"], "limit_amount": amount}],
    }
    assert alice.post("/api/budgets", json=body).status_code == 422


def test_one_limit_per_category(alice: SignedInUser) -> None:
    food = alice.category("Food")
    limit = {"category_id": food["id"], "limit_amount": "10"}
    response = alice.post("/api/budgets", json={"year": 2024, "month": 3, "limits": [limit, limit]})
    assert response.status_code == 422
    assert response.json["errors"]["json"]["limits"] == ["At most one limit per category."]


def test_a_limit_on_a_category_that_is_not_yours_is_404(
    alice: SignedInUser, bob: SignedInUser
) -> None:
    food = alice.category("Food")
    bobs = bob.category("Food")
    response = alice.post(
        "/api/budgets",
        json={
            "year": 2024,
            "month": 3,
            "limits": [
                {"category_id": food["id"], "limit_amount": "10"},
                {"category_id": bobs["id"], "limit_amount": "10"},
            ],
        },
    )
    assert response.status_code == 404
    assert response.json["errors"] == {
        "json": {"limits": {"1": {"category_id": ["No such category."]}}}
    }
    assert alice.get("/api/budgets").json == []


def test_copy_from_previous_takes_the_latest_earlier_budget(alice: SignedInUser) -> None:
    food = alice.category("Food")
    rent = alice.category("Rent")
    alice.budget(2023, 11, limits={food["id"]: "1"})
    alice.budget(2024, 1, limits={food["id"]: "100", rent["id"]: "900"})
    alice.budget(2024, 6, limits={food["id"]: "5"})
    march = alice.budget(2024, 3, copy_from="previous", limits={rent["id"]: "950"})
    assert {limit["category_id"]: limit["limit_amount"] for limit in march["limits"]} == {
        food["id"]: "100.00",
        rent["id"]: "950.00",
    }


def test_copy_from_previous_without_an_earlier_budget_starts_empty(
    alice: SignedInUser, bob: SignedInUser
) -> None:
    bobs_food = bob.category("Food")
    bob.budget(2024, 1, limits={bobs_food["id"]: "100"})
    alice.budget(2024, 6)
    assert alice.budget(2024, 3, copy_from="previous")["limits"] == []


def test_list_newest_first_and_by_year(alice: SignedInUser) -> None:
    for year, month in [(2023, 12), (2024, 2), (2024, 1), (2025, 1)]:
        alice.budget(year, month)
    listed = alice.get("/api/budgets").json
    assert [(b["year"], b["month"]) for b in listed] == [
        (2025, 1),
        (2024, 2),
        (2024, 1),
        (2023, 12),
    ]
    of_2024 = alice.get("/api/budgets?year=2024").json
    assert [(b["year"], b["month"]) for b in of_2024] == [(2024, 2), (2024, 1)]
    assert alice.get("/api/budgets?year=1999").status_code == 422
    assert alice.get("/api/budgets?page_size=2").headers["X-Pagination"]


def test_delete_a_budget_and_its_limits(alice: SignedInUser) -> None:
    food = alice.category("Food")
    budget = alice.budget(limits={food["id"]: "10"})
    assert alice.delete(f"/api/budgets/{budget['id']}").status_code == 204
    assert alice.get(f"/api/budgets/{budget['id']}").status_code == 404
    assert alice.delete(f"/api/budgets/{budget['id']}").status_code == 404
    summary = alice.get("/api/budgets/summary?year=2024&month=3").json
    assert summary["categories"] == []
    assert alice.delete(f"/api/categories/{food['id']}").status_code == 204


def test_put_creates_then_changes_a_limit(alice: SignedInUser) -> None:
    food = alice.category("Food")
    budget = alice.budget()
    path = f"/api/budgets/{budget['id']}/limits/{food['id']}"
    created = alice.put(path, json={"limit_amount": "40"})
    assert created.status_code == 200
    assert created.json["limits"] == [{"category_id": food["id"], "limit_amount": "40.00"}]
    assert created.json["updated_at"] > budget["updated_at"]
    changed = alice.put(path, json={"limit_amount": 35.5})
    assert changed.json["limits"] == [{"category_id": food["id"], "limit_amount": "35.50"}]
    assert changed.json["updated_at"] > created.json["updated_at"]
    assert changed.json["created_at"] == budget["created_at"]


@pytest.mark.parametrize("body", [{}, {"limit_amount": "0"}, {"limit_amount": "1", "x": 1}])
def test_put_refuses_invalid_amounts(alice: SignedInUser, body: dict[str, object]) -> None:
    food = alice.category("Food")
    budget = alice.budget()
    response = alice.put(f"/api/budgets/{budget['id']}/limits/{food['id']}", json=body)
    assert response.status_code == 422
    assert alice.get(f"/api/budgets/{budget['id']}").json == budget


def test_put_needs_your_budget_and_your_category(alice: SignedInUser, bob: SignedInUser) -> None:
    food = alice.category("Food")
    budget = alice.budget()
    for budget_id, category_id in [
        (uuid.uuid4(), food["id"]),
        (budget["id"], uuid.uuid4()),
        (budget["id"], bob.category("Food")["id"]),
    ]:
        response = alice.put(
            f"/api/budgets/{budget_id}/limits/{category_id}", json={"limit_amount": "1"}
        )
        assert response.status_code == 404
    assert alice.get(f"/api/budgets/{budget['id']}").json["limits"] == []


def test_delete_a_limit(alice: SignedInUser) -> None:
    food = alice.category("Food")
    rent = alice.category("Rent")
    budget = alice.budget(limits={food["id"]: "10", rent["id"]: "20"})
    path = f"/api/budgets/{budget['id']}/limits/{food['id']}"
    assert alice.delete(path).status_code == 204
    assert alice.get(f"/api/budgets/{budget['id']}").json["limits"] == [
        {"category_id": rent["id"], "limit_amount": "20.00"}
    ]
    again = alice.delete(path)
    assert again.status_code == 404
    assert again.json["message"] == "this budget has no limit for that category"


def test_a_limit_for_someone_elses_category_is_404_naming_the_path(
    alice: SignedInUser, bob: SignedInUser
) -> None:
    budget = alice.budget()
    theirs = bob.category("Food")
    response = alice.put(
        f"/api/budgets/{budget['id']}/limits/{theirs['id']}", json={"limit_amount": "10.00"}
    )
    assert response.status_code == 404
    assert response.json["errors"] == {"path": {"category_id": ["No such category."]}}
    assert alice.get(f"/api/budgets/{budget['id']}").json["limits"] == []
