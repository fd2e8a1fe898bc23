"""Lists read page by page with cursors: whole histories, filters, concurrent writes, forgeries."""

from __future__ import annotations

import base64
import json
import threading
import uuid
from datetime import date, timedelta
from typing import Any

import psycopg2
import pytest

from service_kit.pagination import COUNT_LIMIT
from tests.conftest import ServiceDatabases
from tests.users import SignedInUser


def pagination(response: Any) -> dict[str, Any]:
    assert response.status_code == 200, response.json
    metadata: dict[str, Any] = json.loads(response.headers["X-Pagination"])
    return metadata


def walk(client: SignedInUser, path: str, page_size: int, between_pages: Any = None) -> list[Any]:
    """Every item of a list, first page without a cursor, then by next_cursor to the end."""
    joiner = "&" if "?" in path else "?"
    response = client.get(f"{path}{joiner}page_size={page_size}")
    items = list(response.json)
    while (cursor := pagination(response)["next_cursor"]) is not None:
        if between_pages is not None:
            between_pages()
        response = client.get(f"{path}{joiner}page_size={page_size}&cursor={cursor}")
        assert 0 < len(response.json) <= page_size
        items.extend(response.json)
    return items


def sort_key(transaction: dict[str, Any]) -> tuple[str, str, str]:
    return transaction["date"], transaction["created_at"], transaction["id"]


def insert_transactions(
    databases: ServiceDatabases, user_id: uuid.UUID, category_id: str, count: int, day: date
) -> None:
    """`count` expenses on `day`, in one statement (so they share created_at: the id decides)."""
    with psycopg2.connect(databases.api_url) as connection, connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO transactions (user_id, category_id, type, amount, date, ledger_id)"
            " SELECT %s, id, 'EXPENSE', 1 + n, %s, ledger_id"
            " FROM categories, generate_series(1, %s) AS n WHERE id = %s",
            (str(user_id), day, count, category_id),
        )
    connection.close()


def test_a_cursor_walk_sees_every_row_once_while_rows_are_added(alice: SignedInUser) -> None:
    food, salary = alice.category("Food"), alice.category("Salary")
    start = date(2024, 1, 1)
    for number in range(45):
        # Three rows a day, so date ties are broken by created_at and id.
        day = (start + timedelta(days=number // 3)).isoformat()
        alice.transaction(food["id"], f"{number + 1}.00", day=day)
        if number % 5 == 0:
            alice.transaction(salary["id"], "100.00", day=day, kind="INCOME")
    path = "/api/transactions?type=EXPENSE&from=2024-01-02&to=2024-01-14"
    before = alice.get(f"{path}&page_size=100").json
    added: list[dict[str, Any]] = []

    def write_meanwhile() -> None:
        # Rows before, inside and after the walked range, and on its very first and last day.
        for day in ["2023-12-31", "2024-01-02", "2024-01-08", "2024-01-14", "2024-02-01"]:
            added.append(alice.transaction(food["id"], "7.00", day=day))

    walked = walk(alice, path, page_size=4, between_pages=write_meanwhile)
    ids = [item["id"] for item in walked]
    assert len(ids) == len(set(ids)), "a row came twice"
    assert {item["id"] for item in before} <= set(ids), "a row that was there all along is missing"
    assert all(item["type"] == "EXPENSE" for item in walked)
    assert all("2024-01-02" <= item["date"] <= "2024-01-14" for item in walked)
    assert walked == sorted(walked, key=sort_key, reverse=True)
    # What was added meanwhile shows up exactly when it sorts after the page being read.
    assert set(ids) - {item["id"] for item in before} <= {item["id"] for item in added}


def test_every_list_walks_by_cursor(alice: SignedInUser) -> None:
    for name in ["Rent", "Food", "Travel", "Gifts", "Books"]:
        alice.category(name)
    for month in range(1, 6):
        alice.budget(year=2024, month=month)
    for number in range(5):
        alice.goal(f"Goal {number}")
    categories = alice.get("/api/categories?page_size=100").json
    assert walk(alice, "/api/categories", page_size=2) == categories
    budgets = walk(alice, "/api/budgets", page_size=2)
    assert [budget["month"] for budget in budgets] == [5, 4, 3, 2, 1]
    assert walk(alice, "/api/budgets?year=2024", page_size=3) == budgets
    goals = walk(alice, "/api/goals", page_size=2)
    assert [goal["name"] for goal in goals] == [f"Goal {number}" for number in range(4, -1, -1)]


def test_the_first_page_says_how_to_go_on_and_the_last_page_says_stop(alice: SignedInUser) -> None:
    food = alice.category("Food")
    for day in ["2024-01-01", "2024-01-02", "2024-01-03"]:
        alice.transaction(food["id"], "1.00", day=day)
    first = alice.get("/api/transactions?page_size=2")
    assert pagination(first)["next_cursor"]
    assert pagination(first)["total"] == 3
    cursor = pagination(first)["next_cursor"]
    last = alice.get(f"/api/transactions?page_size=2&cursor={cursor}")
    assert [item["date"] for item in last.json] == ["2024-01-01"]
    assert pagination(last) == {"total": 3, "next_cursor": None}
    # A page requested by number has a cursor to the next one too.
    assert pagination(alice.get("/api/transactions?page=2&page_size=1"))["next_cursor"]
    empty = alice.get("/api/goals")
    assert empty.json == []
    assert pagination(empty) == {"total": 0, "total_pages": 0, "next_cursor": None}


def test_counting_stops_at_the_limit(alice: SignedInUser, test_databases: ServiceDatabases) -> None:
    food = alice.category("Food")
    insert_transactions(test_databases, alice.id, food["id"], COUNT_LIMIT, date(2024, 5, 1))
    assert pagination(alice.get("/api/transactions"))["total"] == COUNT_LIMIT

    insert_transactions(test_databases, alice.id, food["id"], 1, date(2024, 5, 2))
    first = alice.get("/api/transactions?page_size=100")
    metadata = pagination(first)
    assert "total" not in metadata
    assert "last_page" not in metadata
    assert metadata["total_exceeds"] == COUNT_LIMIT
    assert (metadata["page"], metadata["next_page"]) == (1, 2)
    assert metadata["next_cursor"]
    assert first.json[0]["date"] == "2024-05-02"
    last = pagination(alice.get("/api/transactions?page=11&page_size=100"))
    assert (last["page"], last["previous_page"]) == (11, 10)
    assert "next_page" not in last
    assert last["next_cursor"] is None
    # A filter that leaves few rows is counted exactly again.
    assert pagination(alice.get("/api/transactions?from=2024-05-02"))["total"] == 1
    assert alice.get("/api/transactions?page=9223372036854775807&page_size=100").json == []


def first_cursor(client: SignedInUser, path: str) -> str:
    cursor = pagination(client.get(path))["next_cursor"]
    assert isinstance(cursor, str)
    return cursor


def refused(client: SignedInUser, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 422, response.json
    assert set(response.json) == {"code", "status", "message", "errors"}
    assert "cursor" in response.json["errors"]["query"]


def tampered(cursor: str) -> list[str]:
    raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
    flipped = [
        bytes([*raw[:n], raw[n] ^ 1, *raw[n + 1 :]]) for n in (0, len(raw) // 2, len(raw) - 1)
    ]
    payload = raw[:-16]
    other = json.dumps([*json.loads(payload)[:-1], str(uuid.uuid4())]).encode() + raw[-16:]
    return [base64.urlsafe_b64encode(value).decode().rstrip("=") for value in [*flipped, other]]


@pytest.mark.parametrize(
    "cursor",
    [
        "x",
        "abc",
        "!!!!",
        "%00",
        "WyIyMDI0LTAxLTAxIl0",
        "A" * 1001,
        base64.b64encode(b"{}").decode(),
    ],
)
def test_a_cursor_that_was_never_issued_is_refused(alice: SignedInUser, cursor: str) -> None:
    alice.transaction(alice.category("Food")["id"], "1.00")
    refused(alice, f"/api/transactions?cursor={cursor}")


def test_an_edited_cursor_is_refused(alice: SignedInUser) -> None:
    food = alice.category("Food")
    for day in ["2024-01-01", "2024-01-02"]:
        alice.transaction(food["id"], "1.00", day=day)
    cursor = first_cursor(alice, "/api/transactions?page_size=1")
    for forged in tampered(cursor):
        refused(alice, f"/api/transactions?page_size=1&cursor={forged}")
    refused(alice, f"/api/transactions?page=1&cursor={cursor}")
    refused(alice, "/api/transactions?cursor=")


def test_a_cursor_holds_for_its_own_list_filters_and_user_only(
    alice: SignedInUser, bob: SignedInUser
) -> None:
    food = alice.category("Food")
    for day in ["2024-01-01", "2024-01-02", "2024-01-03"]:
        alice.transaction(food["id"], "1.00", day=day)
    bob_food = bob.category("Food")
    for day in ["2023-01-01", "2023-01-02"]:
        bob.transaction(bob_food["id"], "1.00", day=day)
    cursor = first_cursor(alice, "/api/transactions?type=expense&page_size=1")
    # The same filter spelled another way is the same list.
    again = alice.get(f"/api/transactions?type=EXPENSE&page_size=1&cursor={cursor}")
    assert [item["date"] for item in again.json] == ["2024-01-02"]
    refused(alice, f"/api/transactions?page_size=1&cursor={cursor}")
    refused(alice, f"/api/transactions?type=EXPENSE&from=2024-01-01&cursor={cursor}")
    refused(alice, f"/api/goals?cursor={cursor}")
    refused(alice, f"/api/categories?cursor={cursor}")
    refused(bob, f"/api/transactions?type=EXPENSE&page_size=1&cursor={cursor}")
    # Bob's own walk never meets Alice's rows.
    assert {item["id"] for item in walk(bob, "/api/transactions", page_size=1)} == {
        item["id"] for item in bob.get("/api/transactions").json
    }


def test_the_documents_describe_cursor_pagination(alice: SignedInUser) -> None:
    document = alice.get("/api/openapi.json").json
    operation = document["paths"]["/api/transactions"]["get"]
    names = {parameter["name"] for parameter in operation["parameters"]}
    assert {"cursor", "page", "page_size", "from", "to", "type", "category_id"} <= names
    header = operation["responses"]["200"]["headers"]["X-Pagination"]
    schema = header["content"]["application/json"]["schema"]
    if "$ref" in schema:
        schema = document["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    assert {"next_cursor", "total", "total_exceeds"} <= set(schema["properties"])


def test_a_cursor_walk_holds_while_another_connection_keeps_writing(
    alice: SignedInUser, test_databases: ServiceDatabases
) -> None:
    food = alice.category("Food")
    for day in range(1, 29):
        insert_transactions(test_databases, alice.id, food["id"], 5, date(2024, 2, day))
    path = "/api/transactions?from=2024-02-03&to=2024-02-26"
    before = {item["id"] for item in walk(alice, path, page_size=100)}
    assert len(before) == 120
    stop, written = threading.Event(), []

    def keep_writing() -> None:
        # New rows all over February, committed one by one while the walk goes on.
        with psycopg2.connect(test_databases.api_url) as connection:
            connection.autocommit = True
            with connection.cursor() as cursor:
                day = 0
                while not stop.is_set() and day < 1_500:
                    cursor.execute(
                        "INSERT INTO transactions"
                        " (user_id, category_id, type, amount, date, ledger_id)"
                        " SELECT %s, id, 'EXPENSE', 1, %s, ledger_id FROM categories"
                        " WHERE id = %s RETURNING id",
                        (str(alice.id), date(2024, 2, 1 + day % 28), food["id"]),
                    )
                    written.append(str(cursor.fetchone()[0]))
                    day += 1
        connection.close()

    writer = threading.Thread(target=keep_writing)
    writer.start()
    try:
        walked = walk(alice, path, page_size=7)
    finally:
        stop.set()
        writer.join()
    ids = [item["id"] for item in walked]
    assert written, "nothing was written during the walk"
    assert len(ids) == len(set(ids)), "a row came twice"
    assert before <= set(ids), "a row that was there all along is missing"
    assert set(ids) - before <= set(written)
    assert all("2024-02-03" <= item["date"] <= "2024-02-26" for item in walked)
    assert walked == sorted(walked, key=sort_key, reverse=True)
