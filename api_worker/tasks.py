"""Thin tasks over api_app's periodic jobs (api_app/jobs) and the bot's commands (api_app/bot),
each in an api_app app context."""

from __future__ import annotations

import logging
from functools import cache
from typing import Any

from flask import Flask

import api_app
from api_app import jobs
from api_app.bot.service import handle_bot_command
from api_worker.app import celery_app
from event_contract import (
    BOT_COMMAND_TASK,
    CLOSE_MONTH_TASK,
    PURGE_OUTBOX_TASK,
    PURGE_REFRESH_TOKENS_TASK,
    RECORD_RECURRING_TASK,
)
from service_kit.database import TRANSIENT_DATABASE_ERRORS


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


logger = logging.getLogger(__name__)


# A command is the user waiting for an answer: database trouble is retried soon and for a while
# (the command's own row makes any repeat harmless).
@celery_app.task(
    name=BOT_COMMAND_TASK,
    autoretry_for=TRANSIENT_DATABASE_ERRORS,
    retry_backoff=1,
    retry_backoff_max=10,
    retry_jitter=True,
    max_retries=60,
)
def bot_command(message: dict[str, Any]) -> str | None:
    """A command from a linked Telegram chat (event_contract.BotCommand.to_message())."""
    with api_application().app_context():
        try:
            return handle_bot_command(message)
        except (KeyError, ValueError, TypeError) as error:
            # A redelivery would fail the same way.
            logger.error("dropping malformed bot command %r: %s", message.get("id"), error)
            return None
