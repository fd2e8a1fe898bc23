"""`launch`: the one way a test starts a process of the system, with `make run`'s command line.

The command lines come from `devstack.run.role_commands`, so a test's gateway, worker,
relay, api worker and beat are the ones `make run` and compose run (each role as a process of its
own; `make run` embeds the relay and beat in its api worker). A test appends options; they
win, since Celery's and gunicorn's parsers take an option's last value. Each process runs in a
process group of its own with its output in a log file: a test can SIGKILL it whole, like a
container dying, and show its log when something goes wrong.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import subprocess
import sys
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from devstack.run import REPO_ROOT, role_commands, service_commands
from devstack.servers import free_port
from tests.eventually import eventually

# Seconds a process may take to start (gunicorn's workers, a worker's first ping) under load.
STARTUP_WAIT_SECONDS = 90.0
STOP_GRACE_SECONDS = 30.0
CELERY_WORKERS = ("worker", "api-worker")
# Only for tests, whose workers come and go by the dozen on shared brokers: a unique node name,
# and no waiting at startup for (or chatting with) the other workers there.
CELERY_WORKER_TEST_OPTIONS = ("--without-gossip", "--without-mingle", "--without-heartbeat")


@dataclass
class LaunchedProcess:
    name: str
    process: subprocess.Popen[bytes]
    log_path: Path
    environment: dict[str, str]
    # The gateway's base URL (http://127.0.0.1:port); empty for the other processes.
    url: str = ""

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def log_tail(self, lines: int = 60) -> str:
        return f"--- {self.name} ---\n" + "\n".join(self.log().splitlines()[-lines:])

    @property
    def metrics_port(self) -> int:
        return int(self.environment["WORKER_METRICS_PORT"])

    def exited(self) -> str | None:
        """Why waiting for this process is pointless: it exited (with its log), else None."""
        if self.process.poll() is None:
            return None
        return f"{self.name} exited with code {self.process.returncode}:\n{self.log_tail()}"

    def wait_until_logged(self, text: str) -> None:
        eventually(
            lambda: text in self.log(), f"{self.name} logging {text!r}",
            timeout=STARTUP_WAIT_SECONDS, give_up=self.exited,
        )  # fmt: skip

    def wait_until_healthy(self) -> None:
        """For the gateway: until GET /health answers 200."""

        def healthy() -> bool:
            with urllib.request.urlopen(f"{self.url}/health", timeout=5) as response:  # noqa: S310 - localhost
                return bool(response.status == 200)

        eventually(
            healthy, f"{self.name} answering {self.url}/health", timeout=STARTUP_WAIT_SECONDS,
            pause=0.2, ignoring=(OSError,), give_up=self.exited,
        )  # fmt: skip

    def wait_until_consuming(self, broker_url: str) -> None:
        """For a notifications worker: until it answers a ping task sent through `broker_url`."""
        from event_contract import NOTIFICATIONS_QUEUE, TASK_SIGNATURES
        from service_kit.message_signing import signing_celery

        client = signing_celery(
            "test-ping-client", TASK_SIGNATURES, broker=broker_url, backend=broker_url
        )
        token = secrets.token_hex(8)
        try:
            eventually(
                lambda: client.send_task(
                    "notifications.ping", args=[token], queue=NOTIFICATIONS_QUEUE
                ).get(timeout=5) == token,
                f"{self.name} answering a ping", timeout=STARTUP_WAIT_SECONDS,
                ignoring=(Exception,), give_up=self.exited,
            )  # fmt: skip
        finally:
            client.close()

    def kill(self) -> None:
        """SIGKILL the process and its children at once."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()

    def stop(self) -> None:
        """SIGTERM (gunicorn and Celery stop their children gracefully), then SIGKILL the group:
        a leader that ignored it, or a pool child a killed leader left behind."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=STOP_GRACE_SECONDS)
        self.kill()


def launch(
    name: str,
    environment: Mapping[str, str],
    log_dir: Path,
    *options: str,
    label: str = "",
    profile: str | None = None,
) -> LaunchedProcess:
    """Start `make run`'s process `name` (gateway, worker, relay, api-worker, beat) with
    `options` appended; its log, beat's schedule file and metrics go to `log_dir`.

    `label` names it in logs and failures when a test runs several (worker-1, worker-2).
    `profile`: the command line `make run PROFILE=profile` runs the process with (the small
    profile's solo pool, the api worker's embedded relay and beat) instead of the role's own.
    """
    label = label or name
    gateway_bind = f"127.0.0.1:{free_port()}"
    commands = role_commands(gateway_bind, log_dir)
    if profile is not None:
        commands |= {c.name: c for c in service_commands(gateway_bind, log_dir, profile)}
    command = commands[name]
    arguments = [*command.python_arguments, *options]
    environment = dict(environment)
    if name in CELERY_WORKERS:
        arguments += [
            *CELERY_WORKER_TEST_OPTIONS,
            "--hostname",
            f"{label}-{secrets.token_hex(3)}@%h",
        ]
    if name == "worker":
        metrics_dir = log_dir / f"metrics-{label}-{secrets.token_hex(3)}"
        metrics_dir.mkdir()
        environment.setdefault("WORKER_METRICS_PORT", str(free_port()))
        environment["PROMETHEUS_MULTIPROC_DIR"] = str(metrics_dir)
    log_path = log_dir / f"{label}-{secrets.token_hex(3)}.log"
    with log_path.open("ab") as log_file:
        process = subprocess.Popen(
            [sys.executable, *arguments], cwd=REPO_ROOT, env=environment,
            stdout=log_file, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    url = f"http://{gateway_bind}" if name == "gateway" else ""
    return LaunchedProcess(label, process, log_path, environment, url)
