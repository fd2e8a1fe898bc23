"""api_app's rate limits: on everything that checks a password (per client address and per
account; an account under attack is slowed down, never locked), on refreshing and signing out,
on every write of a signed-in user (so that one account cannot flood the database or the
queue), and on the expensive reads of one (months of reports, CSV exports). How they are
counted and answered: service_kit.rate_limits. Rows written per day: api_app.quotas.
"""

from __future__ import annotations

import hashlib
import logging
import math
import time

from flask import Flask, Response, current_app, request
from flask_jwt_extended import current_user
from limits import RateLimitItem, parse_many
from redis import RedisError

from api_app.auth.schemas import normalize_email
from api_app.domain_errors import QuotaExceededError
from service_kit import rate_limits
from service_kit.rate_limits import config_value, signed_in_user

LIMIT_SETTINGS = (
    "AUTH_RATE_LIMIT_PER_ADDRESS",
    "AUTH_RATE_LIMIT_PER_EMAIL",
    "AUTH_RATE_LIMIT_PER_ACCOUNT",
    "AUTH_RATE_LIMIT_SLOWED",
    "SESSION_RATE_LIMIT_PER_ADDRESS",
    "WRITE_RATE_LIMIT_PER_USER",
    "REPORT_MONTHS_RATE_LIMIT_PER_USER",
    "EXPORT_RATE_LIMIT_PER_USER",
)

logger = logging.getLogger(__name__)


def client_address() -> str:
    # remote_addr is the peer, or with TRUSTED_PROXY_COUNT set, what the trusted proxy saw.
    return request.remote_addr or "unknown"


limiter = rate_limits.new_limiter(client_address)


def init_rate_limits(app: Flask) -> None:
    rate_limits.init_rate_limits(app, limiter, LIMIT_SETTINGS)


def _account_key(email: str) -> str:
    # Hashed: the counters identify an account without putting addresses into Redis.
    normalized = normalize_email(email).encode("utf-8", "surrogatepass")
    return "account:" + hashlib.sha256(normalized).hexdigest()


def _account_in_body() -> str:
    body = request.get_json(silent=True)
    email = body.get("email") if isinstance(body, dict) else None
    # Requests without a readable email share one counter; they fail validation anyway.
    return _account_key(email) if isinstance(email, str) else "account:unreadable"


def _account_from_address() -> str:
    return f"{_account_in_body()}:from:{client_address()}"


def _signed_in_account() -> str:
    return _account_key(current_user.email)


# Signing up and signing in draw on one budget per client address. Attempts on one account are
# counted per account *and* client address (OWASP's advice against lockout): a third party
# guessing a victim's password from their own addresses exhausts their budgets, not the
# victim's, who still signs in from theirs.
per_client_address = limiter.shared_limit(
    config_value("AUTH_RATE_LIMIT_PER_ADDRESS"), scope="address", key_func=client_address
)
per_email_in_body = limiter.shared_limit(
    config_value("AUTH_RATE_LIMIT_PER_EMAIL"),
    scope="account-address",
    key_func=_account_from_address,
)
# Refreshing and signing out, per client address: a refresh token is 256 random bits, nothing
# to guess, but each call writes rows. A ceiling for a script, far above what clients need.
per_address_sessions = limiter.shared_limit(
    config_value("SESSION_RATE_LIMIT_PER_ADDRESS"), scope="sessions", key_func=client_address
)


# Slowed down, never locked: failed sign-ins of an account from all addresses together are
# counted (AUTH_RATE_LIMIT_PER_ACCOUNT); past that cap the account is under attack, and each
# address that fails on it has AUTH_RATE_LIMIT_SLOWED failures left (per account and address)
# before it is refused. An address that has not failed, the owner's, signs in as ever: a
# distributed guess then costs a fresh address every few guesses, and no one is locked out.
FAILED_SIGN_INS = "failed-sign-ins"


def count_failed_sign_in() -> None:
    """Count a failed sign-in against the account in the body (the sign-in view calls it)."""
    try:
        for limit in _account_failure_limits():
            limiter.limiter.hit(limit, *_account_failures_key())
    except RedisError:
        # Redis went away during this request: the limiter falls back to memory at the next.
        logger.warning("a failed sign-in could not be counted: the limiter's Redis is down")


def _account_failure_limits() -> list[RateLimitItem]:
    return parse_many(current_app.config["AUTH_RATE_LIMIT_PER_ACCOUNT"])


def _account_failures_key() -> tuple[str, ...]:
    return (current_app.config["RATELIMIT_KEY_PREFIX"], FAILED_SIGN_INS, _account_in_body())


def _account_not_under_attack() -> bool:
    key = _account_failures_key()
    return all(limiter.limiter.test(limit, *key) for limit in _account_failure_limits())


def _failed_sign_in(response: Response) -> bool:
    return response.status_code == 401


slowed_when_under_attack = limiter.shared_limit(
    config_value("AUTH_RATE_LIMIT_SLOWED"),
    scope="slowed-account-address",
    key_func=_account_from_address,
    deduct_when=_failed_sign_in,
    exempt_when=_account_not_under_attack,
)
# Password checks by a signed-in user (password change, account deletion): per account. Only
# a holder of the user's access token can spend this budget, so it locks no one else out.
per_signed_in_account = limiter.shared_limit(
    config_value("AUTH_RATE_LIMIT_PER_EMAIL"),
    scope="signed-in-account",
    key_func=_signed_in_account,
)
# Apply it after the access token was verified (api_app.access.protected does).
per_user_writes = rate_limits.per_user_writes(limiter)


# The expensive reads of a signed-in user (after the access token was verified). A CSV export
# streams every matching transaction: a number of them per account.
per_user_exports = limiter.shared_limit(
    config_value("EXPORT_RATE_LIMIT_PER_USER"), scope="exports", key_func=signed_in_user
)
REPORT_MONTHS = "report-months"


def spend_report_months(months: int) -> None:
    """A monthly report costs the months it covers (REPORT_MONTHS_RATE_LIMIT_PER_USER):
    QuotaExceededError, spending nothing, when they do not fit in what is left."""
    key = (current_app.config["RATELIMIT_KEY_PREFIX"], REPORT_MONTHS, signed_in_user())
    limits = parse_many(current_app.config["REPORT_MONTHS_RATE_LIMIT_PER_USER"])
    try:
        for limit in limits:
            if not limiter.limiter.test(limit, *key, cost=months):
                # When enough of the oldest counted months leave the window.
                reset = limiter.limiter.get_window_stats(limit, *key).reset_time
                raise QuotaExceededError(
                    f"a report of {months} months is past this account's limit of {limit};"
                    " ask for fewer months, or later",
                    retry_after_seconds=max(1, math.ceil(reset - time.time())),
                )
        for limit in limits:
            limiter.limiter.hit(limit, *key, cost=months)
    except RedisError:
        # As the limiter's own limits while Redis is away: the report is not refused for it.
        logger.warning("report months not counted: the limiter's Redis is down")
