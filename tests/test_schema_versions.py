"""Issue 14: the broker is not trusted blindly. An event with a schema_version the consumer does
not know is refused: logged, acknowledged, never retried, and nothing is done with it."""

from __future__ import annotations

import dataclasses
import uuid

import pytest
from flask import Flask

from event_contract import SCHEMA_VERSION, UnsupportedSchemaVersionError
from tests.pipeline import (
    deliveries_of,
    finished_delivery,
    limit_exceeded,
    set_settings,
    wait_until_broker_idle,
)
from tests.processes import LaunchedProcess
from tests.telegram_standin import TelegramStandIn


@pytest.mark.parametrize("version", [SCHEMA_VERSION + 1, 0, "1", True, None])
def test_the_contract_refuses_unknown_schema_versions(version: object) -> None:
    message = limit_exceeded(uuid.uuid4()).to_message()
    with pytest.raises(UnsupportedSchemaVersionError):
        type(limit_exceeded(uuid.uuid4())).from_message({**message, "schema_version": version})


def test_the_worker_refuses_an_unknown_schema_version_once_and_moves_on(
    api: Flask,
    notify: Flask,
    telegram: TelegramStandIn,
    celery_worker: LaunchedProcess,
    redis_url: str,
) -> None:
    from worker.tasks import handle_event

    user_id = uuid.uuid4()
    set_settings(notify, user_id, chat_id="4711")
    future = dataclasses.replace(limit_exceeded(user_id), schema_version=SCHEMA_VERSION + 1)
    current = limit_exceeded(user_id, month=12)
    # Straight onto the queue, as a newer producer (or anyone with the broker) would put them.
    for event in (future, current):
        handle_event.apply_async(args=[event.to_message()], task_id=str(event.id))

    # The known event is delivered; the other one is refused and leaves nothing behind.
    assert finished_delivery(notify, current.id).status == "sent"
    wait_until_broker_idle(redis_url)
    assert deliveries_of(notify, future.id) == []
    assert len(telegram.delivered_messages) == 1
    refusals = [
        line
        for line in celery_worker.log_path.read_text(errors="replace").splitlines()
        if f"refusing event '{future.id}'" in line
    ]
    # Logged once: acknowledged, not retried.
    assert len(refusals) == 1, refusals
    assert "unsupported schema_version 2" in refusals[0]
