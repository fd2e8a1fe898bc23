"""The embedded engines behind `make run`: real PostgreSQL and Redis from wheels.

Needs no system PostgreSQL or Redis; every server lives in a temporary directory.
"""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import cast

import psycopg2  # type: ignore[import-untyped, unused-ignore]
import pytest
import redis

from devstack.servers import (
    EmbeddedPostgres,
    EmbeddedRedis,
    EmbeddedServerError,
    drop_database,
    ensure_database,
    start_postgres,
    start_redis,
)

# It starts, kills and restarts embedded PostgreSQL and Redis servers.
pytestmark = pytest.mark.chaos

REPO_ROOT = Path(__file__).resolve().parent.parent
PROBE_DATABASE = "devstack_probe"
QUEUE_KEY = "devstack:queue"


def database_names(superuser_url: str) -> set[str]:
    with (
        contextlib.closing(psycopg2.connect(superuser_url)) as connection,
        connection.cursor() as cursor,
    ):
        cursor.execute("SELECT datname FROM pg_database")
        return {row[0] for row in cursor.fetchall()}


def select_one(url: str) -> int:
    with contextlib.closing(psycopg2.connect(url)) as connection, connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        (value,) = cursor.fetchone()
        return int(value)


def queued_items(server: EmbeddedRedis) -> list[bytes]:
    with contextlib.closing(redis.Redis.from_url(server.url)) as client:
        # redis-py types sync and async results as one union.
        return cast("list[bytes]", client.lrange(QUEUE_KEY, 0, -1))


def enqueue(server: EmbeddedRedis, *items: str) -> None:
    with contextlib.closing(redis.Redis.from_url(server.url)) as client:
        client.lpush(QUEUE_KEY, *items)


@pytest.fixture
def postgres_data_dir(tmp_path: Path) -> Path:
    return tmp_path / "postgres"


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[EmbeddedRedis]:
    server = start_redis(tmp_path / "redis", persistence=True)
    yield server
    server.stop()


def test_postgres_database_survives_stop_and_start(postgres_data_dir: Path) -> None:
    first_run = start_postgres(postgres_data_dir)
    try:
        ensure_database(first_run.superuser_url, PROBE_DATABASE)
        ensure_database(first_run.superuser_url, PROBE_DATABASE)  # already there: no error
        assert select_one(first_run.url_for(PROBE_DATABASE)) == 1
    finally:
        first_run.stop()
    assert not (postgres_data_dir / "postmaster.pid").exists()

    second_run = start_postgres(postgres_data_dir)
    try:
        assert second_run.pid != first_run.pid
        assert PROBE_DATABASE in database_names(second_run.superuser_url)
        assert select_one(second_run.url_for(PROBE_DATABASE)) == 1
    finally:
        second_run.stop()


def test_drop_database_disconnects_open_sessions(postgres_data_dir: Path) -> None:
    server = start_postgres(postgres_data_dir, cleanup="delete")
    try:
        ensure_database(server.superuser_url, PROBE_DATABASE)
        open_session = psycopg2.connect(server.url_for(PROBE_DATABASE))
        try:
            drop_database(server.superuser_url, PROBE_DATABASE)
        finally:
            open_session.close()
        assert PROBE_DATABASE not in database_names(server.superuser_url)
        drop_database(server.superuser_url, PROBE_DATABASE)  # already gone: no error
    finally:
        server.stop()
    assert not postgres_data_dir.exists()


def test_postgres_left_by_killed_process_is_adopted_and_stopped(postgres_data_dir: Path) -> None:
    # A `make run` killed with SIGKILL leaves its postmaster running.
    start_and_die = (
        "import os, signal, sys\n"
        "from pathlib import Path\n"
        "from devstack.servers import ensure_database, start_postgres\n"
        "server = start_postgres(Path(sys.argv[1]))\n"
        f"ensure_database(server.superuser_url, {PROBE_DATABASE!r})\n"
        "print(server.pid, flush=True)\n"
        "os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    killed = subprocess.run(
        [sys.executable, "-c", start_and_die, str(postgres_data_dir)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert killed.returncode == -9, killed.stderr
    orphaned_postmaster_pid = int(killed.stdout.strip())

    adopted: EmbeddedPostgres = start_postgres(postgres_data_dir)
    try:
        assert adopted.pid == orphaned_postmaster_pid
        assert select_one(adopted.url_for(PROBE_DATABASE)) == 1
    finally:
        adopted.stop()
    # The handle list still names the killed process; stopping must not defer to it.
    assert not (postgres_data_dir / "postmaster.pid").exists()


def test_redis_queue_survives_stop_and_start_again(redis_server: EmbeddedRedis) -> None:
    enqueue(redis_server, "first", "second")
    port = redis_server.port

    redis_server.stop()
    assert not redis_server.is_running()
    with pytest.raises(redis.exceptions.ConnectionError):
        queued_items(redis_server)

    redis_server.start_again()
    assert redis_server.port == port
    assert redis_server.url == f"redis://127.0.0.1:{port}/0"
    assert queued_items(redis_server) == [b"second", b"first"]


def test_redis_keeps_acknowledged_writes_when_killed(redis_server: EmbeddedRedis) -> None:
    enqueue(redis_server, "acknowledged")
    redis_server.kill()
    assert not redis_server.is_running()

    redis_server.start_again()
    assert queued_items(redis_server) == [b"acknowledged"]


def test_redis_without_persistence_starts_empty(tmp_path: Path) -> None:
    server = start_redis(tmp_path / "redis", persistence=False)
    try:
        enqueue(server, "volatile")
        server.stop()
        server.start_again()
        assert queued_items(server) == []
    finally:
        server.stop()


def test_redis_start_failure_reports_the_log(tmp_path: Path) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as occupant:
        occupant.bind(("127.0.0.1", 0))
        occupant.listen()
        taken_port = occupant.getsockname()[1]
        with pytest.raises(EmbeddedServerError, match="Address already in use"):
            start_redis(tmp_path / "redis", port=taken_port)
