"""`make run`'s entry point starts the whole system on embedded engines and answers over HTTP."""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil
import psycopg2
import pytest

from devstack.run import PROFILES
from devstack.servers import free_port
from tests.conftest import REPO_ROOT
from tests.eventually import eventually
from tests.telegram_standin import TelegramStandIn

# It starts every process of the system itself (no fixture of the suite shows it).
pytestmark = pytest.mark.e2e

STARTUP_DEADLINE_SECONDS = 120


def get_json(url: str) -> tuple[int, object]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 - our own localhost
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def make_run_exited(process: subprocess.Popen[bytes], log: Path) -> str | None:
    if process.poll() is None:
        return None
    return f"make run exited early:\n{log.read_text()[-4000:]}"


def wait_until_healthy(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    eventually(
        lambda: get_json(url)[0] == 200,
        f"{url} answering 200",
        timeout=STARTUP_DEADLINE_SECONDS,
        pause=0.5,
        # Refused connections and read timeouts while gunicorn boots its workers.
        ignoring=(OSError, json.JSONDecodeError),
        give_up=lambda: make_run_exited(process, log),
    )


def wait_until_logged(text: str, process: subprocess.Popen[bytes], log: Path) -> None:
    eventually(
        lambda: text in log.read_text(errors="replace"),
        f"make run logging {text!r}",
        timeout=STARTUP_DEADLINE_SECONDS,
        pause=0.5,
        give_up=lambda: make_run_exited(process, log),
    )


def make_run_environment(tmp_path: Path, gateway_port: int) -> dict[str, str]:
    environment = {
        name: value
        for name, value in os.environ.items()
        # A fresh machine has none of these: the embedded engines must be used.
        if name not in {"API_DATABASE_URL", "NOTIFY_DATABASE_URL", "BROKER_URL", "APP_ENV"}
    }
    return environment | {
        "DEVSTACK_DATA_DIR": str(tmp_path / "data"),
        "GATEWAY_BIND": f"127.0.0.1:{gateway_port}",
        "EMBEDDED_REDIS_PORT": str(free_port()),
    }


def start_make_run(profile: str, environment: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """`make run PROFILE=profile`, appending its output to `log`."""
    with log.open("ab") as log_file:
        return subprocess.Popen(
            [sys.executable, "-m", "devstack.run", "--profile", profile],
            cwd=REPO_ROOT, env=environment, stdout=log_file, stderr=subprocess.STDOUT,
        )  # fmt: skip


@pytest.mark.parametrize("profile", PROFILES)
def test_make_run_serves_both_health_answers_and_stops_on_ctrl_c(
    tmp_path: Path, profile: str
) -> None:
    gateway_port = free_port()
    environment = make_run_environment(tmp_path, gateway_port)
    log = tmp_path / "make-run.log"
    process = start_make_run(profile, environment, log)
    try:
        base = f"http://127.0.0.1:{gateway_port}"
        wait_until_healthy(f"{base}/health", process, log)
        assert get_json(f"{base}/health") == (200, {"status": "ok"})
        assert get_json(f"{base}/api/notifications/health") == (
            200,
            {"status": "ok", "service": "notifications"},
        )
        # Celery beat runs, and the notifications worker runs the sweep it schedules.
        wait_until_logged("Task notifications.sweep_deliveries[", process, log)
        wait_until_logged("api_jobs", process, log)
    finally:
        process.send_signal(signal.SIGINT)
        exit_code = process.wait(timeout=60)
    assert exit_code == 0, log.read_text()[-4000:]
    output = log.read_text()
    assert "worker" in output
    assert "outbox relay started" in output
    assert "outbox relay stopped" in output
    # The api's job worker consumes its queue: the api's periodic jobs happen under make run.
    assert any(
        line.startswith("api-worker") and "ready." in line for line in output.splitlines()
    ), output[-4000:]
    assert "stopping embedded PostgreSQL" in output


# --------------------------------------------------------------------------- every profile's
# guarantees: each alert sent once, and one in flight when a process was killed sent after the
# restart (make run stops everything when a process dies; compose restarts the container).


def call(
    base: str, method: str, path: str, body: object | None = None, token: str | None = None
) -> tuple[int, Any]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(f"{base}{path}", data=data, method=method)  # noqa: S310
    if body is not None:
        request.add_header("Content-Type", "application/json")
    if token is not None:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - localhost
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


def notify_database_url(log: Path) -> str:
    """budget_notifications on the embedded server whose api URL make run printed."""
    for line in log.read_text(errors="replace").splitlines():
        _, found, url = line.partition("API_DATABASE_URL=")
        if found:
            return url.strip().replace("/budget_api?", "/budget_notifications?")
    raise AssertionError(f"make run printed no API_DATABASE_URL:\n{log.read_text()[-4000:]}")


def notify_rows(database_url: str, sql: str, parameters: tuple[Any, ...]) -> list[tuple[Any, ...]]:
    connection = psycopg2.connect(database_url)
    try:
        with connection, connection.cursor() as cursor:
            cursor.execute(sql, parameters)
            return list(cursor.fetchall()) if cursor.description else []
    finally:
        connection.close()


def wait_for(what: str, ready: Any, log: Path) -> None:
    eventually(ready, f"{what} (log: {log})", timeout=STARTUP_DEADLINE_SECONDS, pause=0.5)


def cross_a_limit(base: str, token: str, budget_id: str, name: str) -> None:
    """A category with a 10.00 limit and a 20.00 expense in it: one limit-exceeded alert."""
    status, category = call(base, "POST", "/api/categories", {"name": name}, token)
    assert status == 201, category
    status, answer = call(
        base, "PUT", f"/api/budgets/{budget_id}/limits/{category['id']}",
        {"limit_amount": "10.00"}, token,
    )  # fmt: skip
    assert status == 200, answer
    status, answer = call(
        base, "POST", "/api/transactions",
        {"category_id": category["id"], "type": "EXPENSE", "amount": "20.00",
         "date": "2026-01-15"}, token,
    )  # fmt: skip
    assert status == 201, answer


@pytest.fixture
def telegram() -> Iterator[TelegramStandIn]:
    with TelegramStandIn() as stand_in:
        yield stand_in


@pytest.mark.parametrize("profile", PROFILES)
def test_each_alert_is_sent_once_and_one_cut_off_by_a_kill_is_sent_after_the_restart(
    tmp_path: Path, profile: str, telegram: TelegramStandIn
) -> None:
    gateway_port = free_port()
    base = f"http://127.0.0.1:{gateway_port}"
    environment = make_run_environment(tmp_path, gateway_port) | {
        "TELEGRAM_API_URL": telegram.url,
        "TELEGRAM_BOT_TOKEN": "123456:make-run",
        # Seconds, not the production half minute: the restart finds the lease run out.
        "DELIVERY_LEASE_SECONDS": "3",
        "DELIVERY_SWEEP_GRACE_SECONDS": "2",
        "DELIVERY_SWEEP_INTERVAL_SECONDS": "1",
    }
    log = tmp_path / "make-run.log"
    process = start_make_run(profile, environment, log)
    try:
        wait_until_healthy(f"{base}/health", process, log)
        status, account = call(
            base, "POST", "/api/auth/register",
            {"email": f"{secrets.token_hex(6)}@example.com", "password": "long enough secret"},
        )  # fmt: skip
        assert status == 201, account
        token, user_id = account["access_token"], account["user"]["id"]
        notify_url = notify_database_url(log)
        notify_rows(
            notify_url,
            "INSERT INTO notification_settings (user_id, telegram_chat_id) VALUES (%s, %s)",
            (user_id, "5550001"),
        )
        status, budget = call(base, "POST", "/api/budgets", {"year": 2026, "month": 1}, token)
        assert status == 201, budget

        cross_a_limit(base, token, budget["id"], "Groceries")
        telegram.wait_for_messages(1, timeout=STARTUP_DEADLINE_SECONDS)
        # Telegram keeps the next send in flight while the worker is killed, with its pool
        # and, in the small profile, the beat embedded in it.
        telegram.default_delay_seconds = 10.0
        cross_a_limit(base, token, budget["id"], "Travel")
        telegram.wait_for_messages(2, timeout=STARTUP_DEADLINE_SECONDS)
        # devstack forks each service from itself and names it (`ps -o comm`).
        [worker] = [
            child for child in psutil.Process(process.pid).children() if child.name() == "worker"
        ]  # fmt: skip
        os.killpg(worker.pid, signal.SIGKILL)
        assert process.wait(timeout=60) == 1  # make run stops everything when a process dies
        telegram.default_delay_seconds = 0.0

        process = start_make_run(profile, environment, log)
        wait_until_healthy(f"{base}/health", process, log)

        def both_sent() -> bool:
            statuses = notify_rows(
                notify_url, "SELECT status FROM deliveries WHERE user_id = %s", (user_id,)
            )
            return sorted(row[0] for row in statuses) == ["sent", "sent"]

        wait_for("both deliveries sent", both_sent, log)
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=60)
    alerts = [str(message["text"]).split(" for ")[0] for message in telegram.delivered_messages]
    # Each alert once; the one Telegram had accepted when the worker was killed may be there
    # twice: the one window in which a message can repeat (docs/architecture.md, "Events and
    # delivery").
    assert alerts.count("Budget alert: Groceries") == 1, alerts
    assert 1 <= alerts.count("Budget alert: Travel") <= 2, alerts
