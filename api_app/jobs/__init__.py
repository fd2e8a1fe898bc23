"""api_app's periodic jobs, run by the api worker (api_worker/) when Celery beat (scheduler/)
says so. Each is idempotent: several beat replicas, or a run late after downtime, do its work
once."""

from api_app.jobs.periodic import (
    close_last_month,
    purge_outbox,
    purge_refresh_tokens,
    record_recurring_transactions,
)
from api_app.jobs.runs import JobOutcome, once_per_period

__all__ = [
    "JobOutcome",
    "close_last_month",
    "once_per_period",
    "purge_outbox",
    "purge_refresh_tokens",
    "record_recurring_transactions",
]
