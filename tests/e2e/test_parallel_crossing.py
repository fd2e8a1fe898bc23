"""Issue 6: twenty expenses posted at once to gunicorn's worker processes, which together go
over the limit, send exactly one message."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import requests

from tests.conftest import WorkerProcess
from tests.e2e.conftest import Person, Rows, sent_messages, settled_history
from tests.telegram_standin import TelegramStandIn

PARALLEL = 20


def test_twenty_parallel_expenses_that_cross_together_send_one_message(
    gunicorn_gateway: str,
    register: Callable[[], Person],
    celery_worker: WorkerProcess,
    rows: Rows,
    telegram: TelegramStandIn,
) -> None:
    ann = register()
    ann.settings(telegram_chat_id="20202020", warn_at_percent=None)  # the limit alert alone
    food = ann.category_id("Food")
    ann.budget(2026, 11, {food: "500.00"})
    body = {"category_id": food, "type": "EXPENSE", "amount": "30.00", "date": "2026-11-10"}
    start = threading.Barrier(PARALLEL)

    def post_expense(_: int) -> int:
        with requests.Session() as session:
            start.wait()
            response = session.post(
                f"{gunicorn_gateway}/api/transactions", json=body, headers=ann.headers, timeout=60
            )
            return response.status_code

    with ThreadPoolExecutor(PARALLEL) as pool:
        statuses = list(pool.map(post_expense, range(PARALLEL)))

    assert statuses == [201] * PARALLEL
    summary = ann.expect(200, "GET", "/api/budgets/summary?year=2026&month=11")
    assert summary["categories"][0]["spent"] == "600.00"
    (delivery,) = settled_history(ann, rows)
    assert delivery["status"] == "sent"
    # The seventeenth expense in commit order crossed: 17 x 30.00 = 510.00.
    assert sent_messages(telegram.messages) == [
        (
            "20202020",
            "Budget alert: Food for November 2026 is over its limit:"
            " 510.00 spent of 500.00 (102%).",
        )
    ]
