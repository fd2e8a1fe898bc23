"""TelegramClient against the local Telegram stand-in, over real HTTP.

The worker makes one request per task (`TelegramClient.attempt`) and leaves the waits to the
delivery log (notify_app.deliveries.sending): these tests drive `attempt` and the waits it
asks for (`retry_after_seconds`, `backoff_seconds`); nothing here sleeps through them.
"""

from __future__ import annotations

import json
import logging
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from notify_app.telegram import (
    NOT_CONFIGURED_REASON,
    Attempt,
    RateLimiter,
    TelegramClient,
)
from tests.parallel import in_parallel
from tests.telegram_standin import TelegramStandIn

BOT_TOKEN = "123456:TEST-token_abcDEF"
CHAT_ID = "424242"


def ceiling_of_jitter(low: float, high: float) -> float:
    # Makes full jitter deterministic: always the largest allowed wait.
    return high


@pytest.fixture
def telegram() -> Iterator[TelegramStandIn]:
    with TelegramStandIn() as standin:
        yield standin


def make_client(api_url: str, **overrides: Any) -> TelegramClient:
    options: dict[str, Any] = {"timeout_seconds": 2, "uniform": ceiling_of_jitter}
    return TelegramClient(api_url, BOT_TOKEN, **(options | overrides))


def closed_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


# -- delivery -----------------------------------------------------------------------


def test_sent_message_reaches_telegram_with_exact_text(telegram: TelegramStandIn) -> None:
    text = "Budget «Food» exceeded: 105.50 / 100.00 EUR\nsecond line & <tags>"
    client = make_client(telegram.url + "/")  # trailing slash tolerated

    attempt = client.attempt(CHAT_ID, text)

    assert attempt.kind == "sent"
    assert attempt.requests == 1
    assert attempt.http_status == 200
    assert attempt.error is None
    assert isinstance(attempt.message_id, int)
    [call] = telegram.calls
    assert call.method == "sendMessage"
    assert call.token == BOT_TOKEN
    assert call.payload == {
        "chat_id": CHAT_ID,
        "text": text,
        "disable_web_page_preview": True,
    }
    assert telegram.messages == [call.payload]


def test_message_ids_come_from_telegram(telegram: TelegramStandIn) -> None:
    client = make_client(telegram.url)

    first = client.attempt(CHAT_ID, "one")
    second = client.attempt(CHAT_ID, "two")

    assert first.message_id is not None
    assert second.message_id is not None
    assert second.message_id > first.message_id


@pytest.mark.parametrize("missing_token", [None, "", "   "])
def test_without_token_nothing_is_sent(
    telegram: TelegramStandIn, missing_token: str | None
) -> None:
    client = TelegramClient(telegram.url, missing_token)

    attempt = client.attempt(CHAT_ID, "hello")

    assert attempt == Attempt("skipped", requests=0, error=NOT_CONFIGURED_REASON)
    assert not client.configured
    assert telegram.calls == []


# -- 429 ------------------------------------------------------------------------------


def test_a_429_asks_for_telegrams_retry_after(telegram: TelegramStandIn) -> None:
    telegram.enqueue_response(429, retry_after_seconds=7)
    client = make_client(telegram.url)

    attempt = client.attempt(CHAT_ID, "hello")

    assert attempt.kind == "rate_limited"
    assert (attempt.requests, attempt.http_status) == (1, 429)
    assert attempt.retry_after_seconds == 7.0
    assert attempt.error is not None
    assert "HTTP 429" in attempt.error


def test_retry_after_falls_back_to_header_and_is_capped(telegram: TelegramStandIn) -> None:
    no_parameters = {"ok": False, "error_code": 429, "description": "Too Many Requests"}
    telegram.enqueue_response(429, no_parameters, headers={"Retry-After": "3"})
    telegram.enqueue_response(429, retry_after_seconds=3600)
    client = make_client(telegram.url, max_retry_after_seconds=60)

    waits = [client.attempt(CHAT_ID, "hello").retry_after_seconds for _ in range(2)]

    assert waits == [3.0, 60.0]
    assert client.attempt(CHAT_ID, "hello").kind == "sent"


# -- 5xx and network errors -------------------------------------------------------


def test_server_errors_are_transient_and_back_off_exponentially(
    telegram: TelegramStandIn,
) -> None:
    telegram.enqueue_response(500)
    telegram.enqueue_response(502, "<html><body>502 Bad Gateway</body></html>")
    client = make_client(telegram.url)

    attempts = [client.attempt(CHAT_ID, "hello") for _ in range(3)]

    assert [attempt.kind for attempt in attempts] == ["transient", "transient", "sent"]
    assert [call.response_status for call in telegram.calls] == [500, 502, 200]
    assert attempts[0].description == "Internal Server Error"
    # Full-jitter ceilings for the first two failures: base, then 2 * base.
    waits = [client.backoff_seconds(CHAT_ID, failures, None) for failures in (1, 2)]
    assert waits == [0.5, 1.0]


def test_connection_refused_is_transient_without_leaking_token(
    caplog: pytest.LogCaptureFixture,
) -> None:
    client = make_client(
        f"http://127.0.0.1:{closed_port()}",
        max_attempts=4,
        backoff_base_seconds=0.5,
        backoff_max_seconds=1.5,
    )

    with caplog.at_level(logging.DEBUG):
        attempt = client.attempt(CHAT_ID, "hello")
        waits = [client.backoff_seconds(CHAT_ID, failures, attempt.error) for failures in (1, 2, 3)]

    assert attempt.kind == "transient"
    assert attempt.requests == 1
    assert attempt.http_status is None
    assert attempt.error is not None
    assert attempt.error.startswith("network error: NewConnectionError")
    assert BOT_TOKEN not in attempt.error
    assert BOT_TOKEN not in caplog.text
    assert BOT_TOKEN not in repr(client)
    # Exponential ceilings 0.5, 1.0, 2.0 with the last one capped at backoff_max.
    assert waits == [0.5, 1.0, 1.5]


def test_a_bad_api_url_fails_at_once_without_leaking_token(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # The port is out of range: urllib3 refuses the URL, and its message quotes it whole.
    client = make_client("http://127.0.0.1:99999", max_attempts=4)

    with caplog.at_level(logging.DEBUG):
        attempt = client.attempt(CHAT_ID, "hello")

    assert attempt.kind == "failed"
    assert attempt.requests == 1
    assert attempt.error is not None
    assert attempt.error.startswith("request error: LocationParseError")
    assert "/bot<redacted>/sendMessage" in attempt.error
    assert BOT_TOKEN not in caplog.text


def test_backoff_uses_full_jitter_below_the_ceiling() -> None:
    client = TelegramClient(
        f"http://127.0.0.1:{closed_port()}",
        BOT_TOKEN,
        max_attempts=6,
        backoff_base_seconds=0.5,
        backoff_max_seconds=8,
    )

    waits = [client.backoff_seconds(CHAT_ID, failures, None) for failures in range(1, 6)]

    ceilings = [0.5, 1.0, 2.0, 4.0, 8.0]
    for wait, ceiling in zip(waits, ceilings, strict=True):
        assert 0 <= wait <= ceiling


def test_a_read_timeout_is_transient(telegram: TelegramStandIn) -> None:
    telegram.default_delay_seconds = 1.0
    client = make_client(telegram.url, timeout_seconds=0.1)

    attempt = client.attempt(CHAT_ID, "hello")

    assert attempt.kind == "transient"
    assert attempt.error is not None
    assert "ReadTimeout" in attempt.error
    assert BOT_TOKEN not in attempt.error
    # Telegram got (and, being Telegram, delivered) it all the same: why retries can duplicate.
    assert len(telegram.wait_for_messages(1, timeout=2)) == 1


# -- 4xx that must not be retried -----------------------------------------------------


def test_blocked_by_user_fails_at_once(telegram: TelegramStandIn) -> None:
    telegram.enqueue_response(403)
    client = make_client(telegram.url)

    attempt = client.attempt(CHAT_ID, "hello")

    assert attempt.kind == "failed"
    assert attempt.result(attempt.requests).blocked_by_user
    assert attempt.requests == 1
    assert attempt.http_status == 403
    assert attempt.description == "Forbidden: bot was blocked by the user"
    assert attempt.error is not None
    assert "bot was blocked by the user" in attempt.error
    assert len(telegram.calls) == 1


@pytest.mark.parametrize(
    ("status", "description"),
    [(400, "Bad Request: chat not found"), (401, "Unauthorized")],
)
def test_other_client_errors_fail_at_once(
    telegram: TelegramStandIn, status: int, description: str
) -> None:
    telegram.enqueue_response(status)
    client = make_client(telegram.url)

    attempt = client.attempt(CHAT_ID, "hello")

    assert attempt.kind == "failed"
    assert not attempt.result(attempt.requests).blocked_by_user
    assert attempt.requests == 1
    assert attempt.http_status == status
    assert attempt.description == description
    assert len(telegram.calls) == 1


def test_unknown_token_gets_unauthorized_from_standin() -> None:
    with TelegramStandIn(accepted_tokens={"999:other"}) as telegram:
        client = make_client(telegram.url)

        attempt = client.attempt(CHAT_ID, "hello")

    assert (attempt.kind, attempt.http_status, attempt.requests) == ("failed", 401, 1)
    assert attempt.error is not None
    assert BOT_TOKEN not in attempt.error


# -- rate limiting of sends -----------------------------------------------------------


class FakeClock:
    """A clock that only moves when someone sleeps on it."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def test_rate_limiter_spaces_acquires_at_the_configured_rate() -> None:
    clock = FakeClock()
    limiter = RateLimiter(rate_per_second=20, clock=clock, sleep=clock.sleep)

    for _ in range(41):
        limiter.acquire()

    # The first one is free, each further one waits 1/20 s: 40 / 20 = 2 s in total.
    assert sum(clock.slept) == pytest.approx(2.0)
    assert clock.slept == pytest.approx([0.05] * 40)


def test_rate_limiter_refills_while_idle_up_to_burst() -> None:
    clock = FakeClock()
    limiter = RateLimiter(rate_per_second=10, burst=3, clock=clock, sleep=clock.sleep)

    waits = [limiter.acquire() for _ in range(3)]
    assert waits == [0, 0, 0]
    clock.now += 60  # a long idle period refills only up to the burst size

    waits = [limiter.acquire() for _ in range(4)]
    assert waits == pytest.approx([0, 0, 0, 0.1])


def test_rate_limiter_gives_each_concurrent_caller_its_own_slot() -> None:
    # Frozen clock: every caller sees the same instant, so each must be handed a
    # different reservation (0, 1/R, 2/R, ...). A lost update would repeat a wait.
    frozen_now = 50.0
    waits: list[float] = []
    waits_lock = threading.Lock()

    def record(seconds: float) -> None:
        with waits_lock:
            waits.append(seconds)

    rate = 25.0
    limiter = RateLimiter(rate_per_second=rate, clock=lambda: frozen_now, sleep=record)
    threads_count, acquires_per_thread = 8, 25

    def worker() -> None:
        for _ in range(acquires_per_thread):
            limiter.acquire()

    in_parallel(*[worker] * threads_count)

    total = threads_count * acquires_per_thread
    # The first caller waits 0 and does not sleep; everyone else has a distinct slot.
    assert sorted(waits) == pytest.approx([slot / rate for slot in range(1, total)])


def test_client_takes_a_rate_limiter_token_per_request(telegram: TelegramStandIn) -> None:
    clock = FakeClock()
    limiter = RateLimiter(rate_per_second=4, clock=clock, sleep=clock.sleep)
    telegram.enqueue_response(500)
    client = make_client(telegram.url, rate_limiter=limiter)

    assert client.attempt(CHAT_ID, "one").kind == "transient"
    assert client.attempt(CHAT_ID, "one").kind == "sent"
    assert client.attempt(CHAT_ID, "two").kind == "sent"

    assert len(telegram.calls) == 3
    assert clock.slept == pytest.approx([0.25, 0.25])


# -- the stand-in itself ---------------------------------------------------------------


def test_standin_wait_for_messages_fails_clearly_instead_of_hanging(
    telegram: TelegramStandIn,
) -> None:
    requests.post(f"{telegram.url}/bot{BOT_TOKEN}/setWebhook", json={"url": "https://x"}, timeout=2)

    with pytest.raises(AssertionError, match=r"expected at least 1 sendMessage.*setWebhook"):
        telegram.wait_for_messages(1, timeout=0.2)
    [webhook_call] = telegram.calls_for("setWebhook")
    assert webhook_call.payload == {"url": "https://x"}
    assert webhook_call.response_status == 200


def test_standin_records_to_jsonl(tmp_path: Path) -> None:
    record = tmp_path / "telegram.jsonl"
    with TelegramStandIn(record_path=record) as telegram:
        client = TelegramClient(telegram.url, BOT_TOKEN)
        assert client.attempt(CHAT_ID, "recorded").kind == "sent"

    [line] = record.read_text(encoding="utf-8").splitlines()
    entry = json.loads(line)
    assert entry["method"] == "sendMessage"
    assert entry["token"] == BOT_TOKEN
    assert entry["payload"]["text"] == "recorded"
    assert entry["response_status"] == 200


@pytest.mark.parametrize(("keep_alive", "connections"), [(False, 3), (True, 1)])
def test_the_client_keeps_its_connection_where_telegram_keeps_it_alive(
    keep_alive: bool, connections: int
) -> None:
    with TelegramStandIn(keep_alive=keep_alive) as telegram:
        client = TelegramClient(telegram.url, BOT_TOKEN)
        for number in range(3):
            assert client.attempt(CHAT_ID, f"message {number}").kind == "sent"
        assert len(telegram.messages) == 3
        assert telegram.connections == connections


def test_standin_runs_as_a_separate_process(tmp_path: Path) -> None:
    record = tmp_path / "calls.jsonl"
    script = Path(__file__).with_name("telegram_standin.py")
    process = subprocess.Popen(
        [sys.executable, str(script), "--port", "0", "--record", str(record)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        url = process.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:")

        attempt = TelegramClient(url, BOT_TOKEN).attempt(CHAT_ID, "from afar")

        assert attempt.kind == "sent"
        entry = json.loads(record.read_text(encoding="utf-8").splitlines()[0])
        assert entry["payload"]["text"] == "from afar"
    finally:
        process.terminate()
        assert process.wait(timeout=5) == 0
