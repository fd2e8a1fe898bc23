"""The whole system on its own PostgreSQL and Redis, for tests that stop, restart or kill them.

The machine's servers are shared with other test runs; these private ones may be restarted at
will. The processes are the deployed ones (gunicorn gateway, Celery workers, relays, beat), each
in its own process group so a test can SIGKILL one whole, like a container dying.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from devstack.servers import (
    EmbeddedPostgres,
    EmbeddedRedis,
    ensure_database,
    free_port,
    start_postgres,
    start_redis,
)
from tests.conftest import REPO_ROOT
from tests.telegram_standin import TelegramStandIn

API_DATABASE = "budget_api"
NOTIFY_DATABASE = "budget_notifications"
STARTUP_WAIT_SECONDS = 90.0


@dataclass
class StackProcess:
    name: str
    process: subprocess.Popen[bytes]
    log_path: Path

    def log_tail(self, lines: int = 60) -> str:
        text = self.log_path.read_text(errors="replace")
        return f"--- {self.name} ---\n" + "\n".join(text.splitlines()[-lines:])

    def kill(self) -> None:
        """SIGKILL the process and its children at once."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=30)
        self.kill()


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
    processes: list[StackProcess] = field(default_factory=list)
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
        }
        for app in ("api_app", "notify_app"):
            subprocess.run(
                [sys.executable, "-m", "flask", "--app", app, "db", "upgrade"],
                cwd=REPO_ROOT, env=self.environment, check=True, capture_output=True,
            )  # fmt: skip

    # -- processes --------------------------------------------------------------------------

    def spawn(self, name: str, *arguments: str) -> StackProcess:
        log_path = self.tmp_path / f"{name}.log"
        with log_path.open("ab") as log_file:
            process = subprocess.Popen(
                [sys.executable, *arguments], cwd=REPO_ROOT, env=self.environment,
                stdout=log_file, stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip
        started = StackProcess(name, process, log_path)
        self.processes.append(started)
        return started

    def start_gateway(self, workers: int = 2) -> StackProcess:
        port = free_port()
        gateway = self.spawn(
            "gateway", "-m", "gunicorn", "-c", "gunicorn.conf.py",
            "--bind", f"127.0.0.1:{port}", "--workers", str(workers), "wsgi:gateway",
        )  # fmt: skip
        self.gateway_url = f"http://127.0.0.1:{port}"
        self.wait_for(lambda: self.get("/health")[0] == 200, "the gateway's health", gateway)
        return gateway

    def start_worker(self, name: str = "worker", concurrency: int = 2) -> StackProcess:
        return self.spawn(
            name, "-m", "celery", "-A", "worker", "worker", "-Q", "notifications",
            "--concurrency", str(concurrency), "--loglevel", "INFO", "--without-gossip",
            "--without-mingle", "--without-heartbeat",
            "--hostname", f"{name}-{secrets.token_hex(3)}@%h",
        )  # fmt: skip

    def start_relay(self, name: str = "relay") -> StackProcess:
        return self.spawn(name, "-m", "flask", "--app", "api_app", "outbox", "relay")

    def start_beat(self) -> StackProcess:
        return self.spawn(
            "beat", "-m", "celery", "-A", "scheduler.beat", "beat",
            "--schedule", str(self.tmp_path / "beat-schedule"), "--loglevel", "INFO",
        )  # fmt: skip

    def wait_for(self, ready: Any, what: str, process: StackProcess | None = None) -> None:
        deadline = time.monotonic() + STARTUP_WAIT_SECONDS
        while True:
            with contextlib.suppress(OSError):
                if ready():
                    return
            if process is not None and process.process.poll() is not None:
                raise AssertionError(f"{process.name} exited early:\n{process.log_tail()}")
            if time.monotonic() >= deadline:
                raise AssertionError(f"{what} did not happen in {STARTUP_WAIT_SECONDS}s")
            time.sleep(0.2)

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
        import psycopg2

        connection = psycopg2.connect(self.environment["NOTIFY_DATABASE_URL"])
        try:
            with connection.cursor() as cursor:
                cursor.execute(sql, parameters)
                rows = list(cursor.fetchall()) if cursor.description else []
            connection.commit()
            return rows
        finally:
            connection.close()

    def link_chat(self, user_id: str, chat_id: str) -> None:
        """What linking through the bot ends with (tested on its own): the user's chat id."""
        self.notify_query(
            "INSERT INTO notification_settings (user_id, telegram_chat_id) VALUES (%s, %s)"
            " ON CONFLICT (user_id) DO UPDATE SET telegram_chat_id = EXCLUDED.telegram_chat_id",
            (user_id, chat_id),
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

    def request(
        self,
        method: str,
        path: str,
        body: object | None = None,
        token: str | None = None,
        timeout: float = 30,
    ) -> tuple[int, dict[str, str], Any]:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(f"{self.gateway_url}{path}", data=data, method=method)  # noqa: S310 - localhost
        if body is not None:
            request.add_header("Content-Type", "application/json")
        if token is not None:
            request.add_header("Authorization", f"Bearer {token}")
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
                raw = response.read()
                status, headers = response.status, dict(response.headers)
        except urllib.error.HTTPError as error:
            raw = error.read()
            status, headers = error.code, dict(error.headers)
        return status, headers, json.loads(raw) if raw else None

    def get(self, path: str, token: str | None = None) -> tuple[int, Any]:
        status, _, body = self.request("GET", path, token=token, timeout=10)
        return status, body


@dataclass
class Client:
    """A user of the private stack, through the gateway."""

    stack: PrivateStack
    token: str
    categories: dict[str, str]
    user_id: str = ""

    @classmethod
    def sign_up(cls, stack: PrivateStack) -> Client:
        status, _, body = stack.request(
            "POST",
            "/api/auth/register",
            {"email": f"{secrets.token_hex(6)}@example.com", "password": "long enough secret"},
        )
        assert status == 201, body
        token = body["access_token"]
        status, _, listed = stack.request("GET", "/api/categories?page_size=100", token=token)
        assert status == 200, listed
        return cls(stack, token, {c["name"]: c["id"] for c in listed}, str(body["user"]["id"]))

    def call(self, method: str, path: str, body: object | None = None) -> tuple[int, Any]:
        status, _, answer = self.stack.request(method, path, body, token=self.token)
        return status, answer
