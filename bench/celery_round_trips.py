"""The bare Celery baseline: no-op task round trips through the system's own broker and worker.

`notifications.ping` (worker/tasks.py) returns its argument and keeps its result in Redis, so a
round trip is publish -> broker -> the worker `make run` started (same concurrency, prefetch and
acknowledgement settings as for real events) -> result backend -> client: everything the
notification pipeline needs from Celery, and nothing of ours.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass

from celery import Celery

from event_contract import NOTIFICATIONS_QUEUE


@dataclass(frozen=True)
class RoundTripPlan:
    broker_url: str
    count: int
    # None: publish all at once, then collect every result (throughput).
    # A rate: one round trip due every 1/rate seconds (latency under a light steady load).
    rate_per_second: float | None
    timeout_seconds: float


@dataclass(frozen=True)
class RoundTrip:
    # Wall-clock times, comparable with other processes' timestamps.
    sent_at: float
    done_at: float


def ping_task_name() -> str:
    from worker.tasks import ping

    name: str = ping.name
    return name


def client(broker_url: str) -> Celery:
    return Celery("bench", broker=broker_url, backend=broker_url)


def run_round_trips(plan: RoundTripPlan) -> list[RoundTrip]:
    """Entry point in the load-generator process."""
    app = client(plan.broker_url)
    task_name = ping_task_name()
    deadline = time.monotonic() + plan.timeout_seconds

    def publish() -> tuple[float, object]:
        sent_at = time.time()
        return sent_at, app.send_task(
            task_name, args=[secrets.token_hex(4)], queue=NOTIFICATIONS_QUEUE
        )

    def collect(result: object) -> float:
        remaining = max(0.1, deadline - time.monotonic())
        result.get(timeout=remaining)  # type: ignore[attr-defined]
        return time.time()

    trips: list[RoundTrip] = []
    try:
        if plan.rate_per_second is None:
            published = [publish() for _ in range(plan.count)]
            trips = [RoundTrip(sent_at, collect(result)) for sent_at, result in published]
        else:
            started = time.monotonic()
            for number in range(plan.count):
                time.sleep(max(0.0, started + number / plan.rate_per_second - time.monotonic()))
                sent_at, result = publish()
                trips.append(RoundTrip(sent_at, collect(result)))
    finally:
        app.close()
    return trips


def wait_for_worker(broker_url: str, timeout_seconds: float) -> None:
    """Block until the worker answers a ping, i.e. consumes the notifications queue."""
    app = client(broker_url)
    deadline = time.monotonic() + timeout_seconds
    try:
        while True:
            try:
                app.send_task(ping_task_name(), args=["ready?"], queue=NOTIFICATIONS_QUEUE).get(
                    timeout=5
                )
                return
            except Exception:
                if time.monotonic() >= deadline:
                    raise
    finally:
        app.close()
