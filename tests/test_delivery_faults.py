"""Fault tests: Redis stopped under writes, a worker killed at every point of a delivery.

Each test has its own Redis (with its append-only file, as in production), its own worker
processes and its own Celery beat pointed at it, so stopping or killing them disturbs no other
test. Leases, the sweep and its grace are shortened to seconds. The broker's visibility timeout
stays at an hour unless a test is about it: recovery after a crash must not wait for it.
"""

from __future__ import annotations

import contextlib
import signal
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import psutil
import pytest
from flask import Flask
from sqlalchemy import select

from devstack.run import DEFAULT_PROFILE, PROFILES
from devstack.servers import EmbeddedRedis, start_redis
from event_contract import (
    API_JOBS_QUEUE,
    BOT_COMMAND_TASK,
    TASK_SIGNATURES,
    BotCommand,
)
from service_kit.message_signing import signing_celery
from tests.eventually import eventually
from tests.pipeline import (
    deliveries_of,
    finished_delivery,
    limit_exceeded,
    record,
    set_settings,
)
from tests.processes import LaunchedProcess, launch
from tests.telegram_standin import TelegramStandIn
from tests.users import SignedInUser

# Its tests stop their Redis and SIGKILL their own workers.
pytestmark = pytest.mark.chaos

CHAT_ID = "5550001"
VISIBILITY_TIMEOUT_SECONDS = 2
# Seconds the test's deliveries wait at most, for anything: generous, never a time limit.
RECOVERY_WAIT_SECONDS = 90


@dataclass
class Rig:
    """One test's broker, Telegram and api_app publishing to that broker."""

    broker: EmbeddedRedis
    telegram: TelegramStandIn
    api: Flask
    environment: dict[str, str]
    tmp_path: Path
    processes: list[LaunchedProcess]
    # Whose notifications worker runs: `make run PROFILE=...`'s (the small one's is solo).
    profile: str = DEFAULT_PROFILE

    def launch(self, name: str, *options: str, profile: str | None = None) -> LaunchedProcess:
        process = launch(name, self.environment, self.tmp_path, *options, profile=profile)
        self.processes.append(process)
        return process

    def start_worker(self, concurrency: int = 1) -> LaunchedProcess:
        worker = self.launch("worker", "--concurrency", str(concurrency), profile=self.profile)
        worker.wait_until_consuming(self.broker.url)
        return worker

    def start_api_worker(self) -> LaunchedProcess:
        """An api worker (bot commands, periodic jobs) on this test's broker."""
        worker = self.launch("api-worker")
        worker.wait_until_logged(" ready.")
        return worker

    def start_beat(self) -> None:
        """Celery beat with the system's schedule: here, the delivery sweep every second."""
        self.launch("beat")

    def start_relay(self) -> LaunchedProcess:
        return self.launch("relay")


@pytest.fixture
def broker_settings() -> dict[str, str]:
    """The broker's visibility timeout: an hour, as if it were not there (overridden by the
    tests about it)."""
    return {"BROKER_VISIBILITY_TIMEOUT_SECONDS": "3600"}


@pytest.fixture
def profile() -> str:
    """The profile whose notifications worker the rig starts: the default (prefork), unless a
    test proves its recovery in every profile (parametrized over PROFILES)."""
    return DEFAULT_PROFILE


@pytest.fixture
def rig(
    api: Flask,
    notify: Flask,
    service_environment: dict[str, str],
    tmp_path: Path,
    broker_settings: dict[str, str],
    profile: str,
) -> Iterator[Rig]:
    import api_app

    broker = start_redis(tmp_path / "redis", persistence=True)
    telegram = TelegramStandIn().start()
    environment = {
        **service_environment,
        "BROKER_URL": broker.url,
        "TELEGRAM_API_URL": telegram.url,
        "OUTBOX_RELAY_INTERVAL_SECONDS": "0.2",
        "DELIVERY_LEASE_SECONDS": "3",
        "DELIVERY_SWEEP_GRACE_SECONDS": "2",
        "DELIVERY_SWEEP_INTERVAL_SECONDS": "1",
        **broker_settings,
    }
    publishing_api = api_app.create_app({"TESTING": True, "BROKER_URL": broker.url})
    rig = Rig(broker, telegram, publishing_api, environment, tmp_path, [], profile)
    try:
        yield rig
    finally:
        for process in rig.processes:
            process.stop()
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
        relay.process.send_signal(signal.SIGTERM)
        assert relay.process.wait(timeout=30) == 0
    texts = sent_texts(rig.telegram)
    assert sorted(text.split(" for ")[0] for text in texts) == sorted(
        f"Budget alert: {name}" for name in [*categories, "Marker"]
    )
    assert all(message["chat_id"] == CHAT_ID for message in rig.telegram.delivered_messages)


@pytest.mark.parametrize("profile", PROFILES)
def test_a_worker_killed_during_the_send_delivers_after_its_restart(
    rig: Rig, notify: Flask
) -> None:
    user_id = uuid.uuid4()
    set_settings(notify, user_id, chat_id=CHAT_ID)
    rig.start_beat()
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

    # The broker would give the task back only in an hour: the lease runs out, the sweep
    # hands the delivery to the new worker.
    rig.start_worker()
    delivery = finished_delivery(notify, event.id, timeout=RECOVERY_WAIT_SECONDS)

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
    # The requeued task may find the dead process's lease still held: the sweep then sends.
    rig.start_beat()
    worker = rig.start_worker()
    rig.telegram.default_delay_seconds = 10.0
    event = limit_exceeded(user_id)

    record(rig.api, event)
    rig.telegram.wait_for_messages(1, timeout=30)
    [child] = psutil.Process(worker.process.pid).children()
    child.kill()
    rig.telegram.default_delay_seconds = 0.0

    # task_reject_on_worker_lost: the worker requeues the task at once, no restart needed.
    assert finished_delivery(notify, event.id, timeout=RECOVERY_WAIT_SECONDS).status == "sent"
    assert worker.process.poll() is None
    assert set(sent_texts(rig.telegram)) == {deliveries_of(notify, event.id)[0].text}


@pytest.mark.parametrize(
    "broker_settings", [{"BROKER_VISIBILITY_TIMEOUT_SECONDS": str(VISIBILITY_TIMEOUT_SECONDS)}]
)
def test_a_task_handed_out_again_while_still_sending_sends_nothing_more(
    rig: Rig, notify: Flask
) -> None:
    user_id = uuid.uuid4()
    set_settings(notify, user_id, chat_id=CHAT_ID)
    # Two pool processes: while one is still in a send that outlasts the visibility timeout,
    # the broker hands the same task to the other. The lease outlasts the send.
    rig.environment["DELIVERY_LEASE_SECONDS"] = "30"
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


def hold_user_events(notify: Flask, user_id: uuid.UUID) -> contextlib.AbstractContextManager[None]:
    """Hold the lock a worker takes first when it handles one of the user's events (before any
    row of it exists): its task waits, taken from the queue but not acknowledged."""
    import psycopg2

    @contextlib.contextmanager
    def held() -> Iterator[None]:
        connection = psycopg2.connect(notify.config["SQLALCHEMY_DATABASE_URI"])
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_lock(hashtext(%s))", (str(user_id),))
            yield
        finally:
            connection.close()

    return held()


@pytest.mark.parametrize("broker_settings", [{"BROKER_VISIBILITY_TIMEOUT_SECONDS": "10"}])
@pytest.mark.parametrize("profile", PROFILES)
def test_a_worker_killed_before_the_delivery_row_exists_delivers_after_its_restart(
    rig: Rig, notify: Flask
) -> None:
    """Nothing but the task knows about the event yet: the broker's visibility timeout, short
    now that no task holds a message for long, is what gives it back."""
    user_id = uuid.uuid4()
    set_settings(notify, user_id, chat_id=CHAT_ID)
    first_worker = rig.start_worker()
    event = limit_exceeded(user_id)
    with hold_user_events(notify, user_id):
        record(rig.api, event)
        first_worker.wait_until_logged(f"[{event.id}] received")
        first_worker.kill()
    assert deliveries_of(notify, event.id) == []

    rig.start_worker()
    delivery = finished_delivery(notify, event.id, timeout=RECOVERY_WAIT_SECONDS)
    assert delivery.status == "sent"
    assert sent_texts(rig.telegram) == [delivery.text]


@pytest.mark.parametrize("profile", PROFILES)
def test_a_worker_killed_while_a_429_wait_runs_delivers_after_its_restart(
    rig: Rig, notify: Flask
) -> None:
    """The wait is a due time in the delivery log and a countdown task the dead worker held
    (a 5xx's backoff takes the same path); the sweep finds the delivery overdue and hands it
    to the new worker."""
    user_id = uuid.uuid4()
    set_settings(notify, user_id, chat_id=CHAT_ID)
    rig.start_beat()
    first_worker = rig.start_worker()
    rig.telegram.enqueue_response(429, retry_after_seconds=3)
    event = limit_exceeded(user_id)

    record(rig.api, event)
    rig.telegram.wait_for_calls(1, timeout=30)
    first_worker.wait_until_logged("Task notifications.send_delivery[")  # the countdown, held
    first_worker.kill()
    [waiting] = deliveries_of(notify, event.id)
    assert (waiting.status, waiting.attempts) == ("pending", 1), first_worker.log_tail()

    rig.start_worker()
    delivery = finished_delivery(notify, event.id, timeout=RECOVERY_WAIT_SECONDS)
    assert (delivery.status, delivery.attempts) == ("sent", 2)
    assert [call.response_status for call in rig.telegram.calls] == [429, 200]


def test_a_delivery_left_pending_without_a_task_is_swept_and_sent(rig: Rig, notify: Flask) -> None:
    """A pending row whose task was lost (the broker's data gone, a worker killed between the
    commit and the hand-over): the log is the source of truth, the sweep sends it."""
    from notify_app.deliveries.sending import TELEGRAM_CHANNEL
    from notify_app.extensions import db
    from notify_app.models import Delivery

    user_id = uuid.uuid4()
    rig.start_beat()
    rig.start_worker()
    with notify.app_context():
        # The row as a handler commits it before handing it on, due now: no task follows.
        lost = Delivery(
            event_id=uuid.uuid4(),
            event_type="budget.limit_exceeded",
            channel=TELEGRAM_CHANNEL,
            user_id=user_id,
            status="pending",
            chat_id=CHAT_ID,
            text="Lost and found",
        )
        db.session.add(lost)
        db.session.commit()
        delivery_id = lost.id
    assert delivery_id is not None

    rig.telegram.wait_for_messages(1, timeout=RECOVERY_WAIT_SECONDS)
    assert sent_texts(rig.telegram) == ["Lost and found"]


@pytest.mark.parametrize("broker_settings", [{"BROKER_VISIBILITY_TIMEOUT_SECONDS": "10"}])
def test_a_bot_command_whose_api_worker_was_killed_is_carried_out_after_the_timeout(
    rig: Rig, api: Flask, make_user: Callable[[], SignedInUser]
) -> None:
    """The api worker's tasks share the broker's visibility timeout with the notifications
    workers: a command taken by an api worker that died is carried out by the next one, once."""
    import psycopg2

    from api_app.extensions import db
    from api_app.models import BotCommandRecord

    user = make_user()
    command = BotCommand(
        id=uuid.uuid4(),
        user_id=user.id,
        chat_id=CHAT_ID,
        name="summary",
        arguments="",
        sent_at=datetime.now(UTC),
    )
    first_worker = rig.start_api_worker()
    # The command locks its user FOR KEY SHARE first: held here, it waits, taken, unacknowledged.
    holder = psycopg2.connect(api.config["SQLALCHEMY_DATABASE_URI"])
    try:
        with holder.cursor() as cursor:
            cursor.execute("SELECT 1 FROM users WHERE id = %s FOR UPDATE", (str(user.id),))
        client = signing_celery("fault-test-client", TASK_SIGNATURES, broker=rig.broker.url)
        try:
            client.send_task(BOT_COMMAND_TASK, args=[command.to_message()], queue=API_JOBS_QUEUE)
        finally:
            client.close()
        first_worker.wait_until_logged(f"bot command {command.id}")
        first_worker.kill()
    finally:
        holder.close()

    rig.start_api_worker()

    def recorded() -> list[str]:
        with api.app_context():
            names = db.session.scalars(
                select(BotCommandRecord.name).where(BotCommandRecord.id == command.id)
            ).all()
            db.session.rollback()
        return list(names)

    eventually(
        recorded, "the command carried out after its worker died", timeout=RECOVERY_WAIT_SECONDS
    )
    assert recorded() == ["summary"], "the command was not carried out once after its worker died"
