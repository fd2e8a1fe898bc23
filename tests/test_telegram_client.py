"""TelegramClient against the local Telegram stand-in, over real HTTP.

Backoff sleeps are recorded instead of slept so the module stays fast; one test waits
for a real 429 retry_after to prove the wait actually happens on the wire.
"""

from __future__ import annotations

import json
import logging
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from notify_app.telegram import (
    NOT_CONFIGURED_REASON,
    RateLimiter,
    SendResult,
    TelegramClient,
)
from tests.parallel import in_parallel
from tests.telegram_standin import TelegramStandIn

BOT_TOKEN = "123456:TEST-token_abcDEF"
CHAT_ID = "424242"


class RecordingSleep:
    """Stands in for time.sleep: remembers each requested wait, returns at once."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


def ceiling_of_jitter(low: float, high: float) -> float:
    # Makes full jitter deterministic: always the largest allowed wait.
    return high


@pytest.fixture
def telegram() -> Iterator[TelegramStandIn]:
    with TelegramStandIn() as standin:
        yield standin


@pytest.fixture
def recorded_sleep() -> RecordingSleep:
    return RecordingSleep()


def make_client(api_url: str, sleep: RecordingSleep, **overrides: Any) -> TelegramClient:
    options: dict[str, Any] = {"timeout_seconds": 2, "sleep": sleep, "uniform": ceiling_of_jitter}
    return TelegramClient(api_url, BOT_TOKEN, **(options | overrides))


def closed_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


# -- delivery -----------------------------------------------------------------------


def test_sent_message_reaches_telegram_with_exact_text(
    telegram: TelegramStandIn, recorded_sleep: RecordingSleep
) -> None:
    text = "Budget «Food» exceeded: 105.50 / 100.00 EUR\nsecond line & <tags>"
    client = make_client(telegram.url + "/", recorded_sleep)  # trailing slash tolerated

    result = client.send_message(CHAT_ID, text)

    assert result.status == "sent"
    assert result.sent
    assert result.attempts == 1
    assert result.http_status == 200
    assert result.error is None
    assert isinstance(result.message_id, int)
    [call] = telegram.calls
    assert call.method == "sendMessage"
    assert call.token == BOT_TOKEN
    assert call.payload == {
        "chat_id": CHAT_ID,
        "text": text,
        "disable_web_page_preview": True,
    }
    assert telegram.messages == [call.payload]
    assert recorded_sleep.waits == []


def test_message_ids_come_from_telegram(
    telegram: TelegramStandIn, recorded_sleep: RecordingSleep
) -> None:
    client = make_client(telegram.url, recorded_sleep)

    first = client.send_message(CHAT_ID, "one")
    second = client.send_message(CHAT_ID, "two")

    assert first.message_id is not None

    assert second.message_id is not None
    assert second.message_id > first.message_id


@pytest.mark.parametrize("missing_token", [None, "", "   "])
def test_without_token_nothing_is_sent(
    telegram: TelegramStandIn, recorded_sleep: RecordingSleep, missing_token: str | None
) -> None:
    client = TelegramClient(telegram.url, missing_token, sleep=recorded_sleep)

    result = client.send_message(CHAT_ID, "hello")

    assert result == SendResult(status="skipped", attempts=0, error=NOT_CONFIGURED_REASON)
    assert not client.configured
    assert telegram.calls == []


# -- 429 ------------------------------------------------------------------------------


def test_rate_limited_then_sent_after_really_waiting_retry_after(
    telegram: TelegramStandIn,
) -> None:
    telegram.enqueue_response(429, retry_after_seconds=1)
    client = TelegramClient(telegram.url, BOT_TOKEN, timeout_seconds=5)  # real time.sleep

    started = time.monotonic()
    result = client.send_message(CHAT_ID, "after the flood wait")
    elapsed = time.monotonic() - started

    assert result.status == "sent"
    assert result.attempts == 2
    first, second = telegram.calls
    assert (first.response_status, second.response_status) == (429, 200)
    # Measured, not a time limit: the retry must not go out before Telegram allowed it.
    assert elapsed >= 1.0
    assert second.received_at - first.received_at >= 0.99


def test_retry_after_falls_back_to_header_and_is_capped(
    telegram: TelegramStandIn, recorded_sleep: RecordingSleep
) -> None:
    no_parameters = {"ok": False, "error_code": 429, "description": "Too Many Requests"}
    telegram.enqueue_response(429, no_parameters, headers={"Retry-After": "3"})
    telegram.enqueue_response(429, retry_after_seconds=3600)
    client = make_client(telegram.url, recorded_sleep, max_retry_after_seconds=60)

    result = client.send_message(CHAT_ID, "hello")

    assert result.status == "sent"
    assert result.attempts == 3
    assert recorded_sleep.waits == [3.0, 60.0]


def test_rate_limit_waits_do_not_use_up_attempts(
    telegram: TelegramStandIn, recorded_sleep: RecordingSleep
) -> None:
    for _ in range(2):
        telegram.enqueue_response(500)
        telegram.enqueue_response(429, retry_after_seconds=2)
    client = make_client(telegram.url, recorded_sleep, max_attempts=3)

    result = client.send_message(CHAT_ID, "hello")

    assert result.status == "sent"
    assert result.attempts == 5
    assert len(telegram.calls) == 5


def test_endless_rate_limiting_gives_up_after_bounded_waits(
    telegram: TelegramStandIn, recorded_sleep: RecordingSleep
) -> None:
    for _ in range(10):
        telegram.enqueue_response(429, retry_after_seconds=7)
    client = make_client(telegram.url, recorded_sleep, max_rate_limit_waits=5)

    result = client.send_message(CHAT_ID, "hello")

    assert result.status == "failed"
    assert result.http_status == 429
    assert result.attempts == 6
    assert len(telegram.calls) == 6
    assert recorded_sleep.waits == [7.0] * 5
    assert result.error is not None
    assert "rate-limit" in result.error


# -- 5xx and network errors -------------------------------------------------------


def test_server_errors_are_retried_until_sent(
    telegram: TelegramStandIn, recorded_sleep: RecordingSleep
) -> None:
    telegram.enqueue_response(500)
    telegram.enqueue_response(502, "<html><body>502 Bad Gateway</body></html>")
    client = make_client(telegram.url, recorded_sleep)

    result = client.send_message(CHAT_ID, "hello")

    assert result.status == "sent"
    assert result.attempts == 3
    assert [call.response_status for call in telegram.calls] == [500, 502, 200]
    # Full-jitter ceilings for the first two failures: base, then 2 * base.
    assert recorded_sleep.waits == [0.5, 1.0]


def test_server_errors_forever_fail_after_max_attempts(
    telegram: TelegramStandIn, recorded_sleep: RecordingSleep
) -> None:
    for _ in range(10):
        telegram.enqueue_response(500)
    client = make_client(telegram.url, recorded_sleep, max_attempts=4)

    result = client.send_message(CHAT_ID, "hello")

    assert result.status == "failed"
    assert result.attempts == 4
    assert result.http_status == 500
    assert result.description == "Internal Server Error"
    assert len(telegram.calls) == 4
    assert len(recorded_sleep.waits) == 3  # no pointless sleep after the last attempt


def test_connection_refused_fails_after_backoff_without_leaking_token(
    recorded_sleep: RecordingSleep, caplog: pytest.LogCaptureFixture
) -> None:
    client = make_client(
        f"http://127.0.0.1:{closed_port()}",
        recorded_sleep,
        max_attempts=4,
        backoff_base_seconds=0.5,
        backoff_max_seconds=1.5,
    )

    with caplog.at_level(logging.DEBUG):
        result = client.send_message(CHAT_ID, "hello")

    assert result.status == "failed"
    assert result.attempts == 4
    assert result.http_status is None
    assert result.error is not None
    assert result.error.startswith("network error: NewConnectionError")
    assert BOT_TOKEN not in result.error
    assert BOT_TOKEN not in caplog.text
    assert BOT_TOKEN not in repr(client)
    # Exponential ceilings 0.5, 1.0, 2.0 with the last one capped at backoff_max.
    assert recorded_sleep.waits == [0.5, 1.0, 1.5]


def test_a_bad_api_url_fails_at_once_without_leaking_token(
    recorded_sleep: RecordingSleep, caplog: pytest.LogCaptureFixture
) -> None:
    # The port is out of range: urllib3 refuses the URL, and its message quotes it whole.
    client = make_client("http://127.0.0.1:99999", recorded_sleep, max_attempts=4)

    with caplog.at_level(logging.DEBUG):
        result = client.send_message(CHAT_ID, "hello")

    assert result.status == "failed"
    assert result.attempts == 1
    assert result.error is not None
    assert result.error.startswith("request error: LocationParseError")
    assert "/bot<redacted>/sendMessage" in result.error
    assert BOT_TOKEN not in caplog.text
    assert recorded_sleep.waits == []


def test_backoff_uses_full_jitter_below_the_ceiling(recorded_sleep: RecordingSleep) -> None:
    client = TelegramClient(
        f"http://127.0.0.1:{closed_port()}",
        BOT_TOKEN,
        max_attempts=6,
        backoff_base_seconds=0.5,
        backoff_max_seconds=8,
        sleep=recorded_sleep,
    )

    result = client.send_message(CHAT_ID, "hello")

    assert result.status == "failed"
    ceilings = [0.5, 1.0, 2.0, 4.0, 8.0]
    assert len(recorded_sleep.waits) == len(ceilings)
    for wait, ceiling in zip(recorded_sleep.waits, ceilings, strict=True):
        assert 0 <= wait <= ceiling


def test_read_timeout_is_retried_then_fails(
    telegram: TelegramStandIn, recorded_sleep: RecordingSleep
) -> None:
    telegram.default_delay_seconds = 1.0
    client = make_client(telegram.url, recorded_sleep, timeout_seconds=0.1, max_attempts=2)

    result = client.send_message(CHAT_ID, "hello")

    assert result.status == "failed"
    assert result.attempts == 2
    assert result.error is not None
    assert "ReadTimeout" in result.error
    assert BOT_TOKEN not in result.error
    # Telegram got (and, being Telegram, delivered) both: why retries can duplicate.
    assert len(telegram.wait_for_messages(2, timeout=2)) == 2


# -- 4xx that must not be retried -----------------------------------------------------


def test_blocked_by_user_fails_at_once(
    telegram: TelegramStandIn, recorded_sleep: RecordingSleep
) -> None:
    telegram.enqueue_response(403)
    client = make_client(telegram.url, recorded_sleep)

    result = client.send_message(CHAT_ID, "hello")

    assert result.status == "failed"
    assert result.blocked_by_user
    assert result.attempts == 1
    assert result.http_status == 403
    assert result.description == "Forbidden: bot was blocked by the user"
    assert result.error is not None
    assert "bot was blocked by the user" in result.error
    assert len(telegram.calls) == 1
    assert recorded_sleep.waits == []


@pytest.mark.parametrize(
    ("status", "description"),
    [(400, "Bad Request: chat not found"), (401, "Unauthorized")],
)
def test_other_client_errors_fail_at_once(
    telegram: TelegramStandIn, recorded_sleep: RecordingSleep, status: int, description: str
) -> None:
    telegram.enqueue_response(status)
    client = make_client(telegram.url, recorded_sleep)

    result = client.send_message(CHAT_ID, "hello")

    assert result.status == "failed"
    assert not result.blocked_by_user
    assert result.attempts == 1
    assert result.http_status == status
    assert result.description == description
    assert len(telegram.calls) == 1
    assert recorded_sleep.waits == []


def test_unknown_token_gets_unauthorized_from_standin(recorded_sleep: RecordingSleep) -> None:
    with TelegramStandIn(accepted_tokens={"999:other"}) as telegram:
        client = make_client(telegram.url, recorded_sleep)

        result = client.send_message(CHAT_ID, "hello")

    assert (result.status, result.http_status, result.attempts) == ("failed", 401, 1)
    assert result.error is not None
    assert BOT_TOKEN not in result.error


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


def test_client_takes_a_rate_limiter_token_per_request(
    telegram: TelegramStandIn, recorded_sleep: RecordingSleep
) -> None:
    clock = FakeClock()
    limiter = RateLimiter(rate_per_second=4, clock=clock, sleep=clock.sleep)
    telegram.enqueue_response(500)
    client = make_client(telegram.url, recorded_sleep, rate_limiter=limiter)

    assert client.send_message(CHAT_ID, "one").status == "sent"  # two requests
    assert client.send_message(CHAT_ID, "two").status == "sent"

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
        assert client.send_message(CHAT_ID, "recorded").status == "sent"

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
            assert client.send_message(CHAT_ID, f"message {number}").status == "sent"
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

        result = TelegramClient(url, BOT_TOKEN).send_message(CHAT_ID, "from afar")

        assert result.status == "sent"
        entry = json.loads(record.read_text(encoding="utf-8").splitlines()[0])
        assert entry["payload"]["text"] == "from afar"
    finally:
        process.terminate()
        assert process.wait(timeout=5) == 0
