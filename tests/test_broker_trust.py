"""Issue 22 item 7: the broker does not trust every message. A worker acts on a task only when
the task's own signer signed it (event_contract.TASK_SIGNERS): events only from api_app, bot
commands only from notify_app. Anyone else who can write to Redis is refused, logged once and
not retried, and nothing changes."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import redis
from flask import Flask
from sqlalchemy import select

from devstack.broker_access import create_users, user_password, user_url
from devstack.servers import start_redis
from event_contract import (
    API_JOBS_QUEUE,
    BOT_COMMAND_TASK,
    HANDLE_EVENT_TASK,
    NOTIFICATIONS_QUEUE,
    SCHEMA_VERSION,
    SIGNATURE_HEADER,
    TASK_SIGNATURES,
    BotCommand,
    Event,
    UntrustedMessageError,
    UserDeleted,
    sign_task,
    verify_task,
)
from service_kit.message_signing import MessageSigningError, signing_celery
from tests.conftest import REPO_ROOT
from tests.eventually import eventually
from tests.pipeline import set_settings, wait_until_broker_idle
from tests.processes import LaunchedProcess
from tests.users import SignedInUser

KEYS = {"events": b"events-key", "bot_commands": b"bot-key"}
MESSAGE = {"id": "e1", "type": "user.deleted"}


def signed(**changes: Any) -> dict[str, Any]:
    signature = sign_task(KEYS["events"], HANDLE_EVENT_TASK, "t1", [MESSAGE], {})
    return {**signature, **changes}


def test_a_message_signed_by_its_signer_is_trusted() -> None:
    verify_task(KEYS, HANDLE_EVENT_TASK, "t1", [MESSAGE], {}, signed())


@pytest.mark.parametrize(
    ("task", "task_id", "args", "signature", "reason"),
    [
        (HANDLE_EVENT_TASK, "t1", [MESSAGE], None, "is not signed"),
        (HANDLE_EVENT_TASK, "t1", [{**MESSAGE, "type": "x"}], signed(), "does not match"),
        (HANDLE_EVENT_TASK, "t2", [MESSAGE], signed(), "does not match"),
        (HANDLE_EVENT_TASK, "t1", [MESSAGE], signed(hmac="0" * 64), "does not match"),
        # Signed by another signer: its key never makes an event.
        (HANDLE_EVENT_TASK, "t1", [MESSAGE], signed(signer="bot_commands"), "must be signed by"),
        (BOT_COMMAND_TASK, "t1", [MESSAGE], signed(), "must be signed by"),
        (HANDLE_EVENT_TASK, "t1", [MESSAGE], signed(schema_version=SCHEMA_VERSION + 1), "schema"),
        ("celery.chord_unlock", "t1", [], signed(), "no signer may send"),
    ],
)
def test_anything_else_is_not(
    task: str, task_id: str, args: list[Any], signature: object, reason: str
) -> None:
    with pytest.raises(UntrustedMessageError, match=reason):
        verify_task(KEYS, task, task_id, args, {}, signature)


def test_a_process_without_the_key_cannot_send(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BROKER_SIGNING_KEY_BOT_COMMANDS", raising=False)
    monkeypatch.delenv("BROKER_SIGNING_KEY_BOT_COMMANDS_FILE", raising=False)
    client = signing_celery("keyless", TASK_SIGNATURES, broker="redis://127.0.0.1:1/0")
    with pytest.raises(MessageSigningError, match="BROKER_SIGNING_KEY_BOT_COMMANDS"):
        client.amqp.create_task_message("t1", BOT_COMMAND_TASK, [{}], {})


def forge(redis_url: str, queue: str, task: str, args: list[Any], signature: object = None) -> str:
    """A task message pushed straight onto the queue, as kombu stores one: what anyone with a
    Redis password could do. Returns its task id."""
    task_id = str(uuid.uuid4())
    body = json.dumps([args, {}, {"callbacks": None, "errbacks": None, "chain": None}])
    headers: dict[str, Any] = {
        "lang": "py", "task": task, "id": task_id, "root_id": task_id, "parent_id": None,
        "group": None, "retries": 0, "eta": None, "expires": None, "ignore_result": False,
        "argsrepr": repr(args), "kwargsrepr": "{}", "origin": "forger@nowhere",
    }  # fmt: skip
    if signature is not None:
        headers[SIGNATURE_HEADER] = signature
    message = {
        "body": base64.b64encode(body.encode()).decode(),
        "content-encoding": "utf-8",
        "content-type": "application/json",
        "headers": headers,
        "properties": {
            "correlation_id": task_id, "reply_to": "", "delivery_mode": 2, "priority": 0,
            "delivery_info": {"exchange": "", "routing_key": queue},
            "body_encoding": "base64", "delivery_tag": str(uuid.uuid4()),
        },
    }  # fmt: skip
    redis.Redis.from_url(redis_url).lpush(queue, json.dumps(message))
    return task_id


def settings_exist(notify: Flask, user_id: uuid.UUID) -> bool:
    from notify_app.extensions import db
    from notify_app.models import NotificationSettings

    with notify.app_context():
        found = db.session.scalar(
            select(NotificationSettings.id).where(NotificationSettings.user_id == user_id)
        )
        db.session.rollback()
    return found is not None


def test_a_forged_user_deleted_is_not_acted_on_a_signed_one_is(
    notify: Flask, celery_worker: LaunchedProcess, redis_url: str
) -> None:
    from worker.tasks import handle_event

    user_id = uuid.uuid4()
    set_settings(notify, user_id, chat_id="4712")
    deleted = Event(user_id=user_id, payload=UserDeleted()).to_message()

    unsigned = forge(redis_url, NOTIFICATIONS_QUEUE, HANDLE_EVENT_TASK, [deleted])
    # Signed, but with the bot commands' scheme and a key of the forger's own.
    wrongly_signed = forge(
        redis_url,
        NOTIFICATIONS_QUEUE,
        HANDLE_EVENT_TASK,
        [deleted],
        {"signer": "events", "schema_version": SCHEMA_VERSION, "hmac": "ab" * 32},
    )
    for task_id in (unsigned, wrongly_signed):
        celery_worker.wait_until_logged(f"rejected task message {HANDLE_EVENT_TASK}[{task_id}]")
    wait_until_broker_idle(redis_url)
    assert settings_exist(notify, user_id), "a forged user.deleted deleted the user's settings"
    # Refused once each: not retried.
    log = celery_worker.log_path.read_text(errors="replace")
    assert log.count(f"[{unsigned}]") == 1
    assert log.count(f"[{wrongly_signed}]") == 1

    handle_event.apply_async(args=[deleted], task_id=str(deleted["id"]))
    eventually(lambda: not settings_exist(notify, user_id), "the signed user.deleted acted on")


def transactions_of(api: Flask, user_id: uuid.UUID) -> list[str]:
    from api_app.extensions import db
    from api_app.models import Transaction

    with api.app_context():
        amounts = db.session.scalars(
            select(Transaction.amount).where(Transaction.user_id == user_id)
        ).all()
        db.session.rollback()
    return [f"{amount:.2f}" for amount in amounts]


def test_a_forged_bot_command_is_not_acted_on_a_signed_one_is(
    api: Flask,
    api_worker: LaunchedProcess,
    make_user: Callable[[], SignedInUser],
    redis_url: str,
) -> None:
    user = make_user()
    user.category("Food")

    def spent(amount: str) -> dict[str, Any]:
        return BotCommand(
            id=uuid.uuid4(),
            user_id=user.id,
            chat_id="4713",
            name="spent",
            arguments=f"{amount} food",
            sent_at=datetime.now(UTC),
        ).to_message()

    forged = forge(redis_url, API_JOBS_QUEUE, BOT_COMMAND_TASK, [spent("4.21")])
    # Signed with the events' key: api_app's own signer may not send bot commands.
    events_signed = forge(
        redis_url,
        API_JOBS_QUEUE,
        BOT_COMMAND_TASK,
        [spent("5.21")],
        {"signer": "events", "schema_version": SCHEMA_VERSION, "hmac": "cd" * 32},
    )
    for task_id in (forged, events_signed):
        api_worker.wait_until_logged(f"rejected task message {BOT_COMMAND_TASK}[{task_id}]")
    wait_until_broker_idle(redis_url)
    assert transactions_of(api, user.id) == [], "a forged bot command recorded a transaction"

    client = signing_celery("notify-stand-in", TASK_SIGNATURES, broker=redis_url)
    try:
        client.send_task(BOT_COMMAND_TASK, args=[spent("6.21")], queue=API_JOBS_QUEUE)
    finally:
        client.close()
    eventually(
        lambda: transactions_of(api, user.id) == ["6.21"], "the signed bot command carried out"
    )


@pytest.fixture(scope="module")
def acl_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """An embedded Redis with the users of deploy/redis/users.acl, as `make run` makes it:
    its URL and the run's secret the users' passwords derive from."""
    server = start_redis(tmp_path_factory.mktemp("acl-redis"), persistence=False)
    try:
        yield server.url, create_users(server.url)
    finally:
        server.stop()


def as_user(acl_broker: tuple[str, str], user: str) -> redis.Redis:
    url, secret = acl_broker
    return redis.Redis.from_url(user_url(url, user, user_password(secret, user)))


# Who may push onto which queue: each process type onto the queues it sends to, and no other.
SENDS_TO = {
    "api": {NOTIFICATIONS_QUEUE},
    "relay": {NOTIFICATIONS_QUEUE},
    "notify": {NOTIFICATIONS_QUEUE, API_JOBS_QUEUE},
    "beat": {NOTIFICATIONS_QUEUE, API_JOBS_QUEUE},
    "worker": {NOTIFICATIONS_QUEUE},
    "api-worker": {NOTIFICATIONS_QUEUE, API_JOBS_QUEUE},
    "gateway": {NOTIFICATIONS_QUEUE, API_JOBS_QUEUE},
}


@pytest.mark.parametrize("user", sorted(SENDS_TO))
def test_each_process_types_broker_user_runs_only_its_commands(
    acl_broker: tuple[str, str], user: str
) -> None:
    client = as_user(acl_broker, user)
    try:
        assert client.ping()
        for command in (("FLUSHALL",), ("FLUSHDB",), ("KEYS", "*"), ("CONFIG", "GET", "*")):
            with pytest.raises(redis.exceptions.NoPermissionError):
                client.execute_command(*command)  # type: ignore[no-untyped-call]
        for queue in (NOTIFICATIONS_QUEUE, API_JOBS_QUEUE):
            if queue in SENDS_TO[user]:
                client.lpush(queue, "allowed")
            else:
                with pytest.raises(redis.exceptions.NoPermissionError):
                    client.lpush(queue, "forged")
        # Nobody but a worker reads a queue's taken tasks or touches another key.
        with pytest.raises(redis.exceptions.NoPermissionError):
            client.set("anything", "x")
    finally:
        client.close()


def test_the_default_user_is_off_and_passwords_are_per_user(acl_broker: tuple[str, str]) -> None:
    url, secret = acl_broker
    anonymous = redis.Redis.from_url(url)
    with pytest.raises(redis.exceptions.AuthenticationError):
        anonymous.ping()
    anonymous.close()
    # The relay's password is not the api's.
    wrong = redis.Redis.from_url(user_url(url, "api", user_password(secret, "relay")))
    with pytest.raises(redis.exceptions.AuthenticationError):
        wrong.ping()
    wrong.close()


def test_a_worker_without_the_key_of_what_it_consumes_refuses_to_start(
    service_environment: dict[str, str],
) -> None:
    environ = {**service_environment, "WORKER_METRICS_PORT": "0"}
    environ.pop("BROKER_SIGNING_KEY_EVENTS")
    stopped = subprocess.run(
        [sys.executable, "-m", "celery", "-A", "worker", "worker", "-Q", "notifications",
         "--pool", "solo", "--hostname", f"keyless-{uuid.uuid4().hex[:8]}@test"],
        cwd=REPO_ROOT, env=environ, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert stopped.returncode != 0
    assert "needs BROKER_SIGNING_KEY_EVENTS" in stopped.stdout + stopped.stderr
