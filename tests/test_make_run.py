"""`make run`'s entry point starts the whole system on embedded engines and answers over HTTP."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from devstack.servers import free_port
from tests.conftest import REPO_ROOT
from tests.eventually import eventually

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


def test_make_run_serves_both_health_answers_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    gateway_port = free_port()
    environment = {
        name: value
        for name, value in os.environ.items()
        # A fresh machine has none of these: the embedded engines must be used.
        if name not in {"API_DATABASE_URL", "NOTIFY_DATABASE_URL", "BROKER_URL", "APP_ENV"}
    }
    environment |= {
        "DEVSTACK_DATA_DIR": str(tmp_path / "data"),
        "GATEWAY_BIND": f"127.0.0.1:{gateway_port}",
        "EMBEDDED_REDIS_PORT": str(free_port()),
    }
    log = tmp_path / "make-run.log"
    with log.open("wb") as log_file:
        process = subprocess.Popen(
            [sys.executable, "-m", "devstack.run"],
            cwd=REPO_ROOT, env=environment, stdout=log_file, stderr=subprocess.STDOUT,
        )  # fmt: skip
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
