"""Thin tasks over api_app's periodic jobs (api_app/jobs), each in an api_app app context."""

from __future__ import annotations

from functools import cache

from flask import Flask

import api_app
from api_app import jobs
from api_worker.app import celery_app
from scheduler import (
    CLOSE_MONTH_TASK,
    PURGE_OUTBOX_TASK,
    PURGE_REFRESH_TOKENS_TASK,
    RECORD_RECURRING_TASK,
)


@cache
def api_application() -> Flask:
    """api_app, created once per worker process (after the fork, so no pool is shared)."""
    return api_app.create_app({"SERVICE_NAME": "api-worker"})


@celery_app.task(name=CLOSE_MONTH_TASK)
def close_month() -> str:
    with api_application().app_context():
        outcome = jobs.close_last_month()
        return outcome.status


@celery_app.task(name=PURGE_REFRESH_TOKENS_TASK)
def purge_refresh_tokens() -> int:
    with api_application().app_context():
        return jobs.purge_refresh_tokens()


@celery_app.task(name=PURGE_OUTBOX_TASK)
def purge_outbox() -> int:
    with api_application().app_context():
        return jobs.purge_outbox()


@celery_app.task(name=RECORD_RECURRING_TASK)
def record_recurring_transactions() -> int:
    with api_application().app_context():
        return jobs.record_recurring_transactions().transactions
