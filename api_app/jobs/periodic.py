"""The jobs themselves; scheduler/__init__.py says when each runs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from flask import current_app

from api_app.auth.refresh_tokens import purge_expired
from api_app.budgets.month_close import CloseReport, close_month, previous_month
from api_app.events.outbox import purge_published
from api_app.jobs.runs import JobOutcome, once_per_period
from api_app.recurring.service import RunReport, record_due_occurrences
from api_app.unit_of_work import UnitOfWork

MONTH_CLOSE_JOB = "month-close"


def close_last_month(now: datetime | None = None) -> JobOutcome[CloseReport]:
    """The monthly digest of the month before `now`'s (UTC), once.

    Scheduled every hour: each user's digest goes out in the first hour after the month ended in
    their time zone, and a system that was down on the 1st sends it at the first run after it is
    back. The period counts as done once no user waits for their month to end.
    """
    moment = now or datetime.now(UTC)
    year, month = previous_month(moment.date())
    return once_per_period(
        MONTH_CLOSE_JOB,
        f"{year}-{month:02d}",
        lambda: close_month(year, month, moment),
        finished=lambda report: report.waiting == 0,
    )


def record_recurring_transactions() -> RunReport:
    """The occurrences of recurring transactions due up to each user's today; idempotent by
    itself (one per rule and date), so no period is recorded."""
    return record_due_occurrences()


def purge_refresh_tokens() -> int:
    """Delete expired refresh tokens; idempotent by nature."""
    with UnitOfWork():
        return purge_expired()


def purge_outbox() -> int:
    """Delete outbox rows published more than OUTBOX_RETENTION_HOURS ago."""
    retention = timedelta(hours=current_app.config["OUTBOX_RETENTION_HOURS"])
    with UnitOfWork() as uow:
        return purge_published(uow.session, retention=retention)
