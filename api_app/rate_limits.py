"""Rate limits: on everything that checks a password (per client address and per account; an
account under attack is slowed down, never locked), on refreshing and signing out, and on every
write of a signed-in user (so that one account cannot flood the database or the queue).

Counters live in Redis (the broker's server, under RATELIMIT_KEY_PREFIX), so every worker process
counts against the same budget. If Redis cannot be reached the limiter falls back to counting in
the process's memory until Redis answers again: sign-in stays available and still limited, only
per process instead of per deployment.

One Limiter per process, like the other extensions. Each app may set its own limits (read from
its config on every request); the storage and the fallback state belong to the process, which in
production serves a single api app.
"""

from __future__ import annotations

import hashlib
import logging
import math
import time
from collections.abc import Callable
from typing import Any

from flask import Flask, Response, current_app, jsonify, request
from flask_jwt_extended import current_user
from flask_limiter import Limiter, RateLimitExceeded
from limits import RateLimitItem, parse_many
from redis import RedisError

from api_app.auth.schemas import normalize_email

LIMIT_SETTINGS = (
    "AUTH_RATE_LIMIT_PER_ADDRESS",
    "AUTH_RATE_LIMIT_PER_EMAIL",
    "AUTH_RATE_LIMIT_PER_ACCOUNT",
    "AUTH_RATE_LIMIT_SLOWED",
    "SESSION_RATE_LIMIT_PER_ADDRESS",
    "WRITE_RATE_LIMIT_PER_USER",
)
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

logger = logging.getLogger(__name__)


def client_address() -> str:
    # remote_addr is the peer, or with TRUSTED_PROXY_COUNT set, what the trusted proxy saw.
    return request.remote_addr or "unknown"


limiter = Limiter(
    key_func=client_address,
    strategy="moving-window",
    in_memory_fallback_enabled=True,
    storage_options={"socket_connect_timeout": 1, "socket_timeout": 1},
)


def init_rate_limits(app: Flask) -> None:
    for setting in LIMIT_SETTINGS:
        try:
            parse_many(app.config[setting])
        except ValueError:
            raise ValueError(
                f"{setting}={app.config[setting]!r} is not a rate limit such as '5 per minute'"
            ) from None
    limiter.init_app(app)
    app.register_error_handler(RateLimitExceeded, _too_many_requests)


def _config_value(name: str) -> Callable[[], str]:
    return lambda: str(current_app.config[name])


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


def _signed_in_user() -> str:
    return f"user:{current_user.id}"


def _is_read() -> bool:
    return request.method in READ_METHODS


# Signing up and signing in draw on one budget per client address. Attempts on one account are
# counted per account *and* client address (OWASP's advice against lockout): a third party
# guessing a victim's password from their own addresses exhausts their budgets, not the
# victim's, who still signs in from theirs.
per_client_address = limiter.shared_limit(
    _config_value("AUTH_RATE_LIMIT_PER_ADDRESS"), scope="address", key_func=client_address
)
per_email_in_body = limiter.shared_limit(
    _config_value("AUTH_RATE_LIMIT_PER_EMAIL"),
    scope="account-address",
    key_func=_account_from_address,
)
# Refreshing and signing out, per client address: a refresh token is 256 random bits, nothing
# to guess, but each call writes rows. A ceiling for a script, far above what clients need.
per_address_sessions = limiter.shared_limit(
    _config_value("SESSION_RATE_LIMIT_PER_ADDRESS"), scope="sessions", key_func=client_address
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
    _config_value("AUTH_RATE_LIMIT_SLOWED"),
    scope="slowed-account-address",
    key_func=_account_from_address,
    deduct_when=_failed_sign_in,
    exempt_when=_account_not_under_attack,
)
# Password checks by a signed-in user (password change, account deletion): per account. Only
# a holder of the user's access token can spend this budget, so it locks no one else out.
per_signed_in_account = limiter.shared_limit(
    _config_value("AUTH_RATE_LIMIT_PER_EMAIL"),
    scope="signed-in-account",
    key_func=_signed_in_account,
)
# Every write of a signed-in user draws on one budget, whatever the resource: generous for a
# person, a ceiling for a script. Apply it after the access token was verified.
per_user_writes = limiter.shared_limit(
    _config_value("WRITE_RATE_LIMIT_PER_USER"),
    scope="writes",
    key_func=_signed_in_user,
    exempt_when=_is_read,
)


def _too_many_requests(error: RateLimitExceeded) -> tuple[Response, int, dict[str, Any]]:
    breached = limiter.current_limit
    # When the oldest counted attempt leaves the window, one more attempt fits in.
    retry_after = breached.window.reset_time - time.time() if breached is not None else 1
    seconds = max(1, math.ceil(retry_after))
    body = {
        "code": 429,
        "status": "Too Many Requests",
        "message": f"too many requests, retry in {seconds} seconds",
        "errors": {},
    }
    return jsonify(body), 429, {"Retry-After": str(seconds)}
