"""Amounts: strings or JSON numbers in, strings with two decimals out, never through a float."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.users import SignedInUser


def post_raw(client: SignedInUser, path: str, body: str) -> Any:
    return client.post(path, data=body, content_type="application/json")


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        ("12.50", "12.50"),
        ("12.5", "12.50"),
        ("12", "12.00"),
        ("0.01", "0.01"),
        ("0.5", "0.50"),
        ("9999999999.99", "9999999999.99"),
        ("1E+2", "100.00"),
        ("7", "7.00"),
        ("0.07", "0.07"),
        ("1234567890.12", "1234567890.12"),
    ],
)
def test_amounts_as_json_numbers_are_read_exactly(
    alice: SignedInUser, given: str, stored: str
) -> None:
    """The number is spliced into the JSON text as written: a float would turn 0.07 into
    0.07000000000000000666 (three decimals too many) and 1234567890.12 into ...0.1199999."""
    goal = post_raw(alice, "/api/goals", f'{{"name": "Bike", "target_amount": {given}}}')
    assert goal.status_code == 201, goal.json
    assert goal.json["target_amount"] == stored


@pytest.mark.parametrize(
    ("given", "stored"),
    [("12.50", "12.50"), ("12.5", "12.50"), ("12", "12.00"), ("0.01", "0.01"), ("0.10", "0.10")],
)
def test_amounts_as_strings(alice: SignedInUser, given: str, stored: str) -> None:
    goal = alice.post("/api/goals", json={"name": "Bike", "target_amount": given})
    assert goal.status_code == 201, goal.json
    assert goal.json["target_amount"] == stored


@pytest.mark.parametrize(
    "raw_amount",
    [
        '"0"', '"0.00"', "0", "0.0", '"-5"', "-5", '"12.345"', "12.345", '"12.500"', "12.500",
        '"1e3"', '"abc"', '""', '" 12"', '"12 "', '"+12"', '"012"', '"1,5"', '"1_000"',
        '"10000000000"', "10000000000", '"10000000000.00"', "1e400", "true", "false", "null",
        "[]", "{}", '"NaN"', '"Infinity"',
    ],
)  # fmt: skip
def test_invalid_amounts_are_refused_with_422(alice: SignedInUser, raw_amount: str) -> None:
    response = post_raw(alice, "/api/goals", f'{{"name": "Bike", "target_amount": {raw_amount}}}')
    assert response.status_code == 422, response.json
    assert "target_amount" in response.json["errors"]["json"]
    assert alice.get("/api/goals").json == []


@pytest.mark.parametrize(
    "raw_body",
    [
        '{"name": "Bike", "target_amount": NaN}',
        '{"name": "Bike", "target_amount": Infinity}',
        '{"name": "Bike", "target_amount": 1' + "0" * 5000 + "}",
        "[" * 50_000,
        '{"name": "Bike"',
    ],
    ids=["NaN", "Infinity", "integer-too-long", "too-deep", "truncated"],
)
def test_bodies_that_are_not_json_answer_400(alice: SignedInUser, raw_body: str) -> None:
    response = post_raw(alice, "/api/goals", raw_body)
    assert response.status_code == 400
    assert set(response.json) == {"code", "status", "message", "errors"}


def test_a_body_that_is_not_json_at_all_answers_415(alice: SignedInUser) -> None:
    goal = alice.goal()
    response = alice.patch(f"/api/goals/{goal['id']}", data="name=x")
    assert response.status_code == 415
    assert response.json["code"] == 415
    no_body = alice.patch(f"/api/goals/{goal['id']}")
    assert no_body.status_code == 415


def test_the_response_carries_amounts_as_strings(alice: SignedInUser) -> None:
    response = alice.post("/api/goals", json={"name": "Bike", "target_amount": 3})
    body = json.loads(response.get_data(as_text=True))
    assert body["target_amount"] == "3.00"
    assert body["current_amount"] == "0.00"
