"""The worker's Prometheus metrics (its logs: service_kit.celery_apps.worker_app).

Celery runs tasks in forked child processes, so metrics use prometheus_client's multiprocess
mode: children write to PROMETHEUS_MULTIPROC_DIR and the main process serves the sum of them on
WORKER_METRICS_PORT. The launcher sets that directory (`make run`, compose, the tests), as
prometheus_client reads it once, at import; without it the worker serves no metrics.
"""

from __future__ import annotations

import logging
import os
from typing import Any

from celery.signals import task_postrun, worker_ready
from prometheus_client import CollectorRegistry, Counter, start_http_server
from prometheus_client.multiprocess import MultiProcessCollector

logger = logging.getLogger(__name__)

DEFAULT_METRICS_PORT = 9540

tasks_finished = Counter(
    "worker_tasks_total", "Tasks the worker finished, by task and outcome", ["task", "outcome"]
)


@task_postrun.connect
def count_task_outcome(sender: Any = None, state: str | None = None, **_: Any) -> None:
    task_name = getattr(sender, "name", "unknown")
    tasks_finished.labels(task=task_name, outcome=(state or "unknown").lower()).inc()


@worker_ready.connect
def serve_metrics(**_: Any) -> None:
    port = int(os.environ.get("WORKER_METRICS_PORT", str(DEFAULT_METRICS_PORT)))
    if port == 0:
        return
    if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        logger.warning("PROMETHEUS_MULTIPROC_DIR is not set: the worker serves no metrics")
        return
    registry = CollectorRegistry()
    MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    address = os.environ.get("WORKER_METRICS_ADDRESS", "127.0.0.1")
    try:
        start_http_server(port, addr=address, registry=registry)
    except OSError as error:
        # Metrics are for operators; a taken port must not stop notifications from flowing.
        logger.error("worker metrics not served on %s:%d: %s", address, port, error)
        return
    logger.info("worker metrics on http://%s:%d/metrics", address, port)
