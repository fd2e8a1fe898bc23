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
import functools
import http.client
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from bench.memory import MemorySampler
from bench.settings import REPO_ROOT, BenchSettings
from devstack.broker_access import development_signing_keys
from devstack.run import (
    INSTANCE_DIR,
    ForkedProcess,
    PrefixedOutput,
    RunningService,
    ServiceCommand,
    StopRequest,
    apply_migrations,
    child_environment,
    preload_shared_modules,
    service_commands,
    start_embedded_services,
    start_services,
    stop_services,
    uses_external_services,
)
from devstack.servers import free_port
from event_contract import NOTIFY_JOBS_SIGNER, signing_key_setting

LOOPBACK: Final = "127.0.0.1"
STARTUP_TIMEOUT_SECONDS: Final = 60.0
POLL_SECONDS: Final = 0.2
TELEGRAM_BOT_TOKEN: Final = "123456:bench-token"  # noqa: S105 - the stand-in takes any
GATEWAY_PROCESS: Final = "gateway"
BARE_APP_PROCESS: Final = "bare Flask app"
TELEGRAM_PROCESS: Final = "telegram stand-in"
LOG_TAIL_LINES: Final = 30
# The stand-in answers the first message to such a chat this late: the recovery scenario's send
# is in flight when it kills the worker (bench/scenarios/recovery.py).
HELD_CHAT_PREFIX: Final = "held-"
HELD_CALL_SECONDS: Final = 120
# Set for every process of the run, because the scenarios measure what the code costs, not
# the limits that policy puts on it: the login limits are raised (the limiter still runs), and
# so is the worker's pace towards Telegram, which is kept under Telegram's ~30 messages per second
# per bot in production and would make the notification drain a measurement of that setting.
BENCH_ENVIRONMENT: Final = {
    "AUTH_RATE_LIMIT_PER_ADDRESS": "1000000 per minute",
    "AUTH_RATE_LIMIT_PER_EMAIL": "1000000 per minute",
    "AUTH_RATE_LIMIT_PER_ACCOUNT": "1000000 per minute",
    "WRITE_RATE_LIMIT_PER_USER": "1000000 per minute",
    # The scenarios seed and read far more per user than a person does in a day.
    "DAILY_ROW_QUOTA_PER_USER": "100000000",
    "REPORT_MONTHS_RATE_LIMIT_PER_USER": "1000000000 per day",
    "EXPORT_RATE_LIMIT_PER_USER": "1000000 per minute",
    "TELEGRAM_RATE_PER_SECOND": "100000",
}


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
class BenchSystem:
    environment: dict[str, str]
    backing_servers: str
    gateway: Endpoint
    bare_app: Endpoint
    telegram: Endpoint
    telegram_record_path: Path
    log_path: Path
    processes: dict[str, ForkedProcess] = field(default_factory=dict)

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
        """Raise, with the log's tail, if any process of the system has exited."""
        for name, process in self.processes.items():
            if process.poll() is not None:
                text = self.log_path.read_text(encoding="utf-8", errors="replace")
                tail = "\n".join(text.splitlines()[-LOG_TAIL_LINES:])
                raise BenchSetupError(
                    f"{name} exited with code {process.returncode};"
                    f" last lines of {self.log_path}:\n{tail}"
                )


def gunicorn_arguments(bind: str, workers: int, application: str) -> tuple[str, ...]:
    return ("-m", "gunicorn", "-c", "gunicorn.conf.py", "--bind", bind,
            "--workers", str(workers), application)  # fmt: skip


def system_commands(gateway_bind: str, workers: int, state_dir: Path) -> tuple[ServiceCommand, ...]:
    """`make run`'s processes, the gateway with `workers` gunicorn workers."""
    commands = []
    for command in service_commands(gateway_bind, state_dir):
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
    environment.update(BENCH_ENVIRONMENT)

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

    preload_shared_modules()
    # The harness sends the ping round trips: signed with the key beat signs the notifications
    # worker's jobs with (event_contract.TASK_SIGNERS), the one the processes get (devstack).
    key_files = development_signing_keys(
        Path(environment.get("DEVSTACK_DATA_DIR") or INSTANCE_DIR) / "keys"
    )
    ping_key = signing_key_setting(NOTIFY_JOBS_SIGNER)
    if not (os.environ.get(ping_key) or os.environ.get(f"{ping_key}_FILE")):
        os.environ[f"{ping_key}_FILE"] = str(key_files[NOTIFY_JOBS_SIGNER])

    if not apply_migrations(environment, output, StopRequest()):
        raise BenchSetupError("applying the migrations failed (see the migrate lines above)")

    from service_kit.signing_keys import (
        PRIVATE_KEY_FILENAME,
        PUBLIC_KEY_FILENAME,
        development_key_pair,
    )

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
    log_path = log_dir / "system.log"
    commands = (
        *system_commands(f"{LOOPBACK}:{gateway.port}", settings.workers, instance_dir),
        ServiceCommand(BARE_APP_PROCESS, gunicorn_arguments(
            f"{LOOPBACK}:{bare_app.port}", settings.workers, "bench.bare_app:app")),
        ServiceCommand(TELEGRAM_PROCESS, ("tests/telegram_standin.py", "--host", LOOPBACK,
                       "--port", str(telegram.port), "--record", str(telegram_record_path),
                       "--hold-first", f"{HELD_CHAT_PREFIX}={HELD_CALL_SECONDS}",
                       "--keep-alive")),
    )  # fmt: skip
    # devstack's own launcher, as `make run` uses it (per-service environment, output copied
    # line by line with a prefix), into a log file instead of the terminal. The baselines go
    # through it too, so they pay for their logging exactly what the system pays.
    log_file = stop_on_exit.enter_context(log_path.open("w", encoding="utf-8"))
    log_output = PrefixedOutput(log_file, [command.name for command in commands])
    running = start_services(commands, environment, log_output)
    stop_on_exit.callback(_stop_services, running, log_output, output)
    system = BenchSystem(
        environment=environment,
        backing_servers=backing_servers,
        gateway=gateway,
        bare_app=bare_app,
        telegram=telegram,
        telegram_record_path=telegram_record_path,
        log_path=log_path,
        processes={service.command.name: service.process for service in running},
    )
    for name, process in system.processes.items():
        sampler.track(name, process.pid)
    output.say(f"started {', '.join(system.processes)}; their output is in {_relative(log_path)}")

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


def _stop_services(
    running: Sequence[RunningService], log_output: PrefixedOutput, output: PrefixedOutput
) -> None:
    output.say("stopping the system")
    # devstack's own shutdown: SIGTERM the leaders, a grace period, then SIGKILL what is left.
    stop_services(running, log_output)
