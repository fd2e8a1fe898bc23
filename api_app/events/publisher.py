"""Hands event messages to the broker by task name: api_app never imports the worker."""

from __future__ import annotations

from typing import Any

from event_contract import HANDLE_EVENT_TASK, NOTIFICATIONS_QUEUE, TASK_SIGNATURES
from service_kit.celery_apps import BrokerClient, BrokerUnavailableError

# The broker did not accept a message; it stays in the outbox for the relay.
PublishError = BrokerUnavailableError


class EventPublisher:
    """Sends events without retrying: retrying is the relay's job, and the outbox row is what
    makes that safe (service_kit.celery_apps.BrokerClient: a down Redis costs a request that
    just committed an event about `timeout_seconds`)."""

    def __init__(self, broker_url: str, *, timeout_seconds: float) -> None:
        self._client = BrokerClient(
            "budget_api_outbox",
            broker_url,
            timeout_seconds=timeout_seconds,
            signatures=TASK_SIGNATURES,
        )

    def publish(self, message: dict[str, Any]) -> None:
        """Send one event message to the notifications queue; raise PublishError if refused.

        The Celery task id is the event id, so a message published twice (the fast path and
        the relay racing a crash) is still one event to the worker's delivery log.
        """
        self._client.send(
            HANDLE_EVENT_TASK, [message], queue=NOTIFICATIONS_QUEUE, task_id=str(message["id"])
        )

    def close(self) -> None:
        self._client.close()
