"""A real `celery worker` process consumes the notifications queue."""

from __future__ import annotations

import secrets
import urllib.request

from tests.processes import LaunchedProcess


def test_a_task_makes_a_round_trip_through_a_real_worker(celery_worker: LaunchedProcess) -> None:
    from worker.tasks import ping

    token = secrets.token_hex(8)
    result = ping.apply_async(args=[token])
    assert result.get(timeout=30) == token
    assert "notifications.ping" in celery_worker.log_tail(200)


def test_the_worker_serves_task_metrics(celery_worker: LaunchedProcess) -> None:
    from prometheus_client.parser import text_string_to_metric_families

    from worker.tasks import ping

    assert ping.apply_async(args=["metrics"]).get(timeout=30) == "metrics"
    url = f"http://127.0.0.1:{celery_worker.metrics_port}/metrics"
    with urllib.request.urlopen(url, timeout=10) as response:
        text = response.read().decode()
    successes = [
        sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == "worker_tasks_total"
        and sample.labels == {"task": "notifications.ping", "outcome": "success"}
    ]
    assert successes
    assert successes[0] >= 1
