"""`make run`'s entry point starts the whole system on embedded engines and answers over HTTP."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from devstack.servers import free_port
from tests.conftest import REPO_ROOT

STARTUP_DEADLINE_SECONDS = 120


def get_json(url: str) -> tuple[int, object]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 - our own localhost
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def wait_until_healthy(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + STARTUP_DEADLINE_SECONDS
    while time.monotonic() < deadline:
        assert process.poll() is None, f"make run exited early:\n{log.read_text()[-4000:]}"
        try:
            if get_json(url)[0] == 200:
                return
        # OSError covers refused connections and read timeouts while gunicorn boots its workers.
        except (urllib.error.URLError, OSError, json.JSONDecodeError):
            pass
        time.sleep(0.5)
    raise AssertionError(f"{url} never answered 200:\n{log.read_text()[-4000:]}")


def wait_until_logged(text: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + STARTUP_DEADLINE_SECONDS
    while text not in log.read_text(errors="replace"):
        assert process.poll() is None, f"make run exited early:\n{log.read_text()[-4000:]}"
        assert time.monotonic() < deadline, f"never logged {text!r}:\n{log.read_text()[-4000:]}"
        time.sleep(0.5)


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
