"""Hands tasks to the workers by name (event_contract names each task and its queue):
notify_app never imports a worker."""

from __future__ import annotations

from typing import Any

from celery import Celery
from flask import current_app

from event_contract import TASK_QUEUES

SENDER_EXTENSION = "delivery_queue"


class QueueUnavailableError(Exception):
    """The broker did not take the task."""


class TaskSender:
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
        self,
        task: str,
        args: list[Any],
        *,
        task_id: str | None = None,
        countdown: float | None = None,
    ) -> None:
        """Send `task` to its queue; QueueUnavailableError if the broker did not take it."""
        try:
            self._celery.send_task(
                task,
                args=args,
                queue=TASK_QUEUES[task],
                task_id=task_id,
                countdown=countdown,
                retry=False,
            )
        except Exception as error:
            # Whatever kombu, redis-py or the socket raised, the task did not get through.
            raise QueueUnavailableError(f"{type(error).__name__}: {error}") from error


def task_sender() -> TaskSender:
    sender: TaskSender | None = current_app.extensions.get(SENDER_EXTENSION)
    if sender is None:
        sender = TaskSender(
            current_app.config["BROKER_URL"],
            timeout_seconds=current_app.config["BROKER_PUBLISH_TIMEOUT_SECONDS"],
        )
        current_app.extensions[SENDER_EXTENSION] = sender
    return sender
