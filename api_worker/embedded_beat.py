"""`celery -A api_worker worker --pool solo --beat-thread --schedule FILE`: Celery beat as a thread.

`make run` runs beat so, in both profiles (compose runs it as a service of its own, or so with
compose.small.yml), instead of as a process of its own (~40 MiB). Celery's own `--beat` forks beat
into a child process, which copies some 25 MiB of the worker's pages. A thread is safe only in a
worker that forks nothing after it started, so only with `--pool solo` (checked): a prefork pool
replaces its processes by forking, and a fork while beat's thread holds a lock (logging's, the
broker connection's) leaves that lock held forever in the child. The api worker is solo.

Nothing of beat's guarantee depends on its being apart: it only sends task messages, every job
is idempotent (scheduler/), and a beat that dies with its worker comes back with it and runs
what fell due meanwhile from its schedule file, as a beat process that dies does. If the thread
itself fails, the worker stops (api_worker/embedded_relay.py, stop_worker), as the process would.
"""

from __future__ import annotations

from typing import Any

from celery import bootsteps
from celery.beat import Service
from celery.concurrency.solo import TaskPool as SoloPool
from click import Option

from api_worker.app import celery_app
from api_worker.embedded_relay import start_thread


class BeatThreadStep(bootsteps.StartStopStep):  # type: ignore[misc]  # Celery is untyped
    """Starts beat's thread with the worker; stops it (its schedule file saved) with the worker."""

    def __init__(self, parent: Any, beat_thread: bool = False, **options: Any) -> None:
        super().__init__(parent, **options)
        self.enabled = beat_thread
        solo = isinstance(parent.pool_cls, type) and issubclass(parent.pool_cls, SoloPool)
        if beat_thread and not solo:
            raise ValueError("--beat-thread needs --pool solo: a pool that forks copies its locks")
        self._service: Any = None

    def start(self, parent: Any) -> None:
        self._service = Service(parent.app, schedule_filename=parent.schedule_filename)
        start_thread("beat", self._service.start)

    def stop(self, parent: Any) -> None:
        if self._service is not None:
            self._service.stop(wait=True)


celery_app.user_options["worker"].add(
    Option(("--beat-thread",), is_flag=True, default=False, help="Run beat as a thread (solo).")
)
celery_app.steps["worker"].add(BeatThreadStep)
