"""Thin Celery tasks: each takes ids or small payloads and calls into notify_app.

Database trouble (notify's PostgreSQL down, a deadlock) is retried with exponential backoff and
jitter; everything the handlers decide is idempotent, so a retry or a redelivery does no harm.
Telegram's own failures are not retried here: a delivery's waits and retries are rows of the
delivery log, re-enqueued by notify_app (see notify_app/deliveries/sending.py).
"""

from __future__ import annotations

import gc
from functools import cache
from typing import Any

from celery.signals import worker_before_create_process, worker_init
from flask import Flask

import notify_app
from event_contract import (
    HANDLE_EVENT_TASK,
    PING_TASK,
    PURGE_LINK_CODES_TASK,
    SEND_DELIVERY_TASK,
    SWEEP_DELIVERIES_TASK,
    DeliveryDue,
)
from notify_app import handlers
from notify_app.deliveries.sending import deliver, sweep_overdue
from notify_app.linking.service import purge_link_codes as purge_unusable_link_codes
from service_kit.database import TRANSIENT_DATABASE_ERRORS
from worker.app import MAX_COUNTDOWN_SECONDS, celery_app

# Countdowns of up to 2, 4, 8 ... seconds (full jitter), capped at a third of the visibility
# timeout (10 s by default; a countdown task is held unacknowledged by the worker, and one held
# longer than the timeout would be handed out twice): about an hour and a half of retries.
RETRY_OPTIONS: dict[str, Any] = {
    "autoretry_for": TRANSIENT_DATABASE_ERRORS,
    "retry_backoff": 2,
    "retry_backoff_max": MAX_COUNTDOWN_SECONDS,
    "retry_jitter": True,
    "max_retries": max(25, 5400 // MAX_COUNTDOWN_SECONDS),
}


@cache
def notify_application() -> Flask:
    """notify_app, created once, in the worker's first process before it forks anything
    (share_with_forked_processes). Making it opens no connection, so its pools start empty in
    every child and none is shared.

    Its log lines say "worker", so an operator tells them from the web service's.
    """
    # No ping before each checkout (notify_app pings none): a task whose connection died with
    # PostgreSQL fails with OperationalError before it sent anything and is retried
    # (RETRY_OPTIONS), and recording an outcome retries by itself; the dead pool is discarded at
    # the first such error.
    return notify_app.create_app({"SERVICE_NAME": "worker"})


@worker_init.connect
def share_with_forked_processes(sender: Any, **_: Any) -> None:
    """Before the worker forks its pool: the app is made here once and frozen with everything the
    parent imported, out of the collector's reach, so the children share those pages instead of
    copying them (a collection writes to every object it visits; see gunicorn.conf.py)."""
    if sender.app is not celery_app:  # another app's worker in this process (a test's)
        return
    notify_application()
    gc.freeze()


@worker_before_create_process.connect
def freeze_before_fork(**_: Any) -> None:
    """What the parent made since (a pool process replaced later) is frozen the same way."""
    gc.freeze()


@celery_app.task(name=PING_TASK, ignore_result=False)
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
    """A pending delivery of notify_app's log (DeliveryDue.to_args()): the test message, a
    wait's countdown, the sweep's hand-over."""
    due = DeliveryDue.from_args(delivery_id)
    with notify_application().app_context():
        deliver(due.delivery_id)


# Periodic jobs: scheduler/ (Celery beat) names them; each is idempotent, so several beat
# replicas, or a run repeated after downtime, do no harm.


@celery_app.task(name=SWEEP_DELIVERIES_TASK)
def sweep_deliveries() -> int:
    """Re-enqueue pending deliveries whose worker died or whose task was lost."""
    with notify_application().app_context():
        return sweep_overdue()


@celery_app.task(name=PURGE_LINK_CODES_TASK)
def purge_link_codes() -> int:
    """Delete Telegram link codes that can link nothing any more (expired or used)."""
    with notify_application().app_context():
        return purge_unusable_link_codes()
