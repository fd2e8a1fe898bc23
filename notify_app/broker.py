"""Hands tasks to the workers by name (event_contract names each task and its queue):
notify_app never imports a worker."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from flask import current_app

from event_contract import TASK_QUEUES, TASK_SIGNATURES
from service_kit.celery_apps import BrokerClient, BrokerUnavailableError

SENDER_EXTENSION = "delivery_queue"

# The broker did not take the task.
QueueUnavailableError = BrokerUnavailableError


class TaskSender:
    """The kit's send-only broker client, each task to the queue the contract names for it."""

    def __init__(self, broker_url: str, *, timeout_seconds: float) -> None:
        self._client = BrokerClient(
            "budget_notifications_web",
            broker_url,
            timeout_seconds=timeout_seconds,
            signatures=TASK_SIGNATURES,
        )

    def send(
        self,
        task: str,
        args: Sequence[Any],
        *,
        task_id: str | None = None,
        countdown: float | None = None,
    ) -> None:
        """Send `task` to its queue; QueueUnavailableError if the broker did not take it."""
        self._client.send(task, args, queue=TASK_QUEUES[task], task_id=task_id, countdown=countdown)


def task_sender() -> TaskSender:
    # Built on first use: tests/e2e/test_bot.py swaps it for one on an unreachable broker by
    # removing it from app.extensions.
    sender: TaskSender | None = current_app.extensions.get(SENDER_EXTENSION)
    if sender is None:
        sender = TaskSender(
            current_app.config["BROKER_URL"],
            timeout_seconds=current_app.config["BROKER_PUBLISH_TIMEOUT_SECONDS"],
        )
        current_app.extensions[SENDER_EXTENSION] = sender
    return sender
