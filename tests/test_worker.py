"""A real `celery worker` process consumes the notifications queue."""

from __future__ import annotations

import secrets

from tests.conftest import WorkerProcess


def test_a_task_makes_a_round_trip_through_a_real_worker(celery_worker: WorkerProcess) -> None:
    from worker.tasks import ping

    token = secrets.token_hex(8)
    result = ping.apply_async(args=[token])
    assert result.get(timeout=30) == token
    assert "notifications.ping" in celery_worker.log_tail(200)
