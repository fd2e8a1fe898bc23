"""The api worker's Celery application: it consumes the api_jobs queue only."""

from __future__ import annotations

import os
from typing import Any

from celery import Celery
from celery.signals import setup_logging
from kombu import Queue  # type: ignore[attr-defined]

from api_app.logs import configure_logging
from event_contract import API_JOBS_QUEUE
from scheduler import BEAT_SETTINGS

BROKER_URL = os.environ.get("BROKER_URL", "redis://localhost:6379/0")
# Every consumer of one Redis database shares one set of unacknowledged tasks, and whichever
# scans it first hands back everything older than its own timeout: the notifications workers'
# timeout (worker/app.py) applies to this queue's tasks whatever is set here, so it is set the
# same. A command or job taken by a worker that then died is handed out again after it.
BROKER_VISIBILITY_TIMEOUT_SECONDS = int(os.environ.get("BROKER_VISIBILITY_TIMEOUT_SECONDS", "30"))
UNACKED_RESTORE_INTERVAL_SECONDS = min(60, max(1, BROKER_VISIBILITY_TIMEOUT_SECONDS // 4))

celery_app = Celery("budget_api_jobs")
celery_app.conf.update(
    broker_url=BROKER_URL,
    task_ignore_result=True,
    task_default_queue=API_JOBS_QUEUE,
    task_queues=[Queue(API_JOBS_QUEUE)],  # type: ignore[no-untyped-call]
    task_serializer="json",
    accept_content=["json"],
    task_acks_late=True,
    task_reject_on_worker_lost=True,
    worker_prefetch_multiplier=1,
    broker_connection_retry_on_startup=True,
    # Remote control of its own: a broadcast meant for the notifications workers (`celery
    # control add_consumer notifications`, the benchmark's hold and release) never makes this
    # worker take tasks it does not know.
    control_exchange="budget_api_jobs",
    # A job can take longer than the visibility timeout (closing a month for many users); a
    # copy handed out meanwhile finds the job's lock taken and returns (api_app/jobs/runs.py),
    # and a bot command's copy finds the command's row (api_app/bot/service.py).
    broker_transport_options={
        "visibility_timeout": BROKER_VISIBILITY_TIMEOUT_SECONDS,
        "unacked_restore_interval": UNACKED_RESTORE_INTERVAL_SECONDS,
        "unacked_restore_throttle": 1,
    },
    worker_hijack_root_logger=False,
    imports=["api_worker.tasks"],
    # Every periodic job, for when beat runs as a thread of this worker (`--beat-thread`, as
    # `make run` runs it; api_worker/embedded_beat.py).
    **BEAT_SETTINGS,
)


@setup_logging.connect
def use_service_logging(**_: Any) -> None:
    configure_logging(
        "api-worker", os.environ.get("LOG_FORMAT", "json"), os.environ.get("LOG_LEVEL", "INFO")
    )
