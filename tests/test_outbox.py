"""api_app's transactional outbox: recorded with the change, published after the commit only,
never lost when the broker is down, and never published twice by concurrent relays."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import redis
from flask import Flask
from sqlalchemy import update
from sqlalchemy.orm import Session

from devstack.servers import EmbeddedRedis, free_port, start_redis
from event_contract import HANDLE_EVENT_TASK, NOTIFICATIONS_QUEUE, Event
from tests.eventually import eventually
from tests.parallel import in_parallel
from tests.pipeline import limit_exceeded, outbox_row, record


@pytest.fixture
def quiet_broker(tmp_path: Path) -> Iterator[EmbeddedRedis]:
    """A Redis no worker listens to, so the tests can count what was published to it."""
    server = start_redis(tmp_path / "redis", persistence=False)
    yield server
    server.stop()


def api_with_broker(broker_url: str) -> Flask:
    """api_app like any other process of it, publishing to `broker_url`."""
    import api_app

    return api_app.create_app({"TESTING": True, "BROKER_URL": broker_url})


def queued_event_ids(broker_url: str) -> list[str]:
    """The event ids of the tasks waiting in the notifications queue, in queue order."""
    client = redis.Redis.from_url(broker_url)
    ids = []
    for raw in reversed(client.lrange(NOTIFICATIONS_QUEUE, 0, -1)):
        headers = json.loads(raw)["headers"]
        assert headers["task"] == HANDLE_EVENT_TASK
        ids.append(headers["id"])
    client.close()
    return ids


def relay_once(app: Flask) -> tuple[int, str]:
    result = app.test_cli_runner().invoke(args=["outbox", "relay", "--once"])
    return result.exit_code, result.output


def test_a_committed_event_is_published_at_once_as_a_task_named_by_the_contract(
    api: Flask, quiet_broker: EmbeddedRedis
) -> None:
    app = api_with_broker(quiet_broker.url)
    event = limit_exceeded(uuid.uuid4())
    record(app, event)

    assert queued_event_ids(quiet_broker.url) == [str(event.id)]
    row = outbox_row(app, event.id)
    assert row is not None
    assert row["published_at"] is not None
    assert (row["attempts"], row["last_error"]) == (1, None)
    assert row["payload"] == event.to_message()


def test_a_rolled_back_event_is_neither_stored_nor_published(
    api: Flask, quiet_broker: EmbeddedRedis
) -> None:
    from api_app.domain_errors import InvalidError
    from api_app.unit_of_work import UnitOfWork

    def refuse_after_recording(event: Event) -> None:
        with UnitOfWork() as uow:
            uow.record(event)
            uow.session.flush()
            raise InvalidError("the use case refused after recording")

    app = api_with_broker(quiet_broker.url)
    rolled_back, committed = limit_exceeded(uuid.uuid4()), limit_exceeded(uuid.uuid4())
    with app.app_context():
        with pytest.raises(InvalidError):
            refuse_after_recording(rolled_back)
        # The next transaction of the same session publishes its own event only.
        with UnitOfWork() as uow:
            uow.record(committed)

    assert outbox_row(app, rolled_back.id) is None
    assert queued_event_ids(quiet_broker.url) == [str(committed.id)]


def test_with_the_broker_down_the_commit_succeeds_and_the_relay_publishes_later(
    api: Flask, tmp_path: Path
) -> None:
    broker = start_redis(tmp_path / "redis", persistence=False)
    app = api_with_broker(broker.url)
    broker.stop()
    events = [limit_exceeded(uuid.uuid4()) for _ in range(3)]
    try:
        for event in events:
            record(app, event)  # no exception: the change is committed

        for event in events:
            row = outbox_row(app, event.id)
            assert row is not None
            assert row["published_at"] is None
            assert row["attempts"] == 1
            assert "Connection" in str(row["last_error"])

        exit_code, output = relay_once(app)
        assert exit_code == 1, output
        assert "still unpublished" in output

        broker.start_again()
        exit_code, output = relay_once(app)
        assert exit_code == 0, output
        assert "published 3" in output
        assert queued_event_ids(broker.url) == [str(event.id) for event in events]
        for event in events:
            row = outbox_row(app, event.id)
            assert row is not None
            assert row["published_at"] is not None
            assert row["last_error"] is None

        # Nothing is left: a second pass publishes nothing again.
        assert relay_once(app) == (0, "outbox relay stopped: published 0, purged 0\n")
        assert len(queued_event_ids(broker.url)) == 3
    finally:
        broker.stop()


def test_a_fast_path_without_a_database_connection_leaves_the_event_to_the_relay(
    api: Flask, quiet_broker: EmbeddedRedis
) -> None:
    """The committing session still holds its connection while the fast path runs; with every
    other connection of the pool taken, the fast path cannot claim the row. The commit stands
    (a request answers as usual) and the relay publishes the event."""
    import api_app

    app = api_app.create_app(
        {
            "TESTING": True,
            "BROKER_URL": quiet_broker.url,
            "SQLALCHEMY_ENGINE_OPTIONS": {"pool_size": 1, "max_overflow": 0, "pool_timeout": 0.2},
        }
    )
    event = limit_exceeded(uuid.uuid4())
    record(app, event)  # no exception: the change is committed

    row = outbox_row(app, event.id)
    assert row is not None
    assert (row["published_at"], row["attempts"]) == (None, 0)
    assert queued_event_ids(quiet_broker.url) == []
    exit_code, output = relay_once(app)
    assert exit_code == 0, output
    assert queued_event_ids(quiet_broker.url) == [str(event.id)]


def test_the_relay_purges_published_events_after_the_retention(
    api: Flask, quiet_broker: EmbeddedRedis
) -> None:
    from api_app.extensions import db
    from api_app.models import OutboxEvent

    app = api_with_broker(quiet_broker.url)
    app.config["OUTBOX_RETENTION_HOURS"] = 24
    old, recent = limit_exceeded(uuid.uuid4()), limit_exceeded(uuid.uuid4())
    record(app, old, recent)
    with app.app_context():
        db.session.execute(
            update(OutboxEvent)
            .where(OutboxEvent.id == old.id)
            .values(published_at=datetime.now(UTC) - timedelta(hours=25))
        )
        db.session.commit()

    exit_code, output = relay_once(app)
    assert (exit_code, output) == (0, "outbox relay stopped: published 0, purged 1\n")
    assert outbox_row(app, old.id) is None
    assert outbox_row(app, recent.id) is not None


def test_concurrent_relays_never_publish_an_event_twice(
    api: Flask, quiet_broker: EmbeddedRedis
) -> None:
    from api_app.events.fast_path import PUBLISHER_EXTENSION
    from api_app.events.outbox import publish_pending
    from api_app.extensions import db

    app = api_with_broker(quiet_broker.url)
    unreachable = api_with_broker(f"redis://127.0.0.1:{free_port()}/0")
    events = [limit_exceeded(uuid.uuid4()) for _ in range(120)]
    record(unreachable, *events)  # all left unpublished for the relays
    assert queued_event_ids(quiet_broker.url) == []

    # Enough batches for one relay to publish everything alone, and its last, empty one.
    batches = len(events) // 7 + 2

    def relay() -> list[bool]:
        """Whether the broker refused anything, batch by batch, until nothing was left."""
        refusals: list[bool] = []

        def publish_a_batch() -> bool:
            with Session(db.engine) as session:
                report = publish_pending(session, app.extensions[PUBLISHER_EXTENSION], limit=7)
            refusals.append(report.broker_failed)
            return report.published == 0

        with app.app_context():
            eventually(publish_a_batch, "an empty batch: nothing left", tries=batches, pause=0)
        return refusals

    refusals = [refused for run in in_parallel(relay, relay, relay) for refused in run]
    assert not any(refusals)

    published = queued_event_ids(quiet_broker.url)
    assert sorted(published) == sorted(str(event.id) for event in events)


def test_outbox_status_reports_what_waits(api: Flask) -> None:
    unreachable = api_with_broker(f"redis://127.0.0.1:{free_port()}/0")
    record(unreachable, limit_exceeded(uuid.uuid4()), limit_exceeded(uuid.uuid4()))

    result = unreachable.test_cli_runner().invoke(args=["outbox", "status"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == "unpublished: 2"
    assert lines[1].startswith("oldest unpublished: ")
    assert lines[2] == "published, kept until purged: 0"
