"""The Celery application, configured from BROKER_URL, with the notifications queue declared."""

from __future__ import annotations

import os

from celery import Celery
from kombu import Queue  # type: ignore[attr-defined]

from event_contract import NOTIFICATIONS_QUEUE

BROKER_URL = os.environ.get("BROKER_URL", "redis://localhost:6379/0")
# Redis has no acknowledgements of its own: a task taken by a worker that then vanished (killed
# with its pool, machine gone) is handed out again once it has been unacknowledged this long.
# Deliveries do not wait for it (the delivery log's leases and the sweep recover them); it is the
# last backstop for an event whose worker died before its delivery row existed. It can be short
# because no task holds a message long: one sendMessage request per task, no sleeping, and
# countdowns (429 waits, backoffs, database retries) capped at a third of it.
BROKER_VISIBILITY_TIMEOUT_SECONDS = int(os.environ.get("BROKER_VISIBILITY_TIMEOUT_SECONDS", "30"))
MAX_COUNTDOWN_SECONDS = max(1, BROKER_VISIBILITY_TIMEOUT_SECONDS // 3)
# How often a worker looks for such abandoned tasks: a fraction of the timeout, at most a minute.
UNACKED_RESTORE_INTERVAL_SECONDS = min(60, max(1, BROKER_VISIBILITY_TIMEOUT_SECONDS // 4))

celery_app = Celery("budget_notifications")
celery_app.conf.update(
    broker_url=BROKER_URL,
    # Results are only kept for the ping round trip; delivery outcomes live in the database.
    result_backend=BROKER_URL,
    result_expires=300,
    task_ignore_result=True,
    task_default_queue=NOTIFICATIONS_QUEUE,
    task_queues=[Queue(NOTIFICATIONS_QUEUE)],  # type: ignore[no-untyped-call]
    task_serializer="json",
    accept_content=["json"],
    # A task is acknowledged only after it ran, and a task whose worker died is redelivered:
    # together with idempotent handlers, no event is lost to a crash.
    task_acks_late=True,
    task_reject_on_worker_lost=True,
    worker_prefetch_multiplier=1,
    broker_connection_retry_on_startup=True,
    broker_transport_options={
        "visibility_timeout": BROKER_VISIBILITY_TIMEOUT_SECONDS,
        "unacked_restore_interval": UNACKED_RESTORE_INTERVAL_SECONDS,
        # Scan on every sweep (kombu's default only scans on every tenth).
        "unacked_restore_throttle": 1,
    },
    worker_hijack_root_logger=False,
    imports=["worker.tasks"],
)
