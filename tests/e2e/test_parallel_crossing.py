"""Issue 6: twenty expenses posted at once to gunicorn's worker processes, which together go
over the limit, send exactly one message."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from tests.e2e.conftest import Rows, sent_messages, settled_history
from tests.parallel import in_parallel
from tests.processes import LaunchedProcess
from tests.telegram_standin import TelegramStandIn
from tests.users import LiveClient, SignedInUser

PARALLEL = 20


def test_twenty_parallel_expenses_that_cross_together_send_one_message(
    gunicorn_gateway: str,
    register: Callable[[], SignedInUser],
    celery_worker: LaunchedProcess,
    rows: Rows,
    telegram: TelegramStandIn,
) -> None:
    ann = register()
    ann.settings(telegram_chat_id="20202020", warn_at_percent=None)  # the limit alert alone
    food = ann.category_id("Food")
    ann.budget(2026, 11, {food: "500.00"})
    body = {"category_id": food, "type": "EXPENSE", "amount": "30.00", "date": "2026-11-10"}
    # Through gunicorn's worker processes, which truly run the requests at the same time.
    over_http = replace(ann, client=LiveClient(gunicorn_gateway, timeout_seconds=60))
    statuses = in_parallel(
        *[lambda: over_http.post("/api/transactions", json=body).status_code] * PARALLEL
    )

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
