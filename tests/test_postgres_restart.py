"""PostgreSQL stopped and started again under the running system, on a private server.

While it is down, both liveness answers are 503 and writes answer a JSON 5xx; once it is back,
the very first requests succeed with no process restarted, and the workers and the relay carry
on: an alert whose send was in flight when the database went away is delivered once.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.pipeline import wait_until
from tests.private_stack import Client, PrivateStack

CHAT_ID = "7700"
ERROR_FIELDS = {"code", "status", "message", "errors"}


@pytest.fixture
def stack(tmp_path: Path, signing_key_files: tuple[Path, Path]) -> Iterator[PrivateStack]:
    stack = PrivateStack(tmp_path, signing_key_files)
    try:
        stack.start_gateway()
        stack.start_worker()
        stack.start_relay()
        stack.start_beat()
        yield stack
    finally:
        stack.close()


def crossing(client: Client, category: str, month: int) -> tuple[int, object]:
    """An expense of 20.00 against a limit of 10.00: one budget.limit_exceeded."""
    status, budget = client.call(
        "POST", "/api/budgets",
        {"year": 2026, "month": month, "limits": [
            {"category_id": client.categories[category], "limit_amount": "10.00"}]},
    )  # fmt: skip
    assert status == 201, budget
    return client.call(
        "POST", "/api/transactions",
        {"category_id": client.categories[category], "type": "EXPENSE", "amount": "20.00",
         "date": f"2026-{month:02d}-15"},
    )  # fmt: skip


def alerts(stack: PrivateStack) -> list[str]:
    return [str(m["text"]) for m in stack.telegram.delivered_messages]


def test_both_databases_restarted_under_the_running_system(stack: PrivateStack) -> None:
    client = Client.sign_up(stack)
    stack.link_chat(client.user_id, CHAT_ID)

    # An alert committed just before the outage, its send still in flight when it begins.
    stack.telegram.default_delay_seconds = 3.0
    status, body = crossing(client, "Food", 1)
    assert status == 201, body
    stack.telegram.wait_for_calls(1, timeout=60)
    stack.stop_postgres()
    stack.telegram.default_delay_seconds = 0.0

    for path in ("/health", "/api/notifications/health"):
        started = time.monotonic()
        status, body = stack.get(path)
        print(f"{path} with PostgreSQL down: {status} in {time.monotonic() - started:.2f}s")
        assert status == 503, body
        assert set(body) == ERROR_FIELDS
    status, body = client.call(
        "POST", "/api/transactions",
        {"category_id": client.categories["Food"], "type": "EXPENSE", "amount": "1.00",
         "date": "2026-01-16"},
    )  # fmt: skip
    assert status >= 500, body
    assert set(body) == ERROR_FIELDS
    status, body = client.call("PATCH", "/api/notifications/settings", {"warn_at_percent": 90})
    assert status >= 500, body
    assert set(body) == ERROR_FIELDS

    stack.start_postgres_again()

    # The very first requests after the restart succeed: no retries here, every gunicorn
    # worker's pool held connections that the restart killed.
    for _ in range(3):
        assert stack.get("/health")[0] == 200
        assert stack.get("/api/notifications/health")[0] == 200
    assert client.call("PATCH", "/api/notifications/settings", {"warn_at_percent": 90})[0] == 200
    status, body = crossing(client, "Transport", 2)
    assert status == 201, body

    # Workers and relay carried on by themselves: both alerts arrive, each once.
    wait_until(lambda: len(alerts(stack)) >= 2, "both alerts at Telegram", timeout=120)
    time.sleep(2)  # a duplicate would come right behind
    texts = alerts(stack)
    assert sorted(text.split(" for ")[0] for text in texts) == [
        "Budget alert: Food",
        "Budget alert: Transport",
    ], texts
