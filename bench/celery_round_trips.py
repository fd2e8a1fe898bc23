"""The bare Celery baseline: no-op task round trips through the system's own broker and worker.

`notifications.ping` (worker/tasks.py) returns its argument and keeps its result in Redis, so a
round trip is publish -> broker -> the worker `make run` started (same concurrency, prefetch and
acknowledgement settings as for real events) -> result backend -> client: everything the
notification pipeline needs from Celery, and nothing of ours.

Throughput is measured as a drain: the worker stops consuming the queue (Celery's remote
`cancel_consumer`), the tasks are published, and from the moment it consumes again
(`add_consumer`) until the last result, the worker runs flat out. The notification scenario
drains its events the same way, so both figures are the worker's pace, not the producer's.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, field
from typing import Any, Final

from celery import Celery

from event_contract import NOTIFICATIONS_QUEUE, TASK_SIGNATURES
from service_kit.message_signing import signing_celery

CONTROL_REPLY_SECONDS: Final = 5.0


class WorkerControlError(RuntimeError):
    """No worker acknowledged a remote-control command."""


@dataclass(frozen=True)
class RoundTripPlan:
    broker_url: str
    count: int
    # None: a drain (publish all while the worker is held, release it, collect every result).
    # A rate: one round trip due every 1/rate seconds (latency under a light steady load).
    rate_per_second: float | None
    timeout_seconds: float


@dataclass(frozen=True)
class RoundTrip:
    # Wall-clock times, comparable with other processes' timestamps.
    sent_at: float
    done_at: float


@dataclass(frozen=True)
class RoundTrips:
    trips: list[RoundTrip] = field(default_factory=list)
    # When the held worker was let go (drains only).
    released_at: float | None = None

    def drain_per_second(self) -> float:
        assert self.released_at is not None
        return len(self.trips) / (max(trip.done_at for trip in self.trips) - self.released_at)

    def latencies(self) -> list[float]:
        return [trip.done_at - trip.sent_at for trip in self.trips]


def ping_task_name() -> str:
    from worker.tasks import ping

    name: str = ping.name
    return name


def client(broker_url: str) -> Celery:
    return signing_celery("bench", TASK_SIGNATURES, broker=broker_url, backend=broker_url)


def hold_consumers(app: Celery) -> int:
    """Every worker stops taking tasks from the notifications queue (they stay queued).

    Returns how many workers there are, for `release_consumers`.
    """
    workers = len(app.control.ping(timeout=CONTROL_REPLY_SECONDS))
    if workers == 0:
        raise WorkerControlError(f"no worker answered a ping within {CONTROL_REPLY_SECONDS}s")
    _control(app, "cancel_consumer", workers)
    return workers


def release_consumers(app: Celery, workers: int) -> None:
    _control(app, "add_consumer", workers)


def _control(app: Celery, command: str, workers: int) -> None:
    # Without `limit` a broadcast waits out its whole timeout collecting replies.
    replies: list[Any] = getattr(app.control, command)(
        NOTIFICATIONS_QUEUE, reply=True, limit=workers, timeout=CONTROL_REPLY_SECONDS
    )
    if len(replies) < workers:
        raise WorkerControlError(
            f"{len(replies)} of {workers} workers answered {command} within"
            f" {CONTROL_REPLY_SECONDS}s"
        )


def run_round_trips(plan: RoundTripPlan) -> RoundTrips:
    """Entry point in the load-generator process."""
    app = client(plan.broker_url)
    task_name = ping_task_name()
    deadline = time.monotonic() + plan.timeout_seconds

    def publish() -> tuple[float, Any]:
        sent_at = time.time()
        return sent_at, app.send_task(
            task_name, args=[secrets.token_hex(4)], queue=NOTIFICATIONS_QUEUE
        )

    def collect(result: Any) -> float:
        result.get(timeout=max(0.1, deadline - time.monotonic()))
        return time.time()

    try:
        if plan.rate_per_second is None:
            workers = hold_consumers(app)
            try:
                published = [publish() for _ in range(plan.count)]
            finally:
                released_at = time.time()
                release_consumers(app, workers)
            trips = [RoundTrip(sent_at, collect(result)) for sent_at, result in published]
            return RoundTrips(trips, released_at)
        trips = []
        started = time.monotonic()
        for number in range(plan.count):
            time.sleep(max(0.0, started + number / plan.rate_per_second - time.monotonic()))
            sent_at, result = publish()
            trips.append(RoundTrip(sent_at, collect(result)))
        return RoundTrips(trips)
    finally:
        app.close()


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
