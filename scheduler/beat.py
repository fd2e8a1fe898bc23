"""The Celery beat application: `celery -A scheduler.beat beat` (the schedule is in __init__)."""

from __future__ import annotations

import os

from celery import Celery

from scheduler import BEAT_SETTINGS

celery_app = Celery("budget_scheduler")
celery_app.conf.update(
    broker_url=os.environ.get("BROKER_URL", "redis://localhost:6379/0"),
    task_serializer="json",
    accept_content=["json"],
    broker_connection_retry_on_startup=True,
    **BEAT_SETTINGS,
)

# `celery -A scheduler.beat` looks for an attribute named `app` or `celery`.
app = celery_app
