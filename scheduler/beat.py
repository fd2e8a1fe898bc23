"""The Celery beat application: `celery -A scheduler.beat beat` (the schedule is in __init__)."""

from __future__ import annotations

import os

from celery import Celery

from scheduler import DELIVERY_SWEEP_INTERVAL_SECONDS, SCHEDULE

celery_app = Celery("budget_scheduler")
celery_app.conf.update(
    broker_url=os.environ.get("BROKER_URL", "redis://localhost:6379/0"),
    timezone="UTC",
    enable_utc=True,
    beat_schedule=SCHEDULE,
    task_serializer="json",
    accept_content=["json"],
    broker_connection_retry_on_startup=True,
    # Wake up at least this often, so a short sweep interval is kept.
    beat_max_loop_interval=min(5.0, DELIVERY_SWEEP_INTERVAL_SECONDS),
)

# `celery -A scheduler.beat` looks for an attribute named `app` or `celery`.
app = celery_app
