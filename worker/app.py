"""The notifications worker's Celery application: it consumes the notifications queue.

Deliveries do not wait for the broker's visibility timeout (the delivery log's leases and the
sweep recover them); it is the last backstop for an event whose worker died before its delivery
row existed (see service_kit.celery_apps).
"""

from __future__ import annotations

from event_contract import NOTIFICATIONS_QUEUE, TASK_SIGNATURES
from service_kit.celery_apps import max_countdown_seconds, worker_app

# Countdowns of re-enqueued tasks (429 waits, backoffs, database retries) stay below this.
MAX_COUNTDOWN_SECONDS = max_countdown_seconds()

celery_app = worker_app(
    "budget_notifications",
    signatures=TASK_SIGNATURES,
    queue=NOTIFICATIONS_QUEUE,
    imports=["worker.tasks"],
    service="worker",
    # Results are only kept for the ping round trip; delivery outcomes live in the database.
    keep_results=True,
)
