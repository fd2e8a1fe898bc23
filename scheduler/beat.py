"""The Celery beat application: `celery -A scheduler.beat beat` (the schedule is in __init__)."""

from __future__ import annotations

import os

from scheduler import BEAT_SETTINGS
from service_kit.message_signing import signing_celery

# Its messages are signed with the jobs' keys (BROKER_SIGNING_KEY_API_JOBS, _NOTIFY_JOBS).
celery_app = signing_celery("budget_scheduler")
celery_app.conf.update(
    broker_url=os.environ.get("BROKER_URL", "redis://localhost:6379/0"),
    task_serializer="json",
    accept_content=["json"],
    broker_connection_retry_on_startup=True,
    **BEAT_SETTINGS,
)

# `celery -A scheduler.beat` looks for an attribute named `app` or `celery`.
app = celery_app
