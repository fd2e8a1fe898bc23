"""The Celery beat application: `celery -A scheduler.beat beat` (the schedule is in __init__)."""

from __future__ import annotations

from event_contract import TASK_SIGNATURES
from scheduler import BEAT_SETTINGS
from service_kit.celery_apps import broker_url
from service_kit.message_signing import signing_celery

# Its messages are signed with the jobs' keys (BROKER_SIGNING_KEY_API_JOBS, _NOTIFY_JOBS).
celery_app = signing_celery("budget_scheduler", TASK_SIGNATURES)
celery_app.conf.update(
    broker_url=broker_url(),
    task_serializer="json",
    accept_content=["json"],
    broker_connection_retry_on_startup=True,
    **BEAT_SETTINGS,
)

# `celery -A scheduler.beat` looks for an attribute named `app` or `celery`.
app = celery_app
