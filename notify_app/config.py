"""notify_app configuration, read from the environment with documented defaults (see README)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from event_contract import warning_thresholds
from service_kit.celery_apps import max_countdown_seconds
from service_kit.config import broker_url, database_url, read_secret
from service_kit.database import ENGINE_OPTIONS

DATABASE_NAME = "budget_notifications"
CURSOR_SECRET_SETTING = "NOTIFY_CURSOR_SECRET"  # noqa: S105 - a variable name
# In development, generated once under instance/keys.
CURSOR_SECRET_FILENAME = "notify_cursor_secret"  # noqa: S105 - a file name
# What warn_at_percent is until a user changes it (the column's default too): a heads-up while
# there is still time to change course, the warning the feature is for.
DEFAULT_WARN_AT_PERCENT = 80


def load_config(environ: Mapping[str, str] = os.environ) -> dict[str, Any]:
    thresholds = warning_thresholds(environ.get("BUDGET_WARNING_THRESHOLDS"))
    if DEFAULT_WARN_AT_PERCENT not in thresholds:
        # Users who never chose have the default stored; it must stay a threshold that exists.
        raise ValueError(
            f"BUDGET_WARNING_THRESHOLDS must include {DEFAULT_WARN_AT_PERCENT}, the default of"
            f" warn_at_percent: {thresholds}"
        )
    return {
        "APP_ENV": environ.get("APP_ENV", "production"),
        "SERVICE_NAME": "notifications",
        "LOG_FORMAT": environ.get("LOG_FORMAT", "json"),
        "LOG_LEVEL": environ.get("LOG_LEVEL", "INFO"),
        "SQLALCHEMY_DATABASE_URI": database_url(environ, "NOTIFY_DATABASE_URL", DATABASE_NAME),
        "SQLALCHEMY_ENGINE_OPTIONS": dict(ENGINE_OPTIONS),
        "BROKER_URL": broker_url(environ),
        # The values users may choose for warn_at_percent (api_app emits these thresholds).
        "BUDGET_WARNING_THRESHOLDS": thresholds,
        "API_TITLE": "Budget notifications",
        "API_VERSION": "1.0",
        "OPENAPI_VERSION": "3.0.3",
        "OPENAPI_URL_PREFIX": "/api/notifications",
        "OPENAPI_JSON_PATH": "openapi.json",
        "OPENAPI_SWAGGER_UI_PATH": "docs",
        # Every request body (flask-limiter notation does not apply: bytes). 413 beyond it.
        "MAX_REQUEST_BODY_BYTES": int(environ.get("MAX_REQUEST_BODY_BYTES", str(1024 * 1024))),
        "JWT_PUBLIC_KEY_PEM": read_secret(environ, "JWT_PUBLIC_KEY"),
        # Keys the MAC of list cursors (service_kit.pagination): a secret of notify_app's own,
        # never the token verification key, which is public.
        "CURSOR_SECRET": read_secret(environ, CURSOR_SECRET_SETTING),
        "JWT_ISSUER": environ.get("JWT_ISSUER", "budget-api"),
        "JWT_AUDIENCE": environ.get("JWT_AUDIENCE", "budget-services"),
        "TELEGRAM_API_URL": environ.get("TELEGRAM_API_URL", "https://api.telegram.org"),
        "TELEGRAM_BOT_TOKEN": environ.get("TELEGRAM_BOT_TOKEN") or None,
        # Empty counts as unset: compose passes every variable, set in the shell or not.
        "TELEGRAM_BOT_USERNAME": environ.get("TELEGRAM_BOT_USERNAME") or "budget_alerts_bot",
        "TELEGRAM_WEBHOOK_SECRET": environ.get("TELEGRAM_WEBHOOK_SECRET") or None,
        # Bot commands a chat may send per minute (counted in Redis, across replicas).
        "BOT_COMMANDS_PER_MINUTE": int(environ.get("BOT_COMMANDS_PER_MINUTE", "20")),
        "TELEGRAM_LINK_CODE_TTL": timedelta(
            seconds=int(environ.get("TELEGRAM_LINK_CODE_TTL_SECONDS", "900"))
        ),
        # Per worker process: with N processes sending, keep N x rate under Telegram's ~30/s.
        "TELEGRAM_RATE_PER_SECOND": float(environ.get("TELEGRAM_RATE_PER_SECOND", "25")),
        "TELEGRAM_TIMEOUT_SECONDS": float(environ.get("TELEGRAM_TIMEOUT_SECONDS", "10")),
        # HTTP requests per message on 5xx and network errors (429 waits do not count).
        "TELEGRAM_MAX_ATTEMPTS": int(environ.get("TELEGRAM_MAX_ATTEMPTS", "4")),
        # A worker holds a delivery's lease while it sends; one that is gone (SIGKILL, OOM, a
        # lost machine) leaves a lease that runs out, and the sweep hands the delivery on.
        # Must exceed one sendMessage request (TELEGRAM_TIMEOUT_SECONDS) and its bookkeeping.
        "DELIVERY_LEASE_SECONDS": float(environ.get("DELIVERY_LEASE_SECONDS", "30")),
        # A pending, unleased delivery this much past its due time lost its task: swept.
        "DELIVERY_SWEEP_GRACE_SECONDS": float(environ.get("DELIVERY_SWEEP_GRACE_SECONDS", "10")),
        # Countdowns of re-enqueued sends stay well under the broker's visibility timeout (a
        # task held longer than it would be handed out a second time); longer waits hop.
        "DELIVERY_MAX_COUNTDOWN_SECONDS": max_countdown_seconds(environ),
        # Per user (flask-limiter notation). Counters on the broker's Redis, under their prefix.
        "WRITE_RATE_LIMIT_PER_USER": environ.get("WRITE_RATE_LIMIT_PER_USER", "120 per minute"),
        "TEST_MESSAGE_RATE_LIMIT": environ.get("TEST_MESSAGE_RATE_LIMIT", "5 per hour"),
        "TELEGRAM_LINK_RATE_LIMIT": environ.get("TELEGRAM_LINK_RATE_LIMIT", "10 per hour"),
        "RATELIMIT_STORAGE_URI": broker_url(environ),
        "RATELIMIT_KEY_PREFIX": "budget-notify",
        # POST /api/notifications/test hands its message to the worker; fail fast if Redis is down.
        "BROKER_PUBLISH_TIMEOUT_SECONDS": float(
            environ.get("BROKER_PUBLISH_TIMEOUT_SECONDS", "1.0")
        ),
    }
