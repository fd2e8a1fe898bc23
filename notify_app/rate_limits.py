"""Per-user rate limits of notify_app: test messages, Telegram links, and every write.

Each would otherwise let one account fill the shared queue (everyone's alerts arrive late) or
grow tables without bound. Counters live on the broker's Redis under RATELIMIT_KEY_PREFIX; if
Redis cannot be reached the limiter counts in the process's memory until it answers again (a
down Redis also stops the test message itself, which needs the broker). One Limiter per process,
like the other extensions; limits are read from the app's config on every request.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any

from flask import Flask, Response, current_app, jsonify, request
from flask_limiter import Limiter, RateLimitExceeded
from limits import parse_many

from notify_app.auth import current_user_id

LIMIT_SETTINGS = (
    "WRITE_RATE_LIMIT_PER_USER",
    "TEST_MESSAGE_RATE_LIMIT",
    "TELEGRAM_LINK_RATE_LIMIT",
)
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def _signed_in_user() -> str:
    return f"user:{current_user_id()}"


limiter = Limiter(
    key_func=_signed_in_user,
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
                f"{setting}={app.config[setting]!r} is not a rate limit such as '5 per hour'"
            ) from None
    limiter.init_app(app)
    app.register_error_handler(RateLimitExceeded, _too_many_requests)


def _config_value(name: str) -> Callable[[], str]:
    return lambda: str(current_app.config[name])


def _is_read() -> bool:
    return request.method in READ_METHODS


# Apply these after the access token was verified (notify_app.access.protected does).
per_user_writes = limiter.shared_limit(
    _config_value("WRITE_RATE_LIMIT_PER_USER"),
    scope="writes",
    key_func=_signed_in_user,
    exempt_when=_is_read,
)
test_messages = limiter.shared_limit(
    _config_value("TEST_MESSAGE_RATE_LIMIT"), scope="test-messages", key_func=_signed_in_user
)
telegram_links = limiter.shared_limit(
    _config_value("TELEGRAM_LINK_RATE_LIMIT"), scope="telegram-links", key_func=_signed_in_user
)


def _too_many_requests(error: RateLimitExceeded) -> tuple[Response, int, dict[str, Any]]:
    breached = limiter.current_limit
    # When the oldest counted request leaves the window, one more fits in.
    retry_after = breached.window.reset_time - time.time() if breached is not None else 1
    seconds = max(1, math.ceil(retry_after))
    body = {
        "code": 429,
        "status": "Too Many Requests",
        "message": f"too many requests, retry in {seconds} seconds",
        "errors": {},
    }
    return jsonify(body), 429, {"Retry-After": str(seconds)}
