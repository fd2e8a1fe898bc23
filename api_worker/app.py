"""The api worker's Celery application: it consumes the api_jobs queue only.

A command or job taken by a worker that then died is handed out again after the broker's
visibility timeout, the notifications worker's (service_kit.celery_apps). A job can take longer
than that (closing a month for many users); a copy handed out meanwhile finds the job's lock
taken and returns (api_app/jobs/runs.py), and a bot command's copy finds the command's row
(api_app/bot/service.py).
"""

from __future__ import annotations

from event_contract import API_JOBS_QUEUE, TASK_SIGNATURES
from scheduler import BEAT_SETTINGS
from service_kit.celery_apps import worker_app

celery_app = worker_app(
    "budget_api_jobs",
    signatures=TASK_SIGNATURES,
    queue=API_JOBS_QUEUE,
    imports=["api_worker.tasks"],
    service="api-worker",
    # `celery control add_consumer notifications` and the benchmark's hold and release are
    # meant for the notifications workers.
    control_exchange="budget_api_jobs",
)
# Every periodic job, for when beat runs as a thread of this worker (`--beat-thread`, as `make
# run` runs it; api_worker/embedded_beat.py).
celery_app.conf.update(**BEAT_SETTINGS)
