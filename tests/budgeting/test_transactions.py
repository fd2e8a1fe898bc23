"""/api/transactions: record, change, delete, list with filters, export as CSV."""

from __future__ import annotations

import csv
import io
import json
import uuid
from typing import Any

import psycopg2
import pytest

from tests.conftest import ServiceDatabases
from tests.users import SignedInUser

TRANSACTION_KEYS = {
    "id", "category_id", "type", "amount", "date", "description", "recurring_id", "created_by",
    "created_at", "paid_by", "split", "shares",
}  # fmt: skip

# An id the client may not choose; fixed, so that every test process collects the same tests.
CLIENT_CHOSEN_ID = "7d1b7f0e-5a53-4c4e-9e0b-2f8f3b8c1a01"


def test_record_an_expense(alice: SignedInUser) -> None:
    food = alice.category("Food")
    response = alice.post(
        "/api/transactions",
        json={
            "category_id": food["id"],
            "type": "EXPENSE",
            "amount": "12.5",
            "date": "2024-03-15",
            "description": "Market",
        },
    )
    assert response.status_code == 201
    assert set(response.json) == TRANSACTION_KEYS
    assert response.json["amount"] == "12.50"
    assert (response.json["type"], response.json["date"]) == ("EXPENSE", "2024-03-15")
    assert response.json["description"] == "Market"
    assert alice.get(f"/api/transactions/{response.json['id']}").json == response.json


@pytest.mark.parametrize("given", ["income", "Income", "iNcOmE", "INCOME"])
def test_type_is_case_insensitive_and_answered_upper_case(alice: SignedInUser, given: str) -> None:
    salary = alice.category("Salary")
    assert alice.transaction(salary["id"], "100", kind=given)["type"] == "INCOME"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("type", "TRANSFER"),
        ("type", ""),
        ("type", None),
        ("type", 1),
        ("date", "2024-3-5"),
        ("date", "20240305"),
        ("date", "2024-02-30"),
        ("date", "2024-03-05T10:00:00"),
        ("date", "05.03.2024"),
        ("date", None),
        ("description", "x" * 501),
        ("description", "nul\x00"),
        ("category_id", "not-a-uuid"),
        ("amount", "-3"),
        ("amount", "0"),
        ("user_id", CLIENT_CHOSEN_ID),
        ("id", CLIENT_CHOSEN_ID),
    ],
)
def test_invalid_input_is_refused_and_records_nothing(
    alice: SignedInUser, field: str, value: Any
) -> None:
    food = alice.category("Food")
    body = {"category_id": food["id"], "type": "EXPENSE", "amount": "1", "date": "2024-03-05"}
    response = alice.post("/api/transactions", json={**body, field: value})
    assert response.status_code == 422, response.json
    assert field in response.json["errors"]["json"]
    assert alice.get("/api/transactions").json == []


@pytest.mark.parametrize("missing", ["category_id", "type", "amount", "date"])
def test_required_fields(alice: SignedInUser, missing: str) -> None:
    food = alice.category("Food")
    body = {"category_id": food["id"], "type": "EXPENSE", "amount": "1", "date": "2024-03-05"}
    del body[missing]
    assert alice.post("/api/transactions", json=body).status_code == 422


def test_description_is_optional_up_to_500_characters(alice: SignedInUser) -> None:
    food = alice.category("Food")
    assert alice.transaction(food["id"], "1")["description"] is None
    assert alice.transaction(food["id"], "1", description="x" * 500)["description"] == "x" * 500


def test_the_category_must_be_yours(alice: SignedInUser, bob: SignedInUser) -> None:
    for category_id in [bob.category("Food")["id"], str(uuid.uuid4())]:
        response = alice.post(
            "/api/transactions",
            json={
                "category_id": category_id,
                "type": "EXPENSE",
                "amount": "1",
                "date": "2024-03-05",
            },
        )
        assert response.status_code == 404
        assert response.json["errors"] == {"json": {"category_id": ["No such category."]}}
    assert alice.get("/api/transactions").json == []
    assert bob.get("/api/transactions").json == []


def test_change_any_field(alice: SignedInUser) -> None:
    food = alice.category("Food")
    salary = alice.category("Salary")
    original = alice.transaction(food["id"], "5.00", description="lunch")
    changes = {
        "category_id": salary["id"],
        "type": "income",
        "amount": 2500,
        "date": "2024-04-01",
        "description": None,
    }
    changed = alice.patch(f"/api/transactions/{original['id']}", json=changes)
    assert changed.status_code == 200
    assert changed.json == {
        **original,
        "category_id": salary["id"],
        "type": "INCOME",
        "amount": "2500.00",
        "date": "2024-04-01",
        "description": None,
    }


@pytest.mark.parametrize(
    "body",
    [{"amount": "0"}, {"type": "x"}, {"date": "tomorrow"}, {"user_id": str(uuid.uuid4())}],
)
def test_invalid_changes_change_nothing(alice: SignedInUser, body: dict[str, Any]) -> None:
    food = alice.category("Food")
    original = alice.transaction(food["id"], "5.00")
    assert alice.patch(f"/api/transactions/{original['id']}", json=body).status_code == 422
    assert alice.get(f"/api/transactions/{original['id']}").json == original


def test_moving_to_a_category_that_is_not_yours_is_404(
    alice: SignedInUser, bob: SignedInUser
) -> None:
    food = alice.category("Food")
    original = alice.transaction(food["id"], "5.00")
    response = alice.patch(
        f"/api/transactions/{original['id']}", json={"category_id": bob.category("Food")["id"]}
    )
    assert response.status_code == 404
    assert alice.get(f"/api/transactions/{original['id']}").json == original


def test_delete(alice: SignedInUser) -> None:
    food = alice.category("Food")
    transaction = alice.transaction(food["id"], "5.00")
    assert alice.delete(f"/api/transactions/{transaction['id']}").status_code == 204
    for method in ["GET", "PATCH", "DELETE"]:
        response = alice.request(method, f"/api/transactions/{transaction['id']}", json={})
        assert response.status_code == 404


def make_history(client: SignedInUser) -> dict[str, Any]:
    food = client.category("Food")
    salary = client.category("Salary")
    return {
        "food": food,
        "salary": salary,
        "early": client.transaction(food["id"], "1.00", "2024-01-31"),
        "first": client.transaction(food["id"], "2.00", "2024-02-01"),
        "paid": client.transaction(salary["id"], "100.00", "2024-02-15", kind="INCOME"),
        "later_same_day": client.transaction(food["id"], "3.00", "2024-02-15"),
        "last": client.transaction(food["id"], "4.00", "2024-02-29"),
        "after": client.transaction(food["id"], "5.00", "2024-03-01"),
    }


def ids(response: Any) -> list[str]:
    return [item["id"] for item in response.json]


def test_list_is_newest_date_first_then_newest_created(alice: SignedInUser) -> None:
    h = make_history(alice)
    assert ids(alice.get("/api/transactions")) == [
        h[name]["id"] for name in ["after", "last", "later_same_day", "paid", "first", "early"]
    ]


def test_filters_combine_and_dates_are_inclusive(alice: SignedInUser) -> None:
    h = make_history(alice)
    february = alice.get("/api/transactions?from=2024-02-01&to=2024-02-29")
    assert ids(february) == [h[n]["id"] for n in ["last", "later_same_day", "paid", "first"]]
    expenses = alice.get("/api/transactions?from=2024-02-01&to=2024-02-29&type=expense")
    assert ids(expenses) == [h[n]["id"] for n in ["last", "later_same_day", "first"]]
    income = alice.get(f"/api/transactions?category_id={h['salary']['id']}")
    assert ids(income) == [h["paid"]["id"]]
    assert ids(alice.get("/api/transactions?to=2024-01-31")) == [h["early"]["id"]]
    assert ids(alice.get("/api/transactions?from=2024-03-01")) == [h["after"]["id"]]
    assert alice.get(f"/api/transactions?category_id={uuid.uuid4()}").json == []


@pytest.mark.parametrize(
    "query", ["from=2024-13-01", "to=yesterday", "type=transfer", "category_id=x", "page_size=101"]
)
def test_invalid_filters_are_refused(alice: SignedInUser, query: str) -> None:
    assert alice.get(f"/api/transactions?{query}").status_code == 422


def test_from_after_to_is_refused(alice: SignedInUser) -> None:
    response = alice.get("/api/transactions?from=2024-02-02&to=2024-02-01")
    assert response.status_code == 422
    assert response.json["errors"] == {"query": {"to": ["Must not be before `from`."]}}


def test_list_is_paginated(alice: SignedInUser) -> None:
    make_history(alice)
    response = alice.get("/api/transactions?page=2&page_size=4")
    assert len(response.json) == 2
    assert json.loads(response.headers["X-Pagination"])["total"] == 6


def read_csv(client: SignedInUser, query: str = "") -> list[dict[str, str]]:
    response = client.get(f"/api/transactions/export.csv{query}")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    return list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))


def test_csv_export_has_a_header_and_the_lists_rows_and_filters(alice: SignedInUser) -> None:
    h = make_history(alice)
    rows = read_csv(alice, "?from=2024-02-01&to=2024-02-29&type=EXPENSE")
    assert [row["id"] for row in rows] == [h[n]["id"] for n in ["last", "later_same_day", "first"]]
    assert rows[0] == {
        "date": "2024-02-29",
        "type": "EXPENSE",
        "amount": "4.00",
        "category_id": h["food"]["id"],
        "category": "Food",
        "description": "",
        "id": h["last"]["id"],
        "created_at": h["last"]["created_at"],
    }
    assert len(read_csv(alice)) == 6
    assert alice.get("/api/transactions/export.csv?type=nope").status_code == 422


def test_csv_keeps_awkward_text_intact_and_inert(alice: SignedInUser) -> None:
    category = alice.category('=HYPERLINK("x")')
    text = 'He said "hi", then\nleft; =1+1'
    alice.transaction(category["id"], "1.00", description=text)
    alice.transaction(category["id"], "2.00", description="-2 for fees")
    rows = read_csv(alice)
    # Newest first; where a spreadsheet would see a formula start (at the start, or after a
    # separator such as `;`, spaces or quotes between), a ' comes first.
    assert [row["description"] for row in rows] == ["'-2 for fees", text.replace("; =", ";' =")]
    assert {row["category"] for row in rows} == {'\'=HYPERLINK("x")'}


def test_csv_of_nothing_is_just_the_header(alice: SignedInUser) -> None:
    response = alice.get("/api/transactions/export.csv")
    assert response.get_data(as_text=True) == (
        "date,type,amount,category_id,category,description,id,created_at\r\n"
    )


def test_deleting_a_user_removes_their_transactions(
    alice: SignedInUser, bob: SignedInUser, test_databases: ServiceDatabases
) -> None:
    alice.transaction(alice.category("Food")["id"], "1.00")
    bob.transaction(bob.category("Food")["id"], "1.00")
    with psycopg2.connect(test_databases.api_url) as connection, connection.cursor() as cursor:
        cursor.execute("DELETE FROM users WHERE id = %s", (str(alice.id),))
        cursor.execute("SELECT user_id FROM transactions")
        remaining = [row[0] for row in cursor.fetchall()]
    connection.close()
    assert remaining == [str(bob.id)]
    gone = alice.get("/api/transactions")
    assert gone.status_code == 401
    assert gone.json["message"] == "access token no longer valid: sign in again"
