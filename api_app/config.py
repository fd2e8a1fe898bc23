"""api_app configuration, read from the environment with documented defaults (see README)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from event_contract import warning_thresholds
from service_kit.config import broker_url as configured_broker_url
from service_kit.config import database_url, read_secret
from service_kit.database import ENGINE_OPTIONS

DATABASE_NAME = "budget_api"


def load_config(environ: Mapping[str, str] = os.environ) -> dict[str, Any]:
    broker_url = configured_broker_url(environ)
    return {
        "APP_ENV": environ.get("APP_ENV", "production"),
        "SERVICE_NAME": "api",
        "LOG_FORMAT": environ.get("LOG_FORMAT", "json"),
        "LOG_LEVEL": environ.get("LOG_LEVEL", "INFO"),
        "SQLALCHEMY_DATABASE_URI": database_url(environ, "API_DATABASE_URL", DATABASE_NAME),
        "SQLALCHEMY_ENGINE_OPTIONS": dict(ENGINE_OPTIONS),
        "BROKER_URL": broker_url,
        # A publish to a down broker must fail fast: the request that committed the event is
        # waiting on the fast path, and the relay retries whatever did not get through.
        "OUTBOX_PUBLISH_TIMEOUT_SECONDS": float(
            environ.get("OUTBOX_PUBLISH_TIMEOUT_SECONDS", "1.0")
        ),
        "OUTBOX_RELAY_INTERVAL_SECONDS": float(environ.get("OUTBOX_RELAY_INTERVAL_SECONDS", "1.0")),
        "OUTBOX_RELAY_BATCH_SIZE": int(environ.get("OUTBOX_RELAY_BATCH_SIZE", "100")),
        "OUTBOX_RETENTION_HOURS": float(environ.get("OUTBOX_RETENTION_HOURS", "168")),
        # Percentages of a limit whose crossing emits budget.threshold_reached (100 emits
        # budget.limit_exceeded); notify_app reads the same variable.
        "BUDGET_WARNING_THRESHOLDS": warning_thresholds(environ.get("BUDGET_WARNING_THRESHOLDS")),
        "API_TITLE": "Budget API",
        "API_VERSION": "1.0",
        "OPENAPI_VERSION": "3.0.3",
        "OPENAPI_URL_PREFIX": "/api",
        "OPENAPI_JSON_PATH": "openapi.json",
        "OPENAPI_SWAGGER_UI_PATH": "docs",
        # Every request body (flask-limiter notation does not apply: bytes). 413 beyond it.
        "MAX_REQUEST_BODY_BYTES": int(environ.get("MAX_REQUEST_BODY_BYTES", str(1024 * 1024))),
        "JWT_PRIVATE_KEY_PEM": read_secret(environ, "JWT_PRIVATE_KEY"),
        "JWT_PUBLIC_KEY_PEM": read_secret(environ, "JWT_PUBLIC_KEY"),
        "JWT_ACCESS_TOKEN_EXPIRES": timedelta(
            seconds=int(environ.get("ACCESS_TOKEN_TTL_SECONDS", "900"))
        ),
        "REFRESH_TOKEN_TTL": timedelta(
            seconds=int(environ.get("REFRESH_TOKEN_TTL_SECONDS", str(30 * 24 * 3600)))
        ),
        # A used refresh token presented again this soon is two tabs racing, not theft.
        "REFRESH_REUSE_GRACE_SECONDS": float(environ.get("REFRESH_REUSE_GRACE_SECONDS", "10")),
        "JWT_ISSUER": environ.get("JWT_ISSUER", "budget-api"),
        "JWT_AUDIENCE": environ.get("JWT_AUDIENCE", "budget-services"),
        # Limit strings in flask-limiter's notation; several may be joined with ";".
        "AUTH_RATE_LIMIT_PER_ADDRESS": environ.get("AUTH_RATE_LIMIT_PER_ADDRESS", "30 per minute"),
        # Per account and client address (sign-up, sign-in); per account for the password checks
        # of a signed-in user.
        "AUTH_RATE_LIMIT_PER_EMAIL": environ.get("AUTH_RATE_LIMIT_PER_EMAIL", "5 per minute"),
        # Failed sign-ins of one account from all addresses together, past which it is slowed.
        "AUTH_RATE_LIMIT_PER_ACCOUNT": environ.get("AUTH_RATE_LIMIT_PER_ACCOUNT", "1000 per hour"),
        # Past that: failed sign-ins per account and address (an address that never failed on
        # the account, its owner's, is not slowed).
        "AUTH_RATE_LIMIT_SLOWED": environ.get("AUTH_RATE_LIMIT_SLOWED", "3 per hour"),
        # Refresh and logout per client address.
        "SESSION_RATE_LIMIT_PER_ADDRESS": environ.get(
            "SESSION_RATE_LIMIT_PER_ADDRESS", "60 per minute"
        ),
        # Every write of one signed-in user (both services read it, each counts its own).
        "WRITE_RATE_LIMIT_PER_USER": environ.get("WRITE_RATE_LIMIT_PER_USER", "120 per minute"),
        # Quotas per account. Rows its requests may write per UTC day (transactions: one, an
        # import's rows, a recurring rule's catch-up; and recurring rules), counted in
        # PostgreSQL (api_app.quotas).
        "DAILY_ROW_QUOTA_PER_USER": int(environ.get("DAILY_ROW_QUOTA_PER_USER", "20000")),
        # The expensive reads, counted like the rate limits: months of monthly reports (a
        # 36-month report costs 36), and CSV exports.
        "REPORT_MONTHS_RATE_LIMIT_PER_USER": environ.get(
            "REPORT_MONTHS_RATE_LIMIT_PER_USER", "720 per day"
        ),
        "EXPORT_RATE_LIMIT_PER_USER": environ.get("EXPORT_RATE_LIMIT_PER_USER", "30 per hour"),
        # The page of the app that takes an invitation's code to POST /api/ledgers/join; the
        # invitation's link is it with `?code=<code>`. Unset: `/join` on the request's origin.
        "INVITATION_LINK_URL": environ.get("INVITATION_LINK_URL") or None,
        # Rate-limit counters live on the broker's Redis, under a prefix of their own.
        "RATELIMIT_STORAGE_URI": broker_url,
        "RATELIMIT_KEY_PREFIX": "budget-api",
        # How many reverse proxies in front of the app append to X-Forwarded-For (nginx: 1).
        "TRUSTED_PROXY_COUNT": int(environ.get("TRUSTED_PROXY_COUNT", "0")),
    }
