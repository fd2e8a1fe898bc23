"""/api/categories: create, list, rename, delete (refused while in use, or reassigning)."""

from __future__ import annotations

import json
import uuid

import pytest

from tests.users import SignedInUser

CATEGORY_KEYS = {"id", "name", "icon", "is_default", "created_at"}


def test_create_answers_the_new_category(alice: SignedInUser) -> None:
    response = alice.post("/api/categories", json={"name": "Food", "icon": "🍎"})
    assert response.status_code == 201
    assert set(response.json) == CATEGORY_KEYS
    assert response.json["name"] == "Food"
    assert response.json["icon"] == "🍎"
    assert response.json["is_default"] is False
    assert alice.get(f"/api/categories/{response.json['id']}").json == response.json


def test_icon_is_optional(alice: SignedInUser) -> None:
    assert alice.category("Rent")["icon"] is None


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"name": ""},
        {"name": "x" * 65},
        {"name": None},
        {"name": 5},
        {"name": "nul\x00byte"},
        {"name": "Food", "icon": "x" * 65},
        {"name": "Food", "is_default": True},
        {"name": "Food", "colour": "red"},
    ],
)
def test_invalid_input_is_refused_and_creates_nothing(alice: SignedInUser, body: object) -> None:
    response = alice.post("/api/categories", json=body)
    assert response.status_code == 422
    assert response.json["errors"]["json"]
    assert alice.get("/api/categories").json == []


def test_a_name_of_64_characters_is_fine(alice: SignedInUser) -> None:
    assert alice.category("x" * 64)["name"] == "x" * 64


def test_names_are_unique_per_user(alice: SignedInUser, bob: SignedInUser) -> None:
    alice.category("Food")
    duplicate = alice.post("/api/categories", json={"name": "Food"})
    assert duplicate.status_code == 409
    assert duplicate.json["errors"] == {
        "json": {"name": ["Already used by another of your categories."]}
    }
    assert len(alice.get("/api/categories").json) == 1
    assert bob.category("Food")["name"] == "Food"


def test_list_is_sorted_by_name_and_paginated(alice: SignedInUser) -> None:
    for name in ["Rent", "Food", "Travel", "Gifts"]:
        alice.category(name)
    first = alice.get("/api/categories?page=1&page_size=3")
    assert [category["name"] for category in first.json] == ["Food", "Gifts", "Rent"]
    metadata = json.loads(first.headers["X-Pagination"])
    assert metadata == {
        "total": 4, "total_pages": 2, "first_page": 1, "last_page": 2, "page": 1, "next_page": 2,
        "next_cursor": metadata["next_cursor"],
    }  # fmt: skip
    after = alice.get(f"/api/categories?cursor={metadata['next_cursor']}&page_size=3")
    assert [category["name"] for category in after.json] == ["Travel"]
    assert json.loads(after.headers["X-Pagination"]) == {"total": 4, "next_cursor": None}
    second = alice.get("/api/categories?page=2&page_size=3")
    assert [category["name"] for category in second.json] == ["Travel"]
    assert alice.get("/api/categories?page=99").json == []
    assert alice.get("/api/categories?page=9223372036854775807&page_size=100").json == []


@pytest.mark.parametrize("query", ["page=0", "page_size=0", "page_size=101", "page=abc"])
def test_bad_pagination_is_refused(alice: SignedInUser, query: str) -> None:
    assert alice.get(f"/api/categories?{query}").status_code == 422


def test_rename_and_change_icon(alice: SignedInUser) -> None:
    food = alice.category("Food")
    renamed = alice.patch(f"/api/categories/{food['id']}", json={"name": "Groceries", "icon": "🛒"})
    assert renamed.status_code == 200
    assert (renamed.json["name"], renamed.json["icon"]) == ("Groceries", "🛒")
    cleared = alice.patch(f"/api/categories/{food['id']}", json={"icon": None})
    assert (cleared.json["name"], cleared.json["icon"]) == ("Groceries", None)
    unchanged = alice.patch(f"/api/categories/{food['id']}", json={})
    assert unchanged.json == cleared.json


def test_rename_to_a_taken_name_is_a_conflict(alice: SignedInUser) -> None:
    alice.category("Food")
    rent = alice.category("Rent")
    response = alice.patch(f"/api/categories/{rent['id']}", json={"name": "Food"})
    assert response.status_code == 409
    assert alice.get(f"/api/categories/{rent['id']}").json["name"] == "Rent"


@pytest.mark.parametrize(
    "body", [{"name": ""}, {"name": None}, {"is_default": True}, {"id": str(uuid.uuid4())}]
)
def test_invalid_changes_are_refused(alice: SignedInUser, body: object) -> None:
    food = alice.category("Food")
    assert alice.patch(f"/api/categories/{food['id']}", json=body).status_code == 422
    assert alice.get(f"/api/categories/{food['id']}").json == food


@pytest.mark.parametrize("method", ["GET", "PATCH", "DELETE"])
def test_a_missing_category_is_404(alice: SignedInUser, method: str) -> None:
    response = alice.request(method, f"/api/categories/{uuid.uuid4()}", json={"name": "x"})
    assert response.status_code == 404
    assert response.json["message"] == "category not found"
    assert alice.get("/api/categories/not-a-uuid").status_code == 404


def test_delete_an_unused_category(alice: SignedInUser) -> None:
    food = alice.category("Food")
    assert alice.delete(f"/api/categories/{food['id']}").status_code == 204
    assert alice.get(f"/api/categories/{food['id']}").status_code == 404


def test_delete_is_refused_while_transactions_use_the_category(alice: SignedInUser) -> None:
    food = alice.category("Food")
    alice.transaction(food["id"], "5.00")
    response = alice.delete(f"/api/categories/{food['id']}")
    assert response.status_code == 409
    assert "reassign_to" in response.json["message"]
    assert alice.get(f"/api/categories/{food['id']}").status_code == 200
    assert len(alice.get("/api/transactions").json) == 1


def test_delete_is_refused_while_a_budget_limits_the_category(alice: SignedInUser) -> None:
    food = alice.category("Food")
    alice.budget(limits={food["id"]: "100"})
    assert alice.delete(f"/api/categories/{food['id']}").status_code == 409
    assert alice.get("/api/budgets").json[0]["limits"] != []


def test_delete_with_reassign_moves_transactions_and_drops_limits(alice: SignedInUser) -> None:
    food = alice.category("Food")
    groceries = alice.category("Groceries")
    kept = alice.transaction(groceries["id"], "1.00")
    moved = [alice.transaction(food["id"], amount) for amount in ("2.00", "3.00")]
    budget = alice.budget(limits={food["id"]: "10", groceries["id"]: "20"})
    response = alice.delete(f"/api/categories/{food['id']}?reassign_to={groceries['id']}")
    assert response.status_code == 204
    assert alice.get(f"/api/categories/{food['id']}").status_code == 404
    for transaction in [*moved, kept]:
        assert (
            alice.get(f"/api/transactions/{transaction['id']}").json["category_id"]
            == groceries["id"]
        )
    assert alice.get(f"/api/budgets/{budget['id']}").json["limits"] == [
        {"category_id": groceries["id"], "limit_amount": "20.00"}
    ]


def test_reassign_to_must_be_another_category_of_yours(
    alice: SignedInUser, bob: SignedInUser
) -> None:
    food = alice.category("Food")
    alice.transaction(food["id"], "2.00")
    itself = alice.delete(f"/api/categories/{food['id']}?reassign_to={food['id']}")
    assert itself.status_code == 422
    for target in [uuid.uuid4(), bob.category("Bob's")["id"]]:
        response = alice.delete(f"/api/categories/{food['id']}?reassign_to={target}")
        assert response.status_code == 404
        assert response.json["errors"] == {"query": {"reassign_to": ["No such category."]}}
    assert alice.delete(f"/api/categories/{food['id']}?reassign_to=nope").status_code == 422
    assert len(alice.get(f"/api/transactions?category_id={food['id']}").json) == 1


def test_requests_without_a_valid_token_are_401(alice: SignedInUser) -> None:
    for headers in [{}, {"Authorization": "Bearer nonsense"}, {"Authorization": "Basic x"}]:
        response = alice.client.post("/api/categories", json={"name": ""}, headers=headers)
        assert response.status_code == 401
        assert set(response.json) == {"code", "status", "message", "errors"}
        assert response.headers["WWW-Authenticate"] == "Bearer"
