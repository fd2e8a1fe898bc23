"""Framework-free client for the one Telegram Bot API call this service makes.

Kept free of Flask and of the rest of ``notify_app`` so it can be used from the web
process, from a worker, or from a script, and tested against a local stand-in.

Outcomes are returned as an :class:`Attempt` rather than raised: the caller
(a notification task) decides whether a failure is final or worth another request
later, and a Telegram outage must never turn into an unhandled exception there.
"""

from __future__ import annotations

import json
import logging
import math
import os
import random
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import quote, urlsplit
from urllib.request import getproxies, proxy_bypass

import certifi
import urllib3
from urllib3.exceptions import HTTPError, ProtocolError, ProxyError, SSLError
from urllib3.exceptions import TimeoutError as TransportTimeoutError

__all__ = [
    "ALLOWED_UPDATES",
    "NOT_CONFIGURED_REASON",
    "ApiAnswer",
    "Attempt",
    "RateLimiter",
    "SendResult",
    "SendStatus",
    "TelegramClient",
]

logger = logging.getLogger(__name__)

SendStatus = Literal["sent", "skipped", "failed"]

NOT_CONFIGURED_REASON = "telegram bot token not configured"

# Every update type the bot handles: text commands, the presses of its inline buttons, and the
# bot's and members' chat membership (households). Telegram delivers no other type.
ALLOWED_UPDATES: tuple[str, ...] = ("message", "callback_query", "my_chat_member", "chat_member")

_REDACTED = "<redacted>"

# Errors where the request may simply not have reached Telegram (or its answer got lost),
# so trying again is reasonable: refused or unresolvable (urllib3 counts NewConnectionError as
# a TimeoutError), reset or cut short (ProtocolError), timed out, a proxy or TLS failure on the
# way, or a socket error urllib3 did not wrap. Anything else urllib3 raises (a bad URL, an
# unknown scheme) is a configuration problem that a retry cannot fix.
_TRANSIENT_TRANSPORT_ERRORS: tuple[type[Exception], ...] = (
    ProtocolError,
    TransportTimeoutError,
    ProxyError,
    SSLError,
    OSError,
)


@dataclass(frozen=True)
class SendResult:
    """What became of a delivery's requests, as its history tells it (`Attempt.result`).

    ``attempts`` counts HTTP requests actually made (0 when skipped), including the
    ones answered with 429. ``error`` says why the message was not sent, for both
    "skipped" and "failed"; it never contains the bot token. ``http_status`` is the
    status of the last HTTP response (None if none arrived) and ``description`` is
    Telegram's own explanation from that response, e.g.
    "Forbidden: bot was blocked by the user".
    """

    status: SendStatus
    attempts: int
    error: str | None = None
    http_status: int | None = None
    message_id: int | None = None
    description: str | None = None

    @property
    def sent(self) -> bool:
        return self.status == "sent"

    @property
    def blocked_by_user(self) -> bool:
        # Telegram answers 403 when the user blocked the bot, deleted their account, or
        # the bot was removed from the group: in all cases further sends to this chat are
        # pointless until the user comes back, so callers may stop notifying it.
        return self.status == "failed" and self.http_status == 403


AttemptKind = Literal["sent", "skipped", "failed", "rate_limited", "transient"]


@dataclass(frozen=True)
class Attempt:
    """What one sendMessage request came to (see `TelegramClient.attempt`)."""

    kind: AttemptKind
    requests: int
    error: str | None = None
    http_status: int | None = None
    message_id: int | None = None
    description: str | None = None
    retry_after_seconds: float = 0.0

    def result(self, attempts: int) -> SendResult:
        """This final attempt as the outcome of `attempts` requests in all."""
        status: SendStatus = (
            "sent" if self.kind == "sent" else "skipped" if self.kind == "skipped" else "failed"
        )
        return SendResult(
            status=status,
            attempts=attempts,
            error=self.error,
            http_status=self.http_status,
            message_id=self.message_id,
            description=self.description,
        )


@dataclass(frozen=True)
class ApiAnswer:
    """What one Bot API call came to: its result, or why there is none (token redacted)."""

    http_status: int | None
    result: Any
    error: str | None

    @property
    def ok(self) -> bool:
        return self.error is None


class RateLimiter:
    """Thread-safe token bucket limiting how fast messages leave this process.

    Telegram allows a bot roughly 30 messages per second overall; the default of 25
    leaves headroom. ``burst`` is the bucket capacity: with the default of 1 the sends
    are spread evenly (one every 1/rate seconds), so no one-second window can exceed
    the rate even right after an idle period.

    The limit is per process. When several worker processes send for the same bot,
    configure each with ``rate / number_of_processes`` (or replace this with a limiter
    whose state lives in Redis) so that the sum stays below Telegram's limit.
    """

    def __init__(
        self,
        rate_per_second: float = 25,
        *,
        burst: int = 1,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if rate_per_second <= 0:
            raise ValueError("rate_per_second must be positive")
        if burst < 1:
            raise ValueError("burst must be at least 1")
        self.rate_per_second = float(rate_per_second)
        self.burst = burst
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        # May go negative: a negative balance is time already promised to callers that
        # are sleeping, which lets each caller reserve its slot under the lock and then
        # sleep outside it, so waiting threads do not serialise on the lock.
        self._tokens = float(burst)
        self._refilled_at = clock()

    def acquire(self) -> float:
        """Block until one message may be sent; return the seconds waited."""
        with self._lock:
            now = self._clock()
            elapsed = max(0.0, now - self._refilled_at)
            self._tokens = min(float(self.burst), self._tokens + elapsed * self.rate_per_second)
            self._refilled_at = now
            self._tokens -= 1
            wait_seconds = 0.0 if self._tokens >= 0 else -self._tokens / self.rate_per_second
        if wait_seconds > 0:
            self._sleep(wait_seconds)
        return wait_seconds


def _pool_for(api_url: str) -> urllib3.PoolManager:
    """Connections to the Bot API, kept alive between messages.

    urllib3 directly rather than requests: requests reads the environment's proxy settings and
    merges its session settings again on every request, which cost a worker 0.4 ms of CPU per
    message (as much as the rest of the request). The proxy (HTTPS_PROXY, NO_PROXY, ...) and
    the CA bundle are read once, here; a process's environment does not change while it runs.
    """
    ca_certs = os.environ.get("REQUESTS_CA_BUNDLE") or certifi.where()
    split = urlsplit(api_url)
    proxy = None if proxy_bypass(split.hostname or "") else getproxies().get(split.scheme)
    if proxy:
        return urllib3.ProxyManager(proxy, ca_certs=ca_certs, retries=False)
    return urllib3.PoolManager(ca_certs=ca_certs, retries=False)


class TelegramClient:
    """Sends messages through the Telegram Bot API, one request per `attempt`, and says what
    the caller should wait before the next one (the delivery log keeps the count):

    * 429: Telegram's ``retry_after`` (capped); these waits do not use up
      ``max_attempts`` but are bounded by ``max_rate_limit_waits``.
    * 5xx and network errors: up to ``max_attempts`` requests in total, separated by
      exponential backoff with full jitter (`backoff_seconds`).
    * any other 4xx: final at once (chat not found, bad token, bot blocked).

    Note that Telegram has no idempotency key for sendMessage: a request that timed out
    or got a 5xx from a proxy may still have been delivered, so a retry can duplicate a
    message. That is accepted here; a missed budget alert is worse than a doubled one.
    """

    def __init__(
        self,
        api_url: str,
        bot_token: str | None,
        *,
        timeout_seconds: float = 10,
        max_attempts: int = 4,
        backoff_base_seconds: float = 0.5,
        backoff_max_seconds: float = 8,
        max_retry_after_seconds: float = 60,
        max_rate_limit_waits: int = 5,
        rate_limiter: RateLimiter | None = None,
        uniform: Callable[[float, float], float] = random.uniform,
    ) -> None:
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if max_rate_limit_waits < 0:
            raise ValueError("max_rate_limit_waits must not be negative")
        self.api_url = api_url.rstrip("/")
        # An empty or blank value from the environment means "not configured", not a token.
        self._bot_token = bot_token.strip() if bot_token and bot_token.strip() else None
        self.timeout_seconds = timeout_seconds
        self.max_attempts = max_attempts
        self.backoff_base_seconds = backoff_base_seconds
        self.backoff_max_seconds = backoff_max_seconds
        self.max_retry_after_seconds = max_retry_after_seconds
        self.max_rate_limit_waits = max_rate_limit_waits
        self.rate_limiter = rate_limiter
        self._pool = _pool_for(self.api_url)
        self._uniform = uniform

    def __repr__(self) -> str:
        # Spelled out so the token can never end up in a log line via repr().
        configured = "configured" if self._bot_token else "not configured"
        return f"TelegramClient(api_url={self.api_url!r}, bot_token={configured})"

    @property
    def configured(self) -> bool:
        return self._bot_token is not None

    def close(self) -> None:
        self._pool.clear()

    def __enter__(self) -> TelegramClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def attempt(
        self,
        chat_id: str,
        text: str,
        *,
        buttons: Sequence[Sequence[Mapping[str, str]]] | None = None,
        photo: bytes | None = None,
    ) -> Attempt:
        """One sendMessage request (after the rate limiter), classified; never sleeps otherwise.

        `buttons`: an inline keyboard, rows of {"text", "data"} (the data comes back in a
        callback_query). `photo`: a PNG sent with sendPhoto (multipart), `text` its caption.

        `rate_limited` carries Telegram's retry_after (capped); `transient` (5xx, network) is
        worth another request after a backoff; `sent`, `failed` and `skipped` are final.
        """
        if self._bot_token is None:
            return Attempt("skipped", requests=0, error=NOT_CONFIGURED_REASON)
        method = "sendMessage" if photo is None else "sendPhoto"
        url = f"{self.api_url}/bot{self._bot_token}/{method}"
        markup = None
        if buttons:
            markup = {
                "inline_keyboard": [
                    [{"text": b["text"], "callback_data": b["data"]} for b in row]
                    for row in buttons
                ]
            }
        if self.rate_limiter is not None:
            self.rate_limiter.acquire()
        try:
            if photo is None:
                payload: dict[str, Any] = {
                    "chat_id": chat_id,
                    "text": text,
                    "disable_web_page_preview": True,
                }
                if markup is not None:
                    payload["reply_markup"] = markup
                response = self._pool.request(
                    "POST", url, json=payload, timeout=self.timeout_seconds
                )
            else:
                form: dict[str, Any] = {"chat_id": chat_id, "caption": text}
                if markup is not None:
                    form["reply_markup"] = json.dumps(markup)
                form["photo"] = ("chart.png", photo, "image/png")
                response = self._pool.request(
                    "POST", url, fields=form, timeout=self.timeout_seconds
                )
        except _TRANSIENT_TRANSPORT_ERRORS as exc:
            error = f"network error: {type(exc).__name__}: {self._redact(str(exc))}"
            return Attempt("transient", requests=1, error=error)
        except HTTPError as exc:
            error = f"request error: {type(exc).__name__}: {self._redact(str(exc))}"
            self._log_failure(chat_id, 1, error)
            return Attempt("failed", requests=1, error=error)

        status_code = response.status
        body = _json_object(response)
        description = _description(body)
        if status_code == 200 and body is not None and body.get("ok") is True:
            return Attempt(
                "sent", requests=1, http_status=status_code, message_id=_message_id(body)
            )
        error = f"telegram {method} HTTP {status_code}"
        if description:
            error = f"{error}: {self._redact(description)}"
        if status_code == 429:
            wait_seconds = self._retry_after_seconds(body, response.headers)
            logger.warning(
                "telegram rate limit for chat %s, retry in %.1fs (%s)", chat_id, wait_seconds, error
            )
            return Attempt(
                "rate_limited",
                requests=1,
                error=error,
                http_status=status_code,
                description=description,
                retry_after_seconds=wait_seconds,
            )
        if status_code >= 500:
            return Attempt(
                "transient",
                requests=1,
                error=error,
                http_status=status_code,
                description=description,
            )
        # Other 4xx are answers about this request itself (chat not found, bad token,
        # bot blocked); sending the same request again would get the same answer.
        # A 2xx without ok:true is not Telegram speaking (a proxy, a captive portal),
        # and it may or may not have been delivered, so it is not retried either.
        self._log_failure(chat_id, 1, error)
        return Attempt(
            "failed", requests=1, error=error, http_status=status_code, description=description
        )

    def set_webhook(self, url: str, secret_token: str) -> str | None:
        """Register the webhook (an operator's one-off call); returns None on success, else why not.

        Telegram then sends every update to `url` with `secret_token` in the
        X-Telegram-Bot-Api-Secret-Token header, which the webhook view checks.
        """
        if self._bot_token is None:
            return NOT_CONFIGURED_REASON
        payload = {
            "url": url,
            "secret_token": secret_token,
            "allowed_updates": list(ALLOWED_UPDATES),
        }
        try:
            response = self._pool.request(
                "POST",
                f"{self.api_url}/bot{self._bot_token}/setWebhook",
                json=payload,
                timeout=self.timeout_seconds,
            )
        except (HTTPError, OSError) as exc:
            return self._redact(f"{type(exc).__name__}: {exc}")
        body = _json_object(response)
        if response.status == 200 and body is not None and body.get("ok") is True:
            return None
        text = response.data.decode("utf-8", errors="replace")
        return self._redact(f"HTTP {response.status}: {_description(body) or text}")

    def call(self, method: str, payload: Mapping[str, Any] | None = None) -> ApiAnswer:
        """One Bot API call for an operator's command (getMe, getWebhookInfo): no retries."""
        if self._bot_token is None:
            return ApiAnswer(None, None, NOT_CONFIGURED_REASON)
        try:
            response = self._pool.request(
                "POST",
                f"{self.api_url}/bot{self._bot_token}/{method}",
                json=dict(payload or {}),
                timeout=self.timeout_seconds,
            )
        except (HTTPError, OSError) as exc:
            return ApiAnswer(None, None, self._redact(f"{type(exc).__name__}: {exc}"))
        body = _json_object(response)
        if response.status == 200 and body is not None and body.get("ok") is True:
            return ApiAnswer(response.status, body.get("result"), None)
        text = _description(body) or response.data.decode("utf-8", errors="replace")[:200]
        return ApiAnswer(response.status, None, self._redact(f"HTTP {response.status}: {text}"))

    def backoff_seconds(self, chat_id: str, transient_failures: int, error: str | None) -> float:
        """The wait before the next request after `transient_failures` failures in a row.

        Full jitter: spreads the retries of many workers that failed at the same moment
        instead of having them hit Telegram again in lockstep.
        """
        ceiling = min(
            self.backoff_max_seconds,
            self.backoff_base_seconds * 2 ** (transient_failures - 1),
        )
        wait_seconds = self._uniform(0, ceiling)
        logger.warning(
            "telegram send to chat %s failed (attempt %d of %d), retrying in %.2fs: %s",
            chat_id,
            transient_failures,
            self.max_attempts,
            wait_seconds,
            error,
        )
        return wait_seconds

    def _retry_after_seconds(
        self, body: Mapping[str, Any] | None, headers: Mapping[str, str]
    ) -> float:
        retry_after: float | None = None
        parameters = body.get("parameters") if body is not None else None
        if isinstance(parameters, dict):
            retry_after = _as_seconds(parameters.get("retry_after"))
        if retry_after is None:
            retry_after = _as_seconds(headers.get("Retry-After"))
        if retry_after is None:
            # A 429 without any hint (not what Telegram sends, but a proxy might):
            # one second is the smallest wait Telegram itself ever asks for.
            retry_after = 1.0
        return min(max(retry_after, 0.0), self.max_retry_after_seconds)

    def _log_failure(self, chat_id: str, attempts: int, error: str) -> None:
        logger.warning(
            "telegram send to chat %s failed after %d attempt(s): %s", chat_id, attempts, error
        )

    def _redact(self, message: str) -> str:
        # The token is part of the URL, and urllib3 puts the URL into its exception
        # messages; anyone holding the token fully controls the bot.
        token = self._bot_token
        if not token:
            return message
        for spelling in {token, quote(token, safe=""), quote(token)}:
            message = message.replace(spelling, _REDACTED)
        return message


def _json_object(response: urllib3.BaseHTTPResponse) -> dict[str, Any] | None:
    try:
        body = json.loads(response.data)
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


def _description(body: Mapping[str, Any] | None) -> str | None:
    if body is None:
        return None
    description = body.get("description")
    return description if isinstance(description, str) else None


def _message_id(body: Mapping[str, Any]) -> int | None:
    result = body.get("result")
    if isinstance(result, dict):
        message_id = result.get("message_id")
        if isinstance(message_id, int) and not isinstance(message_id, bool):
            return message_id
    return None


def _as_seconds(value: object) -> float | None:
    if isinstance(value, bool):
        return None
    seconds: float
    if isinstance(value, int | float):
        seconds = float(value)
    elif isinstance(value, str):
        try:
            seconds = float(value.strip())
        except ValueError:
            # Retry-After may also be an HTTP date; Telegram never sends one, so it is
            # treated like a missing hint rather than parsed.
            return None
    else:
        return None
    # "nan" and "inf" parse as floats but cannot be slept on.
    return seconds if math.isfinite(seconds) else None
