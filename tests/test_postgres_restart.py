"""PostgreSQL stopped and started again under the running system, on a private server.

While it is down, both liveness answers are 503 and writes answer a JSON 5xx; once it is back,
the very first requests succeed with no process restarted, and the workers and the relay carry
on: an alert whose send was in flight when the database went away is delivered once.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.eventually import eventually
from tests.private_stack import PrivateStack
from tests.users import SignedInUser

# It stops and restarts a private PostgreSQL under the running system.
pytestmark = pytest.mark.chaos

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


def crossing(user: SignedInUser, category: str, month: int) -> Any:
    """An expense of 20.00 against a limit of 10.00: one budget.limit_exceeded."""
    category_id = user.category_id(category)
    user.budget(2026, month, {category_id: "10.00"})
    return user.post(
        "/api/transactions",
        json={"category_id": category_id, "type": "EXPENSE", "amount": "20.00",
              "date": f"2026-{month:02d}-15"},
    )  # fmt: skip


def alerts(stack: PrivateStack) -> list[str]:
    return [str(m["text"]) for m in stack.telegram.delivered_messages]


def test_both_databases_restarted_under_the_running_system(stack: PrivateStack) -> None:
    user = stack.sign_up()
    stack.link_chat(user.id, CHAT_ID)

    # An alert committed just before the outage, its send still in flight when it begins.
    stack.telegram.default_delay_seconds = 3.0
    response = crossing(user, "Food", 1)
    assert response.status_code == 201, response.get_json(silent=True)
    stack.telegram.wait_for_calls(1, timeout=60)
    stack.stop_postgres()
    stack.telegram.default_delay_seconds = 0.0

    for path in ("/health", "/api/notifications/health"):
        started = time.monotonic()
        status, body = stack.get(path)
        print(f"{path} with PostgreSQL down: {status} in {time.monotonic() - started:.2f}s")
        assert status == 503, body
        assert set(body) == ERROR_FIELDS
    response = user.post(
        "/api/transactions",
        json={"category_id": user.category_id("Food"), "type": "EXPENSE", "amount": "1.00",
              "date": "2026-01-16"},
    )  # fmt: skip
    assert response.status_code >= 500, response.get_json(silent=True)
    assert set(response.get_json()) == ERROR_FIELDS
    response = user.patch("/api/notifications/settings", json={"warn_at_percent": 90})
    assert response.status_code >= 500, response.get_json(silent=True)
    assert set(response.get_json()) == ERROR_FIELDS

    stack.start_postgres_again()

    # The very first requests after the restart succeed: no retries here, every gunicorn
    # worker's pool held connections that the restart killed.
    for _ in range(3):
        assert stack.get("/health")[0] == 200
        assert stack.get("/api/notifications/health")[0] == 200
    assert (
        user.patch("/api/notifications/settings", json={"warn_at_percent": 90}).status_code == 200
    )
    response = crossing(user, "Transport", 2)
    assert response.status_code == 201, response.get_json(silent=True)

    # Workers and relay carried on by themselves: both alerts arrive, each once.
    eventually(lambda: len(alerts(stack)) >= 2, "both alerts at Telegram", timeout=120)
    stack.wait_until_settled()  # a duplicate would be at Telegram by then
    texts = alerts(stack)
    assert sorted(text.split(" for ")[0] for text in texts) == [
        "Budget alert: Food",
        "Budget alert: Transport",
    ], texts
