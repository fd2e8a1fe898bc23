"""Every periodic job of the system, in one place; `celery -A scheduler.beat beat` runs them.

Celery beat only sends task messages by name, in UTC; the job runs in a worker of the service
that owns its data, so database per service holds:

    job                       when (UTC)                       queue          runs in
    delivery sweep            every 5 s (DELIVERY_SWEEP_...)   notifications  worker
    Telegram link-code purge  hourly at :15                    notifications  worker
    month close (digest)      hourly at :05, once per month    api_jobs       api_worker
    recurring transactions    hourly at :10                    api_jobs       api_worker
    refresh-token purge       hourly at :25                    api_jobs       api_worker
    outbox retention purge    hourly at :35                    api_jobs       api_worker

worker works on budget_notifications only, api_worker on budget_api only.

Each job is idempotent (a purge deletes what is expired; the sweep hands out what is overdue;
the month close records its period in budget_api's job_runs), so several beat replicas, a
repeated run or a late one after downtime do the work once. A new job is one more entry below
and one task in the worker that owns its data.

This module imports neither service: the task names and queues are the event contract's.
"""

from __future__ import annotations

import os
from typing import Any, Final

from celery.schedules import crontab

from event_contract import (
    API_JOBS_QUEUE,
    CLOSE_MONTH_TASK,
    NOTIFICATIONS_QUEUE,
    PURGE_LINK_CODES_TASK,
    PURGE_OUTBOX_TASK,
    PURGE_REFRESH_TOKENS_TASK,
    RECORD_RECURRING_TASK,
    SWEEP_DELIVERIES_TASK,
    TASK_QUEUES,
)

__all__ = [
    "API_JOBS_QUEUE",
    "CLOSE_MONTH_TASK",
    "DELIVERY_SWEEP_INTERVAL_SECONDS",
    "NOTIFICATIONS_QUEUE",
    "PURGE_LINK_CODES_TASK",
    "PURGE_OUTBOX_TASK",
    "PURGE_REFRESH_TOKENS_TASK",
    "RECORD_RECURRING_TASK",
    "SCHEDULE",
    "SWEEP_DELIVERIES_TASK",
]

DELIVERY_SWEEP_INTERVAL_SECONDS = float(os.environ.get("DELIVERY_SWEEP_INTERVAL_SECONDS", "5"))
SWEEP_EXPIRES_SECONDS = 60.0


def _hourly(task: str, minute: int) -> dict[str, Any]:
    # A copy that waited an hour in a queue (its workers were down) is dropped: the next one
    # comes anyway.
    return {
        "task": task,
        "schedule": crontab(minute=str(minute)),
        "options": {"queue": TASK_QUEUES[task], "expires": 3600},
    }


SCHEDULE: Final[dict[str, dict[str, Any]]] = {
    "delivery-sweep": {
        "task": SWEEP_DELIVERIES_TASK,
        "schedule": DELIVERY_SWEEP_INTERVAL_SECONDS,
        # Sweeps that piled up while no worker ran are worthless (the next one does it all), but
        # one that waited behind a backlog of events must still run: a minute.
        "options": {"queue": TASK_QUEUES[SWEEP_DELIVERIES_TASK], "expires": SWEEP_EXPIRES_SECONDS},
    },
    "link-code-purge": _hourly(PURGE_LINK_CODES_TASK, 15),
    "month-close": _hourly(CLOSE_MONTH_TASK, 5),
    # Hourly, not daily: each user's occurrence of the day is due at midnight in their zone.
    "recurring-transactions": _hourly(RECORD_RECURRING_TASK, 10),
    "refresh-token-purge": _hourly(PURGE_REFRESH_TOKENS_TASK, 25),
    "outbox-purge": _hourly(PURGE_OUTBOX_TASK, 35),
}

# Beat's own settings: `celery -A scheduler.beat beat` uses them, and so does the api worker, for
# when it runs beat as a thread (`--beat-thread`, as `make run` runs it).
BEAT_SETTINGS: Final[dict[str, Any]] = {
    "timezone": "UTC",
    "enable_utc": True,
    "beat_schedule": SCHEDULE,
    # Wake up at least this often, so a short sweep interval is kept.
    "beat_max_loop_interval": min(5.0, DELIVERY_SWEEP_INTERVAL_SECONDS),
}
