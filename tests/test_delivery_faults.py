"""Fault tests: Redis stopped under writes, a worker killed in the middle of a send.

Each test has its own Redis (with its append-only file, as in production) and its own worker
processes pointed at it, so stopping or killing them disturbs no other test. The worker's
visibility timeout is shortened to seconds (BROKER_VISIBILITY_TIMEOUT_SECONDS) so that a task
abandoned by a killed worker comes back quickly.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psutil
import pytest
from celery import Celery
from flask import Flask

from devstack.servers import EmbeddedRedis, start_redis
from event_contract import NOTIFICATIONS_QUEUE
from tests.conftest import REPO_ROOT
from tests.pipeline import (
    deliveries_of,
    finished_delivery,
    limit_exceeded,
    record,
    set_settings,
)
from tests.telegram_standin import TelegramStandIn

CHAT_ID = "5550001"
VISIBILITY_TIMEOUT_SECONDS = 2


@dataclass
class FaultWorker:
    process: subprocess.Popen[bytes]
    log_path: Path

    def log_tail(self, lines: int = 60) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def pool_children(self) -> list[psutil.Process]:
        return psutil.Process(self.process.pid).children()

    def kill(self) -> None:
        """SIGKILL the worker and its pool at once, like a machine or container dying."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()
        # A pool child orphaned by a killed leader must not outlive the test.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)


@dataclass
class Rig:
    """One test's broker, Telegram and api_app publishing to that broker."""

    broker: EmbeddedRedis
    telegram: TelegramStandIn
    api: Flask
    environment: dict[str, str]
    tmp_path: Path
    workers: list[FaultWorker]

    def start_worker(self, concurrency: int = 1) -> FaultWorker:
        log_path = self.tmp_path / f"worker-{len(self.workers)}.log"
        with log_path.open("ab") as log_file:
            process = subprocess.Popen(
                [
                    sys.executable, "-m", "celery", "-A", "worker", "worker",
                    "-Q", NOTIFICATIONS_QUEUE, "--concurrency", str(concurrency),
                    "--loglevel", "INFO", "--without-gossip", "--without-mingle",
                    "--without-heartbeat", "--hostname", f"fault-{secrets.token_hex(3)}@%h",
                ],
                cwd=REPO_ROOT, env=self.environment, stdout=log_file, stderr=subprocess.STDOUT,
                # Its own process group, so the test can kill the whole worker at once.
                start_new_session=True,
            )  # fmt: skip
        worker = FaultWorker(process, log_path)
        self.workers.append(worker)
        self.wait_until_consuming(worker)
        return worker

    def wait_until_consuming(self, worker: FaultWorker) -> None:
        client = Celery("fault-test-client", broker=self.broker.url, backend=self.broker.url)
        token = secrets.token_hex(8)
        deadline = time.monotonic() + 60
        try:
            while time.monotonic() < deadline:
                if worker.process.poll() is not None:
                    pytest.fail(f"the worker exited early:\n{worker.log_tail()}")
                try:
                    result = client.send_task(
                        "notifications.ping", args=[token], queue=NOTIFICATIONS_QUEUE
                    )
                    if result.get(timeout=5) == token:
                        return
                except Exception:  # noqa: S112 - not up yet; the deadline bounds the retries
                    continue
            pytest.fail(f"the worker never answered a ping:\n{worker.log_tail()}")
        finally:
            client.close()

    def start_relay(self) -> subprocess.Popen[bytes]:
        log_file = (self.tmp_path / "relay.log").open("ab")
        return subprocess.Popen(
            [sys.executable, "-m", "flask", "--app", "api_app", "outbox", "relay"],
            cwd=REPO_ROOT, env=self.environment, stdout=log_file, stderr=subprocess.STDOUT,
        )  # fmt: skip


@pytest.fixture
def rig(
    api: Flask, notify: Flask, service_environment: dict[str, str], tmp_path: Path
) -> Iterator[Rig]:
    import api_app

    broker = start_redis(tmp_path / "redis", persistence=True)
    telegram = TelegramStandIn().start()
    environment = {
        **service_environment,
        "BROKER_URL": broker.url,
        "TELEGRAM_API_URL": telegram.url,
        "BROKER_VISIBILITY_TIMEOUT_SECONDS": str(VISIBILITY_TIMEOUT_SECONDS),
        "OUTBOX_RELAY_INTERVAL_SECONDS": "0.2",
    }
    publishing_api = api_app.create_app({"TESTING": True, "BROKER_URL": broker.url})
    rig = Rig(broker, telegram, publishing_api, environment, tmp_path, [])
    try:
        yield rig
    finally:
        for worker in rig.workers:
            worker.stop()
        telegram.stop()
        broker.stop()


def sent_texts(telegram: TelegramStandIn) -> list[str]:
    return [str(message["text"]) for message in telegram.delivered_messages]


def test_events_recorded_while_redis_is_down_are_each_delivered_once_when_it_is_back(
    rig: Rig, notify: Flask
) -> None:
    user_id = uuid.uuid4()
    set_settings(notify, user_id, chat_id=CHAT_ID)
    rig.start_worker()
    categories = [f"Category {n}" for n in range(5)]
    events = [limit_exceeded(user_id, category_name=name) for name in categories]

    rig.broker.stop()
    for event in events:
        record(rig.api, event)  # each a committed change: the api answers as usual
    rig.broker.start_again()
    relay = rig.start_relay()
    try:
        for event in events:
            assert finished_delivery(notify, event.id, timeout=60).status == "sent"
        # A last event through the same path: every copy of the others went before it.
        marker = limit_exceeded(user_id, category_name="Marker")
        record(rig.api, marker)
        assert finished_delivery(notify, marker.id, timeout=60).status == "sent"
    finally:
        relay.send_signal(signal.SIGTERM)
        assert relay.wait(timeout=30) == 0
    texts = sent_texts(rig.telegram)
    assert sorted(text.split(" for ")[0] for text in texts) == sorted(
        f"Budget alert: {name}" for name in [*categories, "Marker"]
    )
    assert all(message["chat_id"] == CHAT_ID for message in rig.telegram.delivered_messages)


def test_a_worker_killed_during_the_send_delivers_after_its_restart(
    rig: Rig, notify: Flask
) -> None:
    user_id = uuid.uuid4()
    set_settings(notify, user_id, chat_id=CHAT_ID)
    first_worker = rig.start_worker()
    # A slow Telegram keeps the send in flight (the kill comes long before it would answer).
    rig.telegram.default_delay_seconds = 10.0
    event = limit_exceeded(user_id)

    record(rig.api, event)
    rig.telegram.wait_for_messages(1, timeout=30)
    first_worker.kill()
    rig.telegram.default_delay_seconds = 0.0
    # The row was claimed before the call, and the crash left it claimed, not done.
    assert [d.status for d in deliveries_of(notify, event.id)] == ["pending"]

    rig.start_worker()
    delivery = finished_delivery(notify, event.id, timeout=60)

    assert delivery.status == "sent"
    assert delivery.attempts == 1  # the killed attempt's outcome was never recorded
    # Telegram accepted the first request before the crash: this is the one window in which
    # a message can repeat. At least one arrived, and the log holds exactly one sent row.
    texts = sent_texts(rig.telegram)
    assert 1 <= len(texts) <= 2
    assert set(texts) == {delivery.text}
    assert [d.status for d in deliveries_of(notify, event.id)] == ["sent"]


def test_a_killed_pool_process_is_replaced_and_its_task_delivered(rig: Rig, notify: Flask) -> None:
    user_id = uuid.uuid4()
    set_settings(notify, user_id, chat_id=CHAT_ID)
    worker = rig.start_worker()
    rig.telegram.default_delay_seconds = 10.0
    event = limit_exceeded(user_id)

    record(rig.api, event)
    rig.telegram.wait_for_messages(1, timeout=30)
    [child] = worker.pool_children()
    child.kill()
    rig.telegram.default_delay_seconds = 0.0

    # task_reject_on_worker_lost: the worker requeues the task at once, no restart needed.
    assert finished_delivery(notify, event.id, timeout=60).status == "sent"
    assert worker.process.poll() is None
    assert set(sent_texts(rig.telegram)) == {deliveries_of(notify, event.id)[0].text}


def test_a_task_handed_out_again_while_still_sending_sends_nothing_more(
    rig: Rig, notify: Flask
) -> None:
    user_id = uuid.uuid4()
    set_settings(notify, user_id, chat_id=CHAT_ID)
    # Two pool processes: while one is still in a send that outlasts the visibility timeout,
    # the broker hands the same task to the other.
    worker = rig.start_worker(concurrency=2)
    rig.telegram.default_delay_seconds = 3 * VISIBILITY_TIMEOUT_SECONDS
    event = limit_exceeded(user_id)

    record(rig.api, event)
    delivery = finished_delivery(notify, event.id, timeout=60)
    rig.telegram.default_delay_seconds = 0.0
    marker = limit_exceeded(user_id, category_name="Marker")
    record(rig.api, marker)
    finished_delivery(notify, marker.id, timeout=60)

    assert delivery.status == "sent"
    assert sent_texts(rig.telegram).count(delivery.text) == 1
    received = worker.log_tail(400).count(f"[{event.id}] received")
    assert received >= 2, "the broker did not hand the task out twice; the test proves nothing"
