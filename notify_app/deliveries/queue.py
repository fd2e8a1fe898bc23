"""Hands a delivery to the worker by task name: notify_app never imports the worker."""

from __future__ import annotations

import uuid
from typing import Any

from flask import current_app

from event_contract import API_JOBS_QUEUE, BOT_COMMAND_TASK, NOTIFICATIONS_QUEUE
from service_kit.celery_apps import BrokerClient, BrokerUnavailableError

# The worker's task that sends one pending delivery (worker/tasks.py registers it).
SEND_DELIVERY_TASK = "notifications.send_delivery"

QUEUE_EXTENSION = "delivery_queue"

# The broker did not take the task.
QueueUnavailableError = BrokerUnavailableError


class DeliveryQueue:
    """Tasks for the workers, by name (service_kit.celery_apps.BrokerClient: a request waiting
    on a down Redis fails fast)."""

    def __init__(self, broker_url: str, *, timeout_seconds: float) -> None:
        self._client = BrokerClient(
            "budget_notifications_web", broker_url, timeout_seconds=timeout_seconds
        )

    def send(
        self, delivery_id: uuid.UUID, *, countdown: float | None = None, again: bool = False
    ) -> None:
        """Have a worker send the delivery, `countdown` seconds from now if given.

        `again`: a later hand-over (a wait, the sweep) rather than the first one.
        """
        self._client.send(
            SEND_DELIVERY_TASK,
            [str(delivery_id)],
            queue=NOTIFICATIONS_QUEUE,
            # The first hand-over carries the delivery's id; later ones (waits, the sweep) get
            # ids of their own, so each shows up in the worker's log.
            task_id=None if again else str(delivery_id),
            countdown=countdown,
        )

    def send_bot_command(self, message: dict[str, Any], *, task_id: str) -> None:
        """Hand a bot command (event_contract.BotCommand) to the api worker, by task name."""
        self._client.send(BOT_COMMAND_TASK, [message], queue=API_JOBS_QUEUE, task_id=task_id)


def delivery_queue() -> DeliveryQueue:
    # Built on first use: tests/e2e/test_bot.py swaps it for one on an unreachable broker by
    # removing it from app.extensions.
    queue: DeliveryQueue | None = current_app.extensions.get(QUEUE_EXTENSION)
    if queue is None:
        queue = DeliveryQueue(
            current_app.config["BROKER_URL"],
            timeout_seconds=current_app.config["BROKER_PUBLISH_TIMEOUT_SECONDS"],
        )
        current_app.extensions[QUEUE_EXTENSION] = queue
    return queue
