"""Rate limits as both services count them: one flask-limiter Limiter per service and process,
counters in Redis (the broker's server, under the app's RATELIMIT_KEY_PREFIX) so every worker
process counts against the same budget, and 429 with Retry-After in the one error shape.

If Redis cannot be reached the limiter counts in the process's memory until Redis answers
again: still limited, only per process instead of per deployment. Limits are read from the
app's config on every request; the storage and the fallback state belong to the process.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable
from typing import Any

from flask import Flask, Response, current_app, jsonify, request
from flask_jwt_extended import current_user
from flask_limiter import Limiter, RateLimitExceeded
from limits import parse_many

READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def new_limiter(key_func: Callable[[], str]) -> Limiter:
    """A service's Limiter; `key_func` counts what a limit names no key of its own for."""
    return Limiter(
        key_func=key_func,
        strategy="moving-window",
        in_memory_fallback_enabled=True,
        storage_options={"socket_connect_timeout": 1, "socket_timeout": 1},
    )


def init_rate_limits(app: Flask, limiter: Limiter, settings: Iterable[str]) -> None:
    """Bind the limiter to the app, after checking that each of `settings` is a limit."""
    for setting in settings:
        try:
            parse_many(app.config[setting])
        except ValueError:
            raise ValueError(
                f"{setting}={app.config[setting]!r} is not a rate limit such as '5 per minute'"
            ) from None
    limiter.init_app(app)

    def too_many_requests(_error: RateLimitExceeded) -> tuple[Response, int, dict[str, Any]]:
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

    app.register_error_handler(RateLimitExceeded, too_many_requests)


def config_value(name: str) -> Callable[[], str]:
    """A limit read from the app's config on each request (a setting of that name)."""
    return lambda: str(current_app.config[name])


def signed_in_user() -> str:
    """The key of the user whose access token was verified (apply limits after the check)."""
    return f"user:{current_user.id}"


def is_read() -> bool:
    return request.method in READ_METHODS


def per_user_writes(limiter: Limiter) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Every write of a signed-in user draws on one budget, whatever the resource
    (WRITE_RATE_LIMIT_PER_USER): generous for a person, a ceiling for a script."""
    decorator: Callable[[Callable[..., Any]], Callable[..., Any]] = limiter.shared_limit(
        config_value("WRITE_RATE_LIMIT_PER_USER"),
        scope="writes",
        key_func=signed_in_user,
        exempt_when=is_read,
    )
    return decorator
