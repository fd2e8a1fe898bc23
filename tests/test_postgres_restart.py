"""PostgreSQL stopped and started again under the running system, on a private server.

While it is down, both liveness answers are 503 and writes answer a JSON 5xx; once it is back,
the very first requests succeed with no process restarted, and the workers and the relay carry
on: an alert whose send was in flight when the database went away is delivered once, however
long the database stays away.
"""

from __future__ import annotations

import contextlib
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
# The outage test's lease: short, so that the database can stay away for longer.
LEASE_SECONDS = 12


@contextlib.contextmanager
def running(stack: PrivateStack) -> Iterator[PrivateStack]:
    """The stack with its gateway, worker, relay and beat started; closed afterwards."""
    try:
        stack.start_gateway()
        stack.start_worker()
        stack.start_relay()
        stack.start_beat()
        yield stack
    finally:
        stack.close()


@pytest.fixture
def stack(tmp_path: Path, signing_key_files: tuple[Path, Path]) -> Iterator[PrivateStack]:
    with running(PrivateStack(tmp_path, signing_key_files)) as stack:
        yield stack


@pytest.fixture
def short_lease_stack(
    tmp_path: Path, signing_key_files: tuple[Path, Path]
) -> Iterator[PrivateStack]:
    stack = PrivateStack(tmp_path, signing_key_files)
    stack.environment |= {
        "DELIVERY_LEASE_SECONDS": str(LEASE_SECONDS),
        # The request is answered once PostgreSQL is down, within this.
        "TELEGRAM_TIMEOUT_SECONDS": str(LEASE_SECONDS - 2),
        # An expired lease is swept at once: the sweep would send again if it could.
        "DELIVERY_SWEEP_GRACE_SECONDS": "1",
        "DELIVERY_SWEEP_INTERVAL_SECONDS": "1",
    }
    with running(stack):
        yield stack


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


def stop_postgres_while_an_alert_is_sent(stack: PrivateStack) -> SignedInUser:
    """A new user (chat CHAT_ID) whose Food alert, committed just before the outage, is still in
    flight when it begins: Telegram answers once PostgreSQL is down, so the delivery's outcome
    is written during the outage. The user."""
    user = stack.sign_up()
    stack.link_chat(user.id, CHAT_ID)
    stack.telegram.hold_answers()
    response = crossing(user, "Food", 1)
    assert response.status_code == 201, response.get_json(silent=True)
    stack.telegram.wait_for_calls(1, timeout=60)
    stack.stop_postgres()
    stack.telegram.release_answers()
    return user


def test_both_databases_restarted_under_the_running_system(stack: PrivateStack) -> None:
    user = stop_postgres_while_an_alert_is_sent(stack)

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


def test_an_outage_longer_than_the_lease_after_the_send_still_sends_once(
    short_lease_stack: PrivateStack,
) -> None:
    """Telegram took the message, then PostgreSQL stayed away for longer than the lease: the
    worker, alive all along, records the outcome once it is back, and nobody sends it again."""
    stack = short_lease_stack
    worker = next(process for process in stack.processes if process.name.startswith("worker"))
    stop_postgres_while_an_alert_is_sent(stack)
    # The request is over (answered while PostgreSQL is down): its outcome waits for it.
    worker.wait_until_logged("database unavailable, recording its outcome")
    # Away for longer than the lease, which was taken before the request: when PostgreSQL is
    # back, the lease has run out by the clock (a lower bound, not a guess at any timing).
    time.sleep(LEASE_SECONDS)
    stack.start_postgres_again()

    stack.wait_until_settled()  # a second send (the sweep's, a task's retry) would be done by then
    assert [text.split(" for ")[0] for text in alerts(stack)] == ["Budget alert: Food"], alerts(
        stack
    )
    assert stack.notify_query(
        "SELECT status, attempts FROM deliveries WHERE event_type = %s", ("budget.limit_exceeded",)
    ) == [("sent", 1)]
