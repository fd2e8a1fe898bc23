"""Hands a delivery to the worker by task name: notify_app never imports the worker."""

from __future__ import annotations

import uuid
from typing import Any

from celery import Celery
from flask import current_app

from event_contract import API_JOBS_QUEUE, BOT_COMMAND_TASK, NOTIFICATIONS_QUEUE

# The worker's task that sends one pending delivery (worker/tasks.py registers it).
SEND_DELIVERY_TASK = "notifications.send_delivery"

QUEUE_EXTENSION = "delivery_queue"


class QueueUnavailableError(Exception):
    """The broker did not take the task."""


class DeliveryQueue:
    """A Celery client with short timeouts: a request waiting on a down Redis fails fast."""

    def __init__(self, broker_url: str, *, timeout_seconds: float) -> None:
        self._celery = Celery("budget_notifications_web", broker=broker_url, set_as_current=False)
        self._celery.conf.update(
            broker_connection_timeout=timeout_seconds,
            broker_connection_retry=False,
            broker_transport_options={
                "socket_connect_timeout": timeout_seconds,
                "socket_timeout": timeout_seconds,
                "max_retries": 0,
            },
            task_serializer="json",
            accept_content=["json"],
        )

    def send(
        self, delivery_id: uuid.UUID, *, countdown: float | None = None, again: bool = False
    ) -> None:
        """Have a worker send the delivery, `countdown` seconds from now if given.

        `again`: a later hand-over (a wait, the sweep) rather than the first one.
        """
        try:
            self._celery.send_task(
                SEND_DELIVERY_TASK,
                args=[str(delivery_id)],
                queue=NOTIFICATIONS_QUEUE,
                # The first hand-over carries the delivery's id; later ones (waits, the sweep)
                # get ids of their own, so each shows up in the worker's log.
                task_id=None if again else str(delivery_id),
                countdown=countdown,
                retry=False,
            )
        except Exception as error:
            # Whatever kombu, redis-py or the socket raised, the task did not get through.
            raise QueueUnavailableError(f"{type(error).__name__}: {error}") from error

    def send_bot_command(self, message: dict[str, Any], *, task_id: str) -> None:
        """Hand a bot command (event_contract.BotCommand) to the api worker, by task name."""
        try:
            self._celery.send_task(
                BOT_COMMAND_TASK,
                args=[message],
                queue=API_JOBS_QUEUE,
                task_id=task_id,
                retry=False,
            )
        except Exception as error:
            raise QueueUnavailableError(f"{type(error).__name__}: {error}") from error


def delivery_queue() -> DeliveryQueue:
    queue: DeliveryQueue | None = current_app.extensions.get(QUEUE_EXTENSION)
    if queue is None:
        queue = DeliveryQueue(
            current_app.config["BROKER_URL"],
            timeout_seconds=current_app.config["BROKER_PUBLISH_TIMEOUT_SECONDS"],
        )
        current_app.extensions[QUEUE_EXTENSION] = queue
    return queue
