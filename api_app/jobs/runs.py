"""Run a job at most once per period, whatever the number of schedulers and workers.

`once_per_period("month-close", "2026-11", work)` runs `work` unless `job_runs` says that period
is done, and records it as done afterwards. While it runs, a session-level advisory lock (on a
connection of its own, outside any transaction, so the work's commits do not release it) keeps a
second copy from starting; if the process dies, PostgreSQL drops the lock with the connection
and the next run does the work again, which each job tolerates (its effects are idempotent
themselves). The check, the work's steps and the record of the period are units of work of
their own.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert

from api_app.extensions import db
from api_app.models import JobRun
from api_app.unit_of_work import UnitOfWork

logger = logging.getLogger(__name__)

T = TypeVar("T")


@dataclass(frozen=True)
class JobOutcome(Generic[T]):
    # "done": ran now; "partly done": ran, the period needs another run; "already done": an
    # earlier run did this period; "busy": a copy is running.
    status: str
    result: T | None = None


def once_per_period(
    job: str,
    period: str,
    work: Callable[[], T],
    finished: Callable[[T], bool] = lambda _: True,
) -> JobOutcome[T]:
    """Run `work` unless the period is done; it is done once a run's result is `finished`."""
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as lock_connection:
        lock_key = func.hashtext(f"job:{job}")
        if not lock_connection.scalar(select(func.pg_try_advisory_lock(lock_key))):
            logger.info("job %s for %s: another run holds it", job, period)
            return JobOutcome("busy")
        try:
            with UnitOfWork() as uow:
                done = uow.session.get(JobRun, (job, period)) is not None
            if done:
                return JobOutcome("already done")
            result = work()
            if not finished(result):
                logger.info("job %s for %s: ran, more to do later (%s)", job, period, result)
                return JobOutcome("partly done", result)
            with UnitOfWork() as uow:
                uow.session.execute(
                    insert(JobRun).values(job=job, period=period).on_conflict_do_nothing()
                )
            logger.info("job %s for %s: done (%s)", job, period, result)
            return JobOutcome("done", result)
        finally:
            lock_connection.execute(select(func.pg_advisory_unlock(lock_key)))
