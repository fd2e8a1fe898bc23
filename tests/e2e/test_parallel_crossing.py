"""Issue 6: twenty expenses posted at once to gunicorn's worker processes, which together go
over the limit, send exactly one message; issue 23: by three members of one shared ledger, one
message to each member and to the household's group."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace

from tests.e2e.conftest import Rows, sent_messages, settled_history
from tests.e2e.households import (
    ANNA,
    BORIS,
    GROUP,
    VERA,
    food_of,
    limit_alerts,
    link_group,
    share_home,
)
from tests.parallel import in_parallel
from tests.pipeline import wait_until_broker_idle
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


def test_twenty_parallel_expenses_by_three_members_send_one_alert_to_each_chat(
    gunicorn_gateway: str,
    register: Callable[[], SignedInUser],
    webhook: TelegramStandIn,
    celery_worker: LaunchedProcess,
    redis_url: str,
) -> None:
    """Issue 23: a shared ledger's three members write at once; the limit is crossed once, and
    each member's private chat and the household's group hear of it exactly once."""
    home = share_home(register, webhook, redis_url, vera_role="member")
    ledger = home.ledger_id
    link_group(webhook, home.anna, ledger, by=ANNA)
    food = food_of(home.anna, ledger)
    home.anna.created(
        "/api/budgets",
        {"year": 2026, "month": 11, "ledger_id": ledger,
         "limits": [{"category_id": food, "limit_amount": "100.00"}]},
    )  # fmt: skip
    members = [
        replace(person, client=LiveClient(gunicorn_gateway, timeout_seconds=60))
        for person in (home.anna, home.boris, home.vera)
    ]

    def spend(number: int) -> int:
        body = {"ledger_id": ledger, "category_id": food, "type": "EXPENSE", "amount": "10.00",
                "date": "2026-11-10", "description": f"e{number:02d}"}  # fmt: skip
        return int(members[number % 3].post("/api/transactions", json=body).status_code)

    statuses = in_parallel(*[lambda number=number: spend(number) for number in range(PARALLEL)])

    assert statuses == [201] * PARALLEL
    wait_until_broker_idle(redis_url)
    alerts = {chat_id: limit_alerts(webhook, chat_id) for chat_id in (ANNA, BORIS, VERA, GROUP)}
    assert all(len(received) == 1 for received in alerts.values()), alerts
    [alert] = {text for received in alerts.values() for text in received}
    # The eleventh expense in commit order crossed (11 x 10.00), and is named: who and which.
    crossed = re.fullmatch(
        r"Budget alert: Home · Food for November 2026 is over its limit: 110\.00 spent of"
        r" 100\.00 \(110%\), after (?P<who>\w+)'s 10\.00 (?P<which>e\d\d)\.",
        alert,
    )
    assert crossed is not None, alert
    names = {str(home.anna.id): "Anna", str(home.boris.id): "Boris", str(home.vera.id): "Vera"}
    recorded = home.anna.expect(200, "GET", f"/api/transactions?ledger_id={ledger}&page_size=100")
    [crossing] = [t for t in recorded if t["description"] == crossed["which"]]
    assert names[crossing["created_by"]] == crossed["who"]
