"""The whole system on its own PostgreSQL and Redis, for tests that stop, restart or kill them.

The machine's servers are shared with other test runs; these private ones may be restarted at
will. The processes are the deployed ones (gunicorn gateway, Celery workers, relays, beat), each
in its own process group so a test can SIGKILL one whole, like a container dying.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from devstack.servers import (
    EmbeddedPostgres,
    EmbeddedRedis,
    ensure_database,
    start_postgres,
    start_redis,
)
from event_contract import API_JOBS_QUEUE, NOTIFICATIONS_QUEUE
from tests.conftest import BROKER_SIGNING_KEYS, REPO_ROOT
from tests.eventually import eventually
from tests.pipeline import wait_until_broker_idle
from tests.processes import STARTUP_WAIT_SECONDS, LaunchedProcess, launch
from tests.telegram_standin import TelegramStandIn
from tests.users import LiveClient, SignedInUser, register_through

API_DATABASE = "budget_api"
NOTIFY_DATABASE = "budget_notifications"
# The visibility timeout the stack runs with (30 s), a restore check and room to spare.
KILLED_TASK_RETURN_SECONDS = 90.0
# The queue each Celery process of the stack consumes.
CONSUMED_QUEUES = {"worker": NOTIFICATIONS_QUEUE, "api-worker": API_JOBS_QUEUE}


@dataclass
class PrivateStack:
    """Private PostgreSQL (both databases), Redis and Telegram, and the system's processes."""

    tmp_path: Path
    signing_key_files: tuple[Path, Path]
    # budget_notifications on a server of its own, to restart it alone.
    separate_notify_server: bool = False
    postgres_dir: Path = field(init=False)
    postgres: EmbeddedPostgres = field(init=False)
    notify_postgres_dir: Path = field(init=False)
    notify_postgres: EmbeddedPostgres = field(init=False)
    redis: EmbeddedRedis = field(init=False)
    telegram: TelegramStandIn = field(init=False)
    environment: dict[str, str] = field(init=False)
    processes: list[LaunchedProcess] = field(default_factory=list)
    consumed_queues: set[str] = field(default_factory=set)
    gateway_url: str = ""

    def __post_init__(self) -> None:
        self.postgres_dir = self.tmp_path / "postgres"
        self.postgres = start_postgres(self.postgres_dir, cleanup="stop")
        self.notify_postgres_dir = self.postgres_dir
        self.notify_postgres = self.postgres
        if self.separate_notify_server:
            self.notify_postgres_dir = self.tmp_path / "postgres-notifications"
            self.notify_postgres = start_postgres(self.notify_postgres_dir, cleanup="stop")
        ensure_database(self.postgres.superuser_url, API_DATABASE)
        ensure_database(self.notify_postgres.superuser_url, NOTIFY_DATABASE)
        self.redis = start_redis(self.tmp_path / "redis", persistence=True)
        self.telegram = TelegramStandIn().start()
        private_key, public_key = self.signing_key_files
        self.environment = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("TEST_", "PYTEST_"))},
            "APP_ENV": "testing",
            "LOG_FORMAT": "json",
            "API_DATABASE_URL": self.postgres.url_for(API_DATABASE),
            "NOTIFY_DATABASE_URL": self.notify_postgres.url_for(NOTIFY_DATABASE),
            "BROKER_URL": self.redis.url,
            "JWT_PRIVATE_KEY_FILE": str(private_key),
            "JWT_PUBLIC_KEY_FILE": str(public_key),
            "NOTIFY_CURSOR_SECRET": "private-stack-cursor-secret",
            "AUTH_RATE_LIMIT_PER_ADDRESS": "100000 per minute",
            "AUTH_RATE_LIMIT_PER_EMAIL": "100000 per minute",
            # The chaos stream writes faster than one person would.
            "WRITE_RATE_LIMIT_PER_USER": "100000 per minute",
            "TELEGRAM_API_URL": self.telegram.url,
            "TELEGRAM_BOT_TOKEN": "123456:private-stack",
            "TELEGRAM_RATE_PER_SECOND": "1000",
            "OUTBOX_RELAY_INTERVAL_SECONDS": "0.2",
            "WORKER_METRICS_PORT": "0",
            # Whether or not the suite's environment is set up: the stack signs its messages.
            **BROKER_SIGNING_KEYS,
        }
        for app in ("api_app", "notify_app"):
            subprocess.run(
                [sys.executable, "-m", "flask", "--app", app, "db", "upgrade"],
                cwd=REPO_ROOT, env=self.environment, check=True, capture_output=True,
            )  # fmt: skip

    # -- processes --------------------------------------------------------------------------

    def launch(self, name: str, *options: str, label: str = "") -> LaunchedProcess:
        started = launch(name, self.environment, self.tmp_path, *options, label=label)
        self.processes.append(started)
        if name in CONSUMED_QUEUES:
            self.consumed_queues.add(CONSUMED_QUEUES[name])
        return started

    def start_gateway(self, workers: int = 2) -> LaunchedProcess:
        gateway = self.launch("gateway", "--workers", str(workers))
        self.gateway_url = gateway.url
        gateway.wait_until_healthy()
        return gateway

    def start_worker(self, name: str = "worker", concurrency: int = 2) -> LaunchedProcess:
        return self.launch("worker", "--concurrency", str(concurrency), label=name)

    def start_relay(self, name: str = "relay") -> LaunchedProcess:
        return self.launch("relay", label=name)

    def start_beat(self) -> LaunchedProcess:
        return self.launch("beat")

    # -- servers ----------------------------------------------------------------------------

    def stop_postgres(self) -> None:
        self.postgres.stop()

    def start_postgres_again(self) -> None:
        self.postgres = start_postgres(self.postgres_dir, cleanup="stop")
        if not self.separate_notify_server:
            self.notify_postgres = self.postgres

    def restart_notify_postgres(self, down_seconds: float) -> None:
        assert self.separate_notify_server
        self.notify_postgres.stop()
        time.sleep(down_seconds)
        self.notify_postgres = start_postgres(self.notify_postgres_dir, cleanup="stop")

    def notify_query(self, sql: str, parameters: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        return _query(self.environment["NOTIFY_DATABASE_URL"], sql, parameters)

    def api_query(self, sql: str, parameters: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        return _query(self.environment["API_DATABASE_URL"], sql, parameters)

    def wait_until_settled(self) -> None:
        """Until every recorded event is published, every delivery final (none left for the
        sweep to send again) and every task finished: from then on nothing more reaches
        Telegram, so "exactly once" can be asserted without a sleep."""

        def settled() -> bool:
            unpublished = "SELECT count(*) FROM outbox_events WHERE published_at IS NULL"
            pending = "SELECT count(*) FROM deliveries WHERE status = 'pending'"
            return self.api_query(unpublished) == self.notify_query(pending) == [(0,)]

        eventually(
            settled, "every event published and every delivery final",
            timeout=STARTUP_WAIT_SECONDS, pause=0.2,
        )  # fmt: skip
        # A killed worker's task stays taken until the broker hands it out again, a visibility
        # timeout (30 s) and a restore check later: wait past that before calling it settled.
        # Only the queues a process of the stack consumes: beat's hourly api job, sent while the
        # test runs no api worker, stays queued and can send nothing.
        wait_until_broker_idle(
            self.redis.url, queues=self.consumed_queues, timeout=KILLED_TASK_RETURN_SECONDS
        )

    def sign_up(self) -> SignedInUser:
        """A new user, through the gateway over HTTP."""
        return register_through(LiveClient(self.gateway_url))

    def link_chat(self, user_id: uuid.UUID, chat_id: str) -> None:
        """What linking through the bot ends with (tested on its own): the user's chat id."""
        self.notify_query(
            "INSERT INTO notification_settings (user_id, telegram_chat_id) VALUES (%s, %s)"
            " ON CONFLICT (user_id) DO UPDATE SET telegram_chat_id = EXCLUDED.telegram_chat_id",
            (str(user_id), chat_id),
        )

    def link_group(self, ledger_id: str, chat_id: str, members: int) -> None:
        """What linking a household's group through the bot ends with (tested on its own): the
        ledger's group chat, once notify_app has the ledger's snapshot with all its members."""

        def known() -> bool:
            count = "SELECT count(*) FROM ledger_members WHERE ledger_id = %s"
            return self.notify_query(count, (ledger_id,)) == [(members,)]

        eventually(known, f"notify_app knowing ledger {ledger_id}'s {members} members")
        self.notify_query(
            "UPDATE ledgers SET group_chat_id = %s, linked_at = now() WHERE ledger_id = %s",
            (chat_id, ledger_id),
        )

    def logs(self) -> str:
        return "\n".join(process.log_tail() for process in self.processes)

    def close(self) -> None:
        for process in self.processes:
            process.stop()
        self.telegram.stop()
        self.redis.stop()
        self.postgres.stop()
        self.notify_postgres.stop()

    # -- HTTP -------------------------------------------------------------------------------

    def get(self, path: str) -> tuple[int, Any]:
        """An anonymous GET through the gateway (a health probe): its status and JSON body."""
        response = LiveClient(self.gateway_url, timeout_seconds=10).get(path)
        return response.status_code, response.get_json(silent=True)


def _query(url: str, sql: str, parameters: tuple[Any, ...]) -> list[tuple[Any, ...]]:
    import psycopg2

    connection = psycopg2.connect(url)
    try:
        with connection.cursor() as cursor:
            cursor.execute(sql, parameters)
            rows = list(cursor.fetchall()) if cursor.description else []
        connection.commit()
        return rows
    finally:
        connection.close()
