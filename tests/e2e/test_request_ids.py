"""Issue 7: the X-Request-ID of the request that crossed a limit names every step after it:
the api's log line, the event in the outbox, and the worker's log lines for its delivery."""

from __future__ import annotations

import io
import json
import logging
import secrets
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from service_kit.logs import ServiceLogHandler, configure_logging
from tests.e2e.conftest import Rows, settled_history
from tests.eventually import eventually
from tests.processes import LaunchedProcess
from tests.telegram_standin import TelegramStandIn
from tests.users import SignedInUser


@pytest.fixture
def api_log() -> Iterator[io.StringIO]:
    """The JSON log handler the api process installs, writing to a buffer for the test."""
    configure_logging("api", "json")
    handler = next(h for h in logging.getLogger().handlers if isinstance(h, ServiceLogHandler))
    buffer = io.StringIO()
    handler.setStream(buffer)
    yield buffer
    logging.getLogger().removeHandler(handler)


def json_lines(text: str) -> list[dict[str, Any]]:
    """The JSON objects of a log; other lines (a library printing) are not log records."""
    entries = []
    for line in text.splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if isinstance(entry, dict):
            entries.append(entry)
    return entries


def test_the_request_id_of_a_crossing_reaches_the_outbox_and_the_worker_log(
    register: Callable[[], SignedInUser],
    celery_worker: LaunchedProcess,
    rows: Rows,
    telegram: TelegramStandIn,
    api_log: io.StringIO,
) -> None:
    ann = register()
    ann.settings(telegram_chat_id="31337")
    food = ann.category_id("Food")
    ann.budget(2026, 11, {food: "100.00"})
    request_id = f"e2e-{secrets.token_hex(8)}"

    response = ann.request(
        "POST",
        "/api/transactions",
        json={"category_id": food, "type": "EXPENSE", "amount": "100.01", "date": "2026-11-03"},
        headers={"X-Request-ID": request_id},
    )
    assert response.status_code == 201
    assert response.headers["X-Request-ID"] == request_id

    (recorded,) = [
        entry
        for entry in json_lines(api_log.getvalue())
        if entry["message"].startswith("recorded budget.limit_exceeded event ")
    ]
    event_id = recorded["message"].rsplit(" ", 1)[1]
    assert (recorded["service"], recorded["request_id"], recorded["user_id"]) == (
        "api",
        request_id,
        str(ann.id),
    )

    assert rows.api(
        "SELECT payload->>'request_id', published_at IS NOT NULL FROM outbox_events WHERE id = %s",
        event_id,
    ) == [(request_id, True)]

    (delivery,) = settled_history(ann, rows)
    assert (delivery["event_id"], delivery["status"]) == (event_id, "sent")
    assert len(telegram.messages) == 1

    def worker_lines() -> list[dict[str, Any]] | None:
        lines = [
            entry
            for entry in json_lines(celery_worker.log_path.read_text(errors="replace"))
            # Celery's own lines name the event too, as the task id; ours are notify_app's.
            if event_id in entry.get("message", "")
            and entry.get("logger", "").startswith("notify_app.")
        ]
        # The delivery's line is written right after its row is committed: wait for it.
        return lines if any(" sent after " in entry["message"] for entry in lines) else None

    lines = eventually(worker_lines, f"the worker's log lines about event {event_id}")
    assert [entry["message"] for entry in lines] == [
        f"handling budget.limit_exceeded event {event_id}",
        f"delivery {delivery['id']} of event {event_id}: sent after 1 attempt(s)",
    ]
    assert {(e["service"], e["request_id"], e["user_id"]) for e in lines} == {
        ("worker", request_id, str(ann.id))
    }
