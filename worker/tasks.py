"""Thin Celery tasks: each takes ids or small payloads and calls into notify_app.

Database trouble (notify's PostgreSQL down, a deadlock) is retried with exponential backoff and
jitter; everything the handlers decide is idempotent, so a retry or a redelivery does no harm.
Telegram's own failures are not retried here: the Telegram client retries what is worth it,
and the delivery log records the final outcome.
"""

from __future__ import annotations

import uuid
from functools import cache
from typing import Any

from flask import Flask
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

import notify_app
from event_contract import HANDLE_EVENT_TASK
from notify_app import handlers
from notify_app.deliveries.queue import SEND_DELIVERY_TASK
from notify_app.deliveries.sending import deliver
from worker.app import celery_app

TRANSIENT_ERRORS = (OperationalError, InterfaceError, PoolTimeoutError)

# Countdowns of up to 2, 4, 8 ... seconds (full jitter), capped at 5 minutes: at most about an
# hour and a half of retries, every countdown well below the broker's visibility timeout (see
# worker/app.py).
RETRY_OPTIONS: dict[str, Any] = {
    "autoretry_for": TRANSIENT_ERRORS,
    "retry_backoff": 2,
    "retry_backoff_max": 300,
    "retry_jitter": True,
    "max_retries": 25,
}


@cache
def notify_application() -> Flask:
    """notify_app, created once per worker process (after the fork, so no pool is shared).

    Its log lines say "worker", so an operator tells them from the web service's.
    """
    return notify_app.create_app({"SERVICE_NAME": "worker"})


@celery_app.task(name="notifications.ping", ignore_result=False)
def ping(token: str) -> str:
    """A no-op round trip: proves a worker is consuming the notifications queue."""
    return token


@celery_app.task(name=HANDLE_EVENT_TASK, **RETRY_OPTIONS)
def handle_event(message: dict[str, Any]) -> None:
    """An event from api_app's outbox (event_contract.Event.to_message())."""
    with notify_application().app_context():
        handlers.handle_event(message)


@celery_app.task(name=SEND_DELIVERY_TASK, **RETRY_OPTIONS)
def send_delivery(delivery_id: str) -> None:
    """A pending delivery logged by notify_app itself (the test message)."""
    with notify_application().app_context():
        deliver(uuid.UUID(delivery_id))
