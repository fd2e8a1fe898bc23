"""/api/goals: savings goals, their progress, contributions and withdrawals."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from tests.users import SignedInUser

GOAL_KEYS = {
    "id", "name", "target_amount", "current_amount", "remaining", "progress_percent", "reached",
    "deadline", "created_at", "updated_at",
}  # fmt: skip


def contribute(client: SignedInUser, goal: dict[str, Any], amount: Any) -> Any:
    return client.post(f"/api/goals/{goal['id']}/contributions", json={"amount": amount})


def test_create_a_goal(alice: SignedInUser) -> None:
    response = alice.post(
        "/api/goals", json={"name": "Bike", "target_amount": "300", "deadline": "2024-12-24"}
    )
    assert response.status_code == 201
    assert set(response.json) == GOAL_KEYS
    assert {key: response.json[key] for key in GOAL_KEYS - {"id", "created_at", "updated_at"}} == {
        "name": "Bike",
        "target_amount": "300.00",
        "current_amount": "0.00",
        "remaining": "300.00",
        "progress_percent": 0.0,
        "reached": False,
        "deadline": "2024-12-24",
    }
    assert alice.get(f"/api/goals/{response.json['id']}").json == response.json
    assert alice.goal("No deadline")["deadline"] is None


@pytest.mark.parametrize(
    "body",
    [
        {"name": "Bike"},
        {"target_amount": "10"},
        {"name": "", "target_amount": "10"},
        {"name": "x" * 101, "target_amount": "10"},
        {"name": "Bike", "target_amount": "0"},
        {"name": "Bike", "target_amount": "-10"},
        {"name": "Bike", "target_amount": "10", "deadline": "next year"},
        {"name": "Bike", "target_amount": "10", "current_amount": "5"},
    ],
)
def test_invalid_input_is_refused(alice: SignedInUser, body: dict[str, Any]) -> None:
    assert alice.post("/api/goals", json=body).status_code == 422
    assert alice.get("/api/goals").json == []


def test_contributions_and_progress(alice: SignedInUser) -> None:
    goal = alice.goal(target="100.00")
    first = contribute(alice, goal, "33.33")
    assert first.status_code == 200
    assert (first.json["current_amount"], first.json["remaining"]) == ("33.33", "66.67")
    assert (first.json["progress_percent"], first.json["reached"]) == (33.33, False)
    assert first.json["updated_at"] > goal["updated_at"]
    exactly = contribute(alice, goal, 66.67).json
    assert (exactly["current_amount"], exactly["remaining"]) == ("100.00", "0.00")
    assert (exactly["progress_percent"], exactly["reached"]) == (100.0, True)
    beyond = contribute(alice, goal, "50").json
    assert (beyond["current_amount"], beyond["remaining"]) == ("150.00", "0.00")
    assert (beyond["progress_percent"], beyond["reached"]) == (150.0, True)


def test_one_cent_short_is_not_reached(alice: SignedInUser) -> None:
    goal = alice.goal(target="100.00")
    almost = contribute(alice, goal, "99.99").json
    assert (almost["reached"], almost["remaining"], almost["progress_percent"]) == (
        False, "0.01", 99.99,
    )  # fmt: skip


def test_withdrawals_never_go_below_zero(alice: SignedInUser) -> None:
    goal = alice.goal(target="100.00")
    contribute(alice, goal, "30.00")
    too_much = contribute(alice, goal, "-30.01")
    assert too_much.status_code == 422
    assert too_much.json["errors"] == {"json": {"amount": ["At most 30.00 can be withdrawn."]}}
    assert alice.get(f"/api/goals/{goal['id']}").json["current_amount"] == "30.00"
    emptied = contribute(alice, goal, "-30")
    assert emptied.status_code == 200
    assert emptied.json["current_amount"] == "0.00"


@pytest.mark.parametrize("amount", ["0", "0.00", 0, "-0", "1.001", "abc", None, "10000000000"])
def test_invalid_contributions_are_refused(alice: SignedInUser, amount: Any) -> None:
    goal = alice.goal()
    response = contribute(alice, goal, amount)
    assert response.status_code == 422
    assert "amount" in response.json["errors"]["json"]
    assert alice.get(f"/api/goals/{goal['id']}").json == goal


def test_the_saved_amount_cannot_exceed_what_can_be_stored(alice: SignedInUser) -> None:
    goal = alice.goal(target="9999999999.99")
    assert contribute(alice, goal, "9999999999.99").status_code == 200
    response = contribute(alice, goal, "0.01")
    assert response.status_code == 422
    assert alice.get(f"/api/goals/{goal['id']}").json["current_amount"] == "9999999999.99"


def test_change_name_target_and_deadline(alice: SignedInUser) -> None:
    goal = alice.goal(target="100.00", deadline="2024-12-24")
    contribute(alice, goal, "60")
    changed = alice.patch(
        f"/api/goals/{goal['id']}", json={"name": "E-bike", "target_amount": "60", "deadline": None}
    )
    assert changed.status_code == 200
    assert (changed.json["name"], changed.json["deadline"]) == ("E-bike", None)
    assert (changed.json["target_amount"], changed.json["reached"]) == ("60.00", True)
    assert changed.json["current_amount"] == "60.00"


@pytest.mark.parametrize(
    "body",
    [{"current_amount": "5"}, {"target_amount": "0"}, {"name": ""}, {"deadline": "soon"}],
)
def test_invalid_changes_change_nothing(alice: SignedInUser, body: dict[str, Any]) -> None:
    goal = alice.goal()
    assert alice.patch(f"/api/goals/{goal['id']}", json=body).status_code == 422
    assert alice.get(f"/api/goals/{goal['id']}").json == goal


def test_delete_and_list(alice: SignedInUser) -> None:
    older = alice.goal("Bike")
    newer = alice.goal("Trip")
    assert [goal["id"] for goal in alice.get("/api/goals").json] == [newer["id"], older["id"]]
    assert alice.delete(f"/api/goals/{older['id']}").status_code == 204
    assert alice.get(f"/api/goals/{older['id']}").status_code == 404
    assert contribute(alice, older, "1").status_code == 404
    assert [goal["id"] for goal in alice.get("/api/goals").json] == [newer["id"]]


@pytest.mark.parametrize(
    ("method", "suffix", "body"),
    [("GET", "", None), ("PATCH", "", {}), ("DELETE", "", None),
     ("POST", "/contributions", {"amount": "1"})],
)  # fmt: skip
def test_a_missing_goal_is_404(alice: SignedInUser, method: str, suffix: str, body: Any) -> None:
    response = alice.request(method, f"/api/goals/{uuid.uuid4()}{suffix}", json=body)
    assert response.status_code == 404
    assert response.json["message"] == "goal not found"
