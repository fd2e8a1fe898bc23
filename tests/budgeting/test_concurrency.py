"""Concurrent requests never lose an update: parallel HTTP requests against gunicorn's worker
processes, and a contribution racing a change made while it waits for the goal's row."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import Any

import psycopg2

from tests.conftest import ServiceDatabases
from tests.eventually import eventually
from tests.parallel import in_parallel
from tests.users import LiveClient, SignedInUser

PARALLEL = 20


def statuses_in_parallel(
    gunicorn_gateway: str, user: SignedInUser, method: str, path: str, body: Any
) -> list[int]:
    """PARALLEL identical requests at once through gunicorn's worker processes; their statuses."""
    over_http = replace(user, client=LiveClient(gunicorn_gateway, timeout_seconds=60))
    return in_parallel(*[lambda: over_http.request(method, path, json=body).status_code] * PARALLEL)


def test_parallel_contributions_all_count(gunicorn_gateway: str, alice: SignedInUser) -> None:
    goal = alice.goal(target="1000.00")
    alice.post(f"/api/goals/{goal['id']}/contributions", json={"amount": "5.55"})
    contributions = f"/api/goals/{goal['id']}/contributions"
    statuses = statuses_in_parallel(
        gunicorn_gateway, alice, "POST", contributions, {"amount": "1.00"}
    )
    assert statuses == [200] * PARALLEL
    assert alice.get(f"/api/goals/{goal['id']}").json["current_amount"] == "25.55"


def test_parallel_withdrawals_stop_exactly_at_zero(
    gunicorn_gateway: str, alice: SignedInUser
) -> None:
    goal = alice.goal(target="1000.00")
    alice.post(f"/api/goals/{goal['id']}/contributions", json={"amount": "7.00"})
    contributions = f"/api/goals/{goal['id']}/contributions"
    statuses = statuses_in_parallel(
        gunicorn_gateway, alice, "POST", contributions, {"amount": "-1.00"}
    )
    assert sorted(statuses) == [200] * 7 + [422] * (PARALLEL - 7)
    assert alice.get(f"/api/goals/{goal['id']}").json["current_amount"] == "0.00"


def test_parallel_transactions_all_count(gunicorn_gateway: str, alice: SignedInUser) -> None:
    food = alice.category("Food")
    body = {"category_id": food["id"], "type": "EXPENSE", "amount": "1.00", "date": "2024-03-10"}
    statuses = statuses_in_parallel(gunicorn_gateway, alice, "POST", "/api/transactions", body)
    assert statuses == [201] * PARALLEL
    summary = alice.get("/api/budgets/summary?year=2024&month=3").json
    assert summary["expense"] == "20.00"
    assert summary["categories"][0]["spent"] == "20.00"


def test_parallel_limit_changes_leave_one_limit(gunicorn_gateway: str, alice: SignedInUser) -> None:
    food = alice.category("Food")
    budget = alice.budget()
    path = f"/api/budgets/{budget['id']}/limits/{food['id']}"
    statuses = statuses_in_parallel(gunicorn_gateway, alice, "PUT", path, {"limit_amount": "10.00"})
    assert statuses == [200] * PARALLEL
    assert alice.get(f"/api/budgets/{budget['id']}").json["limits"] == [
        {"category_id": food["id"], "limit_amount": "10.00"}
    ]


def test_parallel_budgets_for_one_month_make_one(
    gunicorn_gateway: str, alice: SignedInUser
) -> None:
    statuses = statuses_in_parallel(
        gunicorn_gateway, alice, "POST", "/api/budgets", {"year": 2024, "month": 5}
    )
    assert sorted(statuses) == [201] + [409] * (PARALLEL - 1)
    assert len(alice.get("/api/budgets").json) == 1


def wait_until_a_request_waits_for_a_lock(cursor: Any) -> None:
    """Every implementation must write the goal row, so the request ends up waiting for it."""

    def lock_waiters() -> int:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE wait_event_type = 'Lock' AND datname = current_database()"
        )
        count: int = cursor.fetchone()[0]
        return count

    eventually(lock_waiters, "a request waiting for the goal's row lock")


def test_a_contribution_sees_the_amount_it_waited_for(
    alice: SignedInUser, test_databases: ServiceDatabases
) -> None:
    """The goal row is locked by another transaction that adds 100.00 while the request waits:
    a request that read current_amount before taking the lock would write back 5.55 + 1.00 and
    lose the 100.00."""
    goal = alice.goal(target="1000.00")
    alice.post(f"/api/goals/{goal['id']}/contributions", json={"amount": "5.55"})
    holder = psycopg2.connect(test_databases.api_url)
    watcher = psycopg2.connect(test_databases.api_url)
    watcher.autocommit = True
    try:
        with holder.cursor() as cursor:
            cursor.execute("SELECT 1 FROM goals WHERE id = %s FOR UPDATE", (goal["id"],))
            with ThreadPoolExecutor(1) as pool:
                answer = pool.submit(
                    alice.post,
                    f"/api/goals/{goal['id']}/contributions",
                    json={"amount": "1.00"},
                )
                wait_until_a_request_waits_for_a_lock(watcher.cursor())
                cursor.execute(
                    "UPDATE goals SET current_amount = current_amount + 100 WHERE id = %s",
                    (goal["id"],),
                )
                holder.commit()
                assert answer.result().status_code == 200
    finally:
        holder.close()
        watcher.close()
    assert alice.get(f"/api/goals/{goal['id']}").json["current_amount"] == "106.55"
