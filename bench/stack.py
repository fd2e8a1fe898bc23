"""The system under test and its bare baselines, started the way `make run` starts the system.

The backing servers are devstack's (embedded PostgreSQL and Redis with their data under
instance/bench, or the servers named by API_DATABASE_URL, NOTIFY_DATABASE_URL and BROKER_URL),
the migrations are devstack's, and the long-running processes are `service_commands()` of
`devstack/run.py` (the gateway with BENCH_WORKERS gunicorn workers, the Celery worker, and
whatever else `make run` runs), so the benchmark follows `make run` as it changes. Next to them
run the baselines: the bare Flask + psycopg2 app under the same gunicorn settings, and the
Telegram stand-in that plays Telegram for the notification pipeline.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import http.client
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from bench.memory import MemorySampler
from bench.settings import REPO_ROOT, BenchSettings
from devstack.run import (
    PrefixedOutput,
    RunningService,
    ServiceCommand,
    StopRequest,
    apply_migrations,
    child_environment,
    service_commands,
    start_embedded_services,
    stop_services,
    uses_external_services,
)
from devstack.servers import free_port

LOOPBACK: Final = "127.0.0.1"
STARTUP_TIMEOUT_SECONDS: Final = 60.0
POLL_SECONDS: Final = 0.2
TELEGRAM_BOT_TOKEN: Final = "123456:bench-token"  # noqa: S105 - the stand-in takes any
GATEWAY_PROCESS: Final = "gateway"
BARE_APP_PROCESS: Final = "bare Flask app"
TELEGRAM_PROCESS: Final = "telegram stand-in"
LOG_TAIL_LINES: Final = 30

PR_SET_PDEATHSIG: Final = 1  # from <linux/prctl.h>
# Loaded before any fork: a child must not dlopen between fork and exec.
_LIBC: Final = ctypes.CDLL(None, use_errno=True) if sys.platform == "linux" else None


class BenchSetupError(RuntimeError):
    """The system could not be started; the message says which part and why."""


@dataclass(frozen=True)
class Endpoint:
    host: str
    port: int

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"


@dataclass
class ManagedProcess:
    name: str
    process: subprocess.Popen[bytes]
    log_path: Path

    def log_tail(self, lines: int = LOG_TAIL_LINES) -> str:
        text = self.log_path.read_text(encoding="utf-8", errors="replace")
        return "\n".join(text.splitlines()[-lines:])


@dataclass
class BenchSystem:
    environment: dict[str, str]
    backing_servers: str
    gateway: Endpoint
    bare_app: Endpoint
    telegram: Endpoint
    telegram_record_path: Path
    processes: dict[str, ManagedProcess] = field(default_factory=dict)

    @property
    def api_database_url(self) -> str:
        return self.environment["API_DATABASE_URL"]

    @property
    def notify_database_url(self) -> str:
        return self.environment["NOTIFY_DATABASE_URL"]

    @property
    def broker_url(self) -> str:
        return self.environment["BROKER_URL"]

    @property
    def private_key_path(self) -> Path:
        return Path(self.environment["JWT_PRIVATE_KEY_FILE"])

    @property
    def public_key_path(self) -> Path:
        return Path(self.environment["JWT_PUBLIC_KEY_FILE"])

    def check_running(self) -> None:
        """Raise, with its log tail, if any process of the system has exited."""
        for managed in self.processes.values():
            if managed.process.poll() is not None:
                raise BenchSetupError(
                    f"{managed.name} exited with code {managed.process.returncode};"
                    f" last lines of {managed.log_path}:\n{managed.log_tail()}"
                )


def _exit_with_parent() -> None:
    """preexec_fn: the kernel SIGTERMs the child if the harness dies without cleaning up."""
    if _LIBC is not None:
        _LIBC.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def spawn_python(
    name: str, arguments: Sequence[str], environment: Mapping[str, str], log_dir: Path
) -> ManagedProcess:
    log_path = log_dir / f"{name.replace(' ', '-')}.log"
    with log_path.open("wb") as log_file:
        # Output goes straight to a file: copying it through a pipe would cost the harness CPU
        # that the servers under measurement compete for.
        process = subprocess.Popen(
            [sys.executable, *arguments],
            cwd=REPO_ROOT,
            env=environment,
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=_exit_with_parent,
        )
    return ManagedProcess(name, process, log_path)


def gunicorn_arguments(bind: str, workers: int, application: str) -> tuple[str, ...]:
    return ("-m", "gunicorn", "-c", "gunicorn.conf.py", "--bind", bind,
            "--workers", str(workers), application)  # fmt: skip


def system_commands(gateway_bind: str, workers: int) -> tuple[ServiceCommand, ...]:
    """`make run`'s processes, the gateway with `workers` gunicorn workers."""
    commands = []
    for command in service_commands(gateway_bind):
        arguments = command.python_arguments
        if command.name == GATEWAY_PROCESS:
            # gunicorn's command line takes the last value of a repeated option.
            arguments = (*arguments, "--workers", str(workers))
        commands.append(ServiceCommand(command.name, arguments))
    return tuple(commands)


def _answers_ok(endpoint: Endpoint, path: str) -> bool:
    connection = http.client.HTTPConnection(endpoint.host, endpoint.port, timeout=2)
    try:
        connection.request("GET", path)
        return connection.getresponse().status == 200
    except OSError:
        return False
    finally:
        connection.close()


def wait_until(
    description: str, ready: Callable[[], bool], alive: Callable[[], None], timeout: float
) -> None:
    deadline = time.monotonic() + timeout
    while not ready():
        alive()
        if time.monotonic() >= deadline:
            raise BenchSetupError(f"{description} was not ready within {timeout:.0f}s")
        time.sleep(POLL_SECONDS)


def _pid_from_file(path: Path) -> int | None:
    try:
        return int(path.read_text().split()[0])
    except (FileNotFoundError, IndexError, ValueError):
        return None


def start_system(
    settings: BenchSettings,
    stop_on_exit: contextlib.ExitStack,
    sampler: MemorySampler,
    output: PrefixedOutput,
) -> BenchSystem:
    instance_dir = settings.instance_dir
    log_dir = instance_dir / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    environment = child_environment(os.environ)

    if uses_external_services(environment):
        backing_servers = "external (API_DATABASE_URL, NOTIFY_DATABASE_URL, BROKER_URL)"
    else:
        environment["DEVSTACK_DATA_DIR"] = str(instance_dir)
        environment.setdefault("EMBEDDED_REDIS_PORT", str(free_port()))
        try:
            for line in start_embedded_services(environment, stop_on_exit, output):
                output.say(line)
        except Exception as error:
            raise BenchSetupError(f"could not start the embedded servers: {error}") from error
        backing_servers = "embedded PostgreSQL 16 and Redis (devstack, as `make run`)"
        for process_type, pid_file in (
            ("postgres", instance_dir / "postgres" / "postmaster.pid"),
            ("redis", instance_dir / "redis" / "redis.pid"),
        ):
            pid = _pid_from_file(pid_file)
            if pid is not None:
                sampler.track(process_type, pid)

    if not apply_migrations(environment, output, StopRequest()):
        raise BenchSetupError("applying the migrations failed (see the migrate lines above)")

    from api_app.signing_keys import PRIVATE_KEY_FILENAME, PUBLIC_KEY_FILENAME, development_key_pair

    # One key pair for every process and for the tokens the harness mints.
    key_dir = instance_dir / "keys"
    development_key_pair(key_dir)
    environment["JWT_PRIVATE_KEY_FILE"] = str(key_dir / PRIVATE_KEY_FILENAME)
    environment["JWT_PUBLIC_KEY_FILE"] = str(key_dir / PUBLIC_KEY_FILENAME)

    telegram = Endpoint(LOOPBACK, free_port())
    telegram_record_path = instance_dir / "telegram-calls.jsonl"
    telegram_record_path.unlink(missing_ok=True)
    environment["TELEGRAM_API_URL"] = telegram.url
    environment["TELEGRAM_BOT_TOKEN"] = TELEGRAM_BOT_TOKEN

    gateway = Endpoint(LOOPBACK, free_port())
    bare_app = Endpoint(LOOPBACK, free_port())
    system = BenchSystem(
        environment=environment,
        backing_servers=backing_servers,
        gateway=gateway,
        bare_app=bare_app,
        telegram=telegram,
        telegram_record_path=telegram_record_path,
    )

    launches: list[tuple[str, tuple[str, ...]]] = [
        (TELEGRAM_PROCESS, ("tests/telegram_standin.py", "--host", LOOPBACK,
                            "--port", str(telegram.port), "--record", str(telegram_record_path))),
        *((command.name, command.python_arguments) for command in
          system_commands(f"{LOOPBACK}:{gateway.port}", settings.workers)),
        (BARE_APP_PROCESS, gunicorn_arguments(f"{LOOPBACK}:{bare_app.port}", settings.workers,
                                              "bench.bare_app:app")),
    ]  # fmt: skip
    # Every child is forked before the sampler's thread starts, which keeps preexec_fn safe.
    for name, arguments in launches:
        managed = spawn_python(name, arguments, environment, log_dir)
        system.processes[name] = managed
        sampler.track(name, managed.process.pid)
    stop_on_exit.callback(_stop_processes, list(system.processes.values()), output)
    output.say(f"started {', '.join(system.processes)}; their output is in {_relative(log_dir)}/")

    for name, endpoint, path in (
        (TELEGRAM_PROCESS, telegram, f"/bot{TELEGRAM_BOT_TOKEN}/getMe"),
        (GATEWAY_PROCESS, gateway, "/health"),
        (BARE_APP_PROCESS, bare_app, "/health"),
    ):
        wait_until(
            f"{name} on {endpoint.url}",
            functools.partial(_answers_ok, endpoint, path),
            system.check_running,
            STARTUP_TIMEOUT_SECONDS,
        )
    return system


def _relative(path: Path) -> str:
    try:
        return str(path.relative_to(REPO_ROOT))
    except ValueError:
        return str(path)


def _stop_processes(processes: Sequence[ManagedProcess], output: PrefixedOutput) -> None:
    output.say("stopping the system")
    # devstack's own shutdown: SIGTERM the leaders, a grace period, then SIGKILL what is left.
    stop_services(
        [
            RunningService(ServiceCommand(managed.name, ()), managed.process)
            for managed in processes
        ],
        output,
    )
