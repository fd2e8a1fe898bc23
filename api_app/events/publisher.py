"""Hands event messages to the broker by task name: api_app never imports the worker."""

from __future__ import annotations

from typing import Any

from celery import Celery

from event_contract import HANDLE_EVENT_TASK, NOTIFICATIONS_QUEUE


class PublishError(Exception):
    """The broker did not accept a message; it stays in the outbox for the relay."""


class EventPublisher:
    """A Celery *client*: it only sends, with short timeouts and no retries of its own.

    A request that just committed an event waits on this (the fast path), so a down Redis must
    cost it about `timeout_seconds`, not Celery's default minutes of reconnecting. Retrying is
    the relay's job, and the outbox row is what makes that safe.
    """

    def __init__(self, broker_url: str, *, timeout_seconds: float) -> None:
        # set_as_current=False: this client must never become the process's default Celery app
        # (in the worker's tests both live in one process).
        self._celery = Celery("budget_api_outbox", broker=broker_url, set_as_current=False)
        self._celery.conf.update(
            broker_connection_timeout=timeout_seconds,
            broker_connection_retry=False,
            broker_transport_options={
                "socket_connect_timeout": timeout_seconds,
                "socket_timeout": timeout_seconds,
                # kombu would otherwise reconnect with growing pauses before giving up.
                "max_retries": 0,
            },
            task_serializer="json",
            accept_content=["json"],
        )

    def publish(self, message: dict[str, Any]) -> None:
        """Send one event message to the notifications queue; raise PublishError if refused.

        The Celery task id is the event id, so a message published twice (the fast path and
        the relay racing a crash) is still one event to the worker's delivery log.
        """
        try:
            self._celery.send_task(
                HANDLE_EVENT_TASK,
                args=[message],
                queue=NOTIFICATIONS_QUEUE,
                task_id=str(message["id"]),
                retry=False,
            )
        except Exception as error:
            # Whatever kombu, redis-py or the socket raised, the message did not get through;
            # the caller keeps the row unpublished and the relay tries again.
            raise PublishError(f"{type(error).__name__}: {error}") from error

    def close(self) -> None:
        self._celery.close()
