"""`make run`: start the whole system on one machine.

    python -m devstack.run [--prepare-only] [--profile default|small]

Uses the PostgreSQL and Redis named by API_DATABASE_URL, NOTIFY_DATABASE_URL
and BROKER_URL when all three are set; otherwise starts embedded engines with
their data under instance/. Then applies both services' migrations and
supervises the gateway, the Celery worker and the api's job worker with the
outbox relay and Celery beat (every periodic job, see scheduler/) as threads
(`--profile small`: fewer gunicorn and pool processes), streaming
their output as one prefixed stream. The migrations and the services are
forked from this process after it imported what they all import, so they
share those pages (`ps -o comm` names each). Ctrl-C (or SIGTERM/SIGHUP) stops
everything; if any process dies on its own, everything stops with exit code 1.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import gc
import importlib
import io
import logging
import os
import runpy
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import IO, Final, NoReturn

from sqlalchemy.orm import configure_mappers

from devstack.broker_access import (
    BROKER_SECRET_VARIABLE,
    admin_url,
    create_users,
    development_signing_keys,
    process_environment,
)
from devstack.servers import ensure_database, start_postgres, start_redis

REPO_ROOT: Final = Path(__file__).resolve().parent.parent
INSTANCE_DIR: Final = REPO_ROOT / "instance"

API_DATABASE: Final = "budget_api"
NOTIFY_DATABASE: Final = "budget_notifications"
EXTERNAL_SERVICE_URL_VARIABLES: Final = ("API_DATABASE_URL", "NOTIFY_DATABASE_URL", "BROKER_URL")
DEFAULT_EMBEDDED_REDIS_PORT: Final = 6390  # not 6379, so a system Redis is never touched
DEFAULT_GATEWAY_BIND: Final = "127.0.0.1:8080"
CHILD_ENVIRONMENT_DEFAULTS: Final = {"APP_ENV": "development", "LOG_FORMAT": "text"}

# Flask apps whose migrations are applied, in order, before anything starts.
MIGRATED_APPS: Final = ("api_app", "notify_app")

CHILD_STOP_GRACE_SECONDS: Final = 10.0
SUPERVISION_POLL_SECONDS: Final = 0.2
FORKED_WAIT_POLL_SECONDS: Final = 0.05
OUTPUT_DRAIN_SECONDS: Final = 2.0

SUPERVISOR_LABEL: Final = "devstack"
MIGRATION_LABEL: Final = "migrate"

PR_SET_PDEATHSIG: Final = 1  # from <linux/prctl.h>
# prctl: a forked child's death signal and its name.
_LIBC: Final = ctypes.CDLL(None, use_errno=True) if sys.platform == "linux" else None


@dataclass(frozen=True)
class ServiceCommand:
    """A long-running process of the system: its label and `python` arguments."""

    name: str
    python_arguments: tuple[str, ...]


# `make run PROFILE=...`: how many processes run the system (docs/operations.md, "Processes and
# profiles").
# Neither the relay nor beat needs a process of its own: both are threads of the api worker (a solo
# pool). "small" is for a machine with little memory: one gunicorn worker, and the notifications
# worker's solo pool instead of two pool processes.
DEFAULT_PROFILE: Final = "default"
SMALL_PROFILE: Final = "small"
PROFILES: Final = (DEFAULT_PROFILE, SMALL_PROFILE)


def role_commands(gateway_bind: str, state_dir: Path) -> dict[str, ServiceCommand]:
    """Every role of the system as a process of its own, as compose runs them and as tests
    launch them one at a time (tests/processes.py). `state_dir` keeps beat's record of when each
    job last ran."""
    beat_schedule = str(state_dir / "celerybeat-schedule")
    # fmt: off
    commands = (
        ServiceCommand("gateway", ("-m", "gunicorn", "-c", "gunicorn.conf.py", "--bind", gateway_bind, "--workers", "2", "wsgi:gateway")),  # noqa: E501
        ServiceCommand("worker", ("-m", "celery", "-A", "worker", "worker", "-Q", "notifications", "--loglevel", "INFO", "--concurrency", "2")),  # noqa: E501
        ServiceCommand("relay", ("-m", "flask", "--app", "api_app", "outbox", "relay")),
        ServiceCommand("api-worker", ("-m", "celery", "-A", "api_worker", "worker", "-Q", "api_jobs", "--loglevel", "INFO", "--pool", "solo")),  # noqa: E501
        ServiceCommand("beat", ("-m", "celery", "-A", "scheduler.beat", "beat", "--schedule", beat_schedule, "--loglevel", "INFO")),  # noqa: E501
    )
    # fmt: on
    return {command.name: command for command in commands}


def service_commands(
    gateway_bind: str, state_dir: Path, profile: str = DEFAULT_PROFILE
) -> tuple[ServiceCommand, ...]:
    """The processes `make run` supervises in `profile`; adding a process is adding a line.

    The roles of role_commands(), with the relay and beat as threads of the api worker (a solo
    pool, which forks nothing); in the small profile one gunicorn worker and the notifications
    worker's solo pool.
    """
    roles = role_commands(gateway_bind, state_dir)
    beat_schedule = str(state_dir / "celerybeat-schedule")
    gateway, worker, api_worker = roles["gateway"], roles["worker"], roles["api-worker"]
    if profile == SMALL_PROFILE:
        gateway = _replaced(gateway, ("--workers", "2"), ("--workers", "1"))
        worker = _replaced(worker, ("--concurrency", "2"), ("--pool", "solo"))
    embedded = ("--relay", "--beat-thread", "--schedule", beat_schedule)
    api_worker = ServiceCommand(api_worker.name, (*api_worker.python_arguments, *embedded))
    return (gateway, worker, api_worker)


def _replaced(
    command: ServiceCommand, old: tuple[str, ...], new: tuple[str, ...]
) -> ServiceCommand:
    arguments = command.python_arguments
    at = next(i for i in range(len(arguments)) if arguments[i : i + len(old)] == old)
    return ServiceCommand(command.name, (*arguments[:at], *new, *arguments[at + len(old) :]))


def migration_arguments(app_module: str) -> tuple[str, ...]:
    return ("-m", "flask", "--app", app_module, "db", "upgrade")


# --------------------------------------------------------------------------- #
# Output
# --------------------------------------------------------------------------- #

ANSI_COLOURS: Final = ("36", "33", "35", "32", "34", "91", "96")  # cyan, yellow, magenta, ...
ANSI_BOLD: Final = "1"


class PrefixedOutput:
    """Interleaves the lines of several processes into one stream.

    Each line gets a fixed-width, coloured `name |` prefix; whole lines are
    written under a lock so processes never split each other's lines.
    """

    def __init__(self, stream: IO[str], names: Sequence[str]) -> None:
        self._stream = stream
        self._lock = threading.Lock()
        width = max(len(name) for name in names)
        use_colour = stream.isatty() and "NO_COLOR" not in os.environ
        self._labels: dict[str, str] = {}
        for index, name in enumerate(names):
            label = f"{name:<{width}} |"
            if use_colour:
                colour = ANSI_BOLD if name == SUPERVISOR_LABEL else ANSI_COLOURS[index % 7]
                label = f"\033[{colour}m{label}\033[0m"
            self._labels[name] = label

    def write_line(self, name: str, text: str) -> None:
        """Write `text`, prefixing each of its lines (error messages carry log tails)."""
        label = self._labels[name]
        prefixed = "".join(f"{label} {line}\n" for line in text.splitlines() or [""])
        with self._lock:
            self._stream.write(prefixed)
            self._stream.flush()

    def say(self, text: str) -> None:
        """A message from the supervisor itself."""
        self.write_line(SUPERVISOR_LABEL, text)

    def _copy_lines(self, name: str, source: IO[bytes]) -> None:
        with source:
            for raw_line in iter(source.readline, b""):
                self.write_line(name, raw_line.decode("utf-8", errors="replace").rstrip("\r\n"))

    def start_copying(self, name: str, source: IO[bytes]) -> threading.Thread:
        """Copy `source` line by line until EOF, in a daemon thread."""
        thread = threading.Thread(
            target=self._copy_lines, args=(name, source), name=f"output-{name}", daemon=True
        )
        thread.start()
        return thread


class SupervisorLogHandler(logging.Handler):
    """Shows devstack's log records (stale servers found, retries) in the stream."""

    def __init__(self, output: PrefixedOutput) -> None:
        super().__init__(level=logging.INFO)
        self._output = output

    def emit(self, record: logging.LogRecord) -> None:
        self._output.say(record.getMessage())


# --------------------------------------------------------------------------- #
# Signals
# --------------------------------------------------------------------------- #


class StopRequest:
    """Turns SIGINT, SIGTERM and SIGHUP into a flag the supervisor polls.

    Handling them instead of dying lets the supervisor stop its children and
    the embedded servers in order. SIGHUP covers a closed terminal: the
    children run in their own sessions and would not get it themselves.
    """

    HANDLED_SIGNALS: Final = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)

    def __init__(self) -> None:
        self._event = threading.Event()
        self.signal_name: str | None = None

    def install(self) -> None:
        for handled_signal in self.HANDLED_SIGNALS:
            signal.signal(handled_signal, self._handle)

    def _handle(self, signal_number: int, _frame: FrameType | None) -> None:
        self.signal_name = signal.Signals(signal_number).name
        self._event.set()

    @property
    def requested(self) -> bool:
        return self._event.is_set()

    def wait(self, timeout: float) -> bool:
        return self._event.wait(timeout)


# --------------------------------------------------------------------------- #
# Environment and backing services
# --------------------------------------------------------------------------- #


def child_environment(parent_environment: Mapping[str, str]) -> dict[str, str]:
    environment = dict(parent_environment)
    for variable, default in CHILD_ENVIRONMENT_DEFAULTS.items():
        environment.setdefault(variable, default)
    # Children write to a pipe, where Python would otherwise buffer whole
    # blocks and the prefixed stream would lag behind by kilobytes.
    environment["PYTHONUNBUFFERED"] = "1"
    return environment


def uses_external_services(environment: Mapping[str, str]) -> bool:
    return all(environment.get(variable) for variable in EXTERNAL_SERVICE_URL_VARIABLES)


def embedded_redis_port(environment: Mapping[str, str]) -> int:
    raw_port = environment.get("EMBEDDED_REDIS_PORT", str(DEFAULT_EMBEDDED_REDIS_PORT))
    try:
        port = int(raw_port)
    except ValueError:
        raise SystemExit(f"EMBEDDED_REDIS_PORT must be a port number, got {raw_port!r}") from None
    if not 0 < port < 65536:
        raise SystemExit(f"EMBEDDED_REDIS_PORT must be between 1 and 65535, got {port}")
    return port


def relative_to_repo(path: Path) -> str:
    try:
        return str(path.relative_to(REPO_ROOT))
    except ValueError:
        return str(path)


def start_embedded_services(
    environment: dict[str, str], stop_on_exit: contextlib.ExitStack, output: PrefixedOutput
) -> list[str]:
    """Start embedded PostgreSQL and Redis and point the children's URLs at them.

    Returns banner lines describing them. Their `stop` is pushed onto
    `stop_on_exit` as soon as each is running, so a later failure still stops it.
    """
    partially_set = [v for v in EXTERNAL_SERVICE_URL_VARIABLES if environment.get(v)]
    if partially_set:
        output.say(
            f"ignoring {', '.join(partially_set)}: external servers are used only when all of"
            f" {', '.join(EXTERNAL_SERVICE_URL_VARIABLES)} are set"
        )
    redis_port = embedded_redis_port(environment)
    # DEVSTACK_DATA_DIR lets a test or a second checkout keep its data apart from instance/.
    data_dir = Path(environment.get("DEVSTACK_DATA_DIR") or INSTANCE_DIR)
    postgres_data_dir, redis_data_dir = data_dir / "postgres", data_dir / "redis"

    output.say(f"starting embedded PostgreSQL in {relative_to_repo(postgres_data_dir)}")
    postgres = start_postgres(postgres_data_dir, cleanup="stop")
    stop_on_exit.callback(_announce_and_call, output, "stopping embedded PostgreSQL", postgres.stop)
    for database in (API_DATABASE, NOTIFY_DATABASE):
        ensure_database(postgres.superuser_url, database)

    output.say(
        f"starting embedded Redis on port {redis_port} in {relative_to_repo(redis_data_dir)}"
    )
    broker = start_redis(redis_data_dir, port=redis_port, persistence=True)
    stop_on_exit.callback(_announce_and_call, output, "stopping embedded Redis", broker.stop)

    environment["API_DATABASE_URL"] = postgres.url_for(API_DATABASE)
    environment["NOTIFY_DATABASE_URL"] = postgres.url_for(NOTIFY_DATABASE)
    # A Redis user per process (devstack.broker_access); the supervisor is the admin.
    broker_secret = create_users(broker.url)
    environment["BROKER_URL"] = admin_url(broker.url, broker_secret)
    environment[BROKER_SECRET_VARIABLE] = broker_secret
    return [
        f"postgres  embedded PostgreSQL 16, databases {API_DATABASE} and {NOTIFY_DATABASE},"
        f" data in {relative_to_repo(postgres_data_dir)}/, unix socket in"
        f" {relative_to_repo(postgres.socket_dir)}/",
        f"          API_DATABASE_URL={environment['API_DATABASE_URL']}",
        f"redis     embedded Redis (append-only file), {broker.url}, a user per process"
        f" (deploy/redis/users.acl),"
        f" data in {relative_to_repo(redis_data_dir)}/",
    ]


def _announce_and_call(output: PrefixedOutput, message: str, action: Callable[[], None]) -> None:
    output.say(message)
    action()


def gateway_url(gateway_bind: str) -> str:
    if gateway_bind.startswith(("unix:", "fd://")):
        return gateway_bind
    host, _, port = gateway_bind.rpartition(":")
    if host in ("", "0.0.0.0", "::", "[::]"):  # noqa: S104 - mapping a wildcard bind to a URL
        host = "127.0.0.1"
    return f"http://{host}:{port}"


# --------------------------------------------------------------------------- #
# Child processes
# --------------------------------------------------------------------------- #


def _die_with_supervisor() -> None:
    """In a forked child: have the kernel SIGTERM it when the supervisor dies.

    Otherwise a SIGKILLed `make run` leaves the gateway holding its port and
    the next run fails.
    """
    if _LIBC is not None:
        _LIBC.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


# What every service imports, imported once by the supervisor, after the embedded servers are up
# and before it forks the migrations and the services (issue 26). A forked process starts with
# these modules in memory and shares their pages with the supervisor and every other service, as
# gunicorn's workers share their master's: each process that imported them itself held 80-90 MiB
# of its own copies. Only modules that read no setting at import, so a service still takes its
# settings from its own environment when it makes its app: both services' packages (their apps
# are made later, in the child), the command lines and the machinery the services run on. Not
# worker/, api_worker/ or scheduler/: they make their Celery apps, broker URL included, at import.
PRELOADED_MODULES: Final = (
    # Both services, with what their apps, handlers and bot import when they are made or used.
    "wsgi",
    "api_app.bot.service",
    "notify_app.handlers",
    "flask_sqlalchemy.cli",
    "psycopg2.extras",
    "sqlalchemy.dialects.postgresql.psycopg2",
    # gunicorn: the gateway's master and its sync workers.
    "gunicorn.app.wsgiapp",
    "gunicorn.arbiter",
    "gunicorn.glogging",
    "gunicorn.workers.sync",
    "logging.config",
    # Celery: the command line, the worker's machinery, its pools, beat, the Redis transport.
    "celery.bin.celery",
    "celery.apps.worker",
    "celery.app.amqp",
    "celery.app.control",
    "celery.app.events",
    "celery.app.log",
    "celery.app.routes",
    "celery.backends.redis",
    "celery.beat",
    "celery.concurrency.prefork",
    "celery.concurrency.solo",
    "celery.events.receiver",
    "celery.events.state",
    "celery.fixups.django",
    "celery.worker.autoscale",
    "celery.worker.components",
    "celery.worker.consumer",
    "celery.worker.consumer.delayed_delivery",
    "celery.worker.strategy",
    "dbm.dumb",
    "kombu.mixins",
    "kombu.transport.redis",
)
PR_SET_NAME: Final = 15  # from <linux/prctl.h>: the name `ps -o comm`, `top` and psutil show
PROCESS_NAME_BYTES: Final = 15


def preload_shared_modules() -> None:
    """Import PRELOADED_MODULES, then move them out of the collector's reach.

    prometheus_client picks its multiprocess values at import, from PROMETHEUS_MULTIPROC_DIR: the
    supervisor's own directory is set first, so the services get multiprocess metrics, which
    move to each one's own directory when it first counts in it (a new pid: prometheus_client's
    files are per process). Frozen objects are never visited by a collection, which would
    write to each and make the kernel copy every page a child inherited.
    """
    os.environ.update(metrics_environment(SUPERVISOR_LABEL))
    for module in PRELOADED_MODULES:
        importlib.import_module(module)
    # Both services' mappers, which each would otherwise configure on its first query.
    configure_mappers()
    gc.freeze()


class ForkedProcess:
    """A process forked from the supervisor that runs a service without exec (fork_python): the
    part of subprocess.Popen the supervisor uses."""

    def __init__(self, pid: int, stdout: IO[bytes], arguments: Sequence[str]) -> None:
        self.pid = pid
        self.stdout: IO[bytes] | None = stdout
        self.arguments = tuple(arguments)
        self.returncode: int | None = None

    def poll(self) -> int | None:
        if self.returncode is None:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self.returncode = os.waitstatus_to_exitcode(status)
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        if timeout is None:
            if self.returncode is None:
                _, status = os.waitpid(self.pid, 0)
                self.returncode = os.waitstatus_to_exitcode(status)
            return self.returncode
        deadline = time.monotonic() + timeout
        while (returncode := self.poll()) is None:
            if time.monotonic() >= deadline:
                raise subprocess.TimeoutExpired(("python", *self.arguments), timeout)
            time.sleep(FORKED_WAIT_POLL_SECONDS)
        return returncode

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)

    def send_signal(self, signal_number: int) -> None:
        if self.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal_number)


def fork_python(
    name: str, arguments: Sequence[str], environment: Mapping[str, str], *, own_session: bool
) -> ForkedProcess:
    """`python *arguments` (`-m module ...` or `script ...`) as a fork of the supervisor, named
    `name`, its standard output and error in one pipe to the supervisor."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read_end)
        _run_forked(name, arguments, environment, write_end, own_session=own_session)
    os.close(write_end)
    return ForkedProcess(pid, os.fdopen(read_end, "rb"), arguments)


def _run_forked(
    name: str,
    arguments: Sequence[str],
    environment: Mapping[str, str],
    output_fd: int,
    *,
    own_session: bool,
) -> NoReturn:
    """In the child: become what `python *arguments` would be, run it, and exit without running
    the supervisor's exit handlers (they stop the embedded servers)."""
    exit_code = 1
    try:
        if own_session:
            # In its own session a child gets no SIGINT from a terminal Ctrl-C, so it is
            # stopped exactly once, by us, in order.
            os.setsid()
            _die_with_supervisor()
        if _LIBC is not None:
            _LIBC.prctl(PR_SET_NAME, name.encode()[:PROCESS_NAME_BYTES])
        # The supervisor's handlers only set its flag; a fresh interpreter's are these.
        signal.signal(signal.SIGINT, signal.default_int_handler)
        for handled_signal in (signal.SIGTERM, signal.SIGHUP):
            signal.signal(handled_signal, signal.SIG_DFL)
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        os.close(null)
        os.dup2(output_fd, 1)
        os.dup2(output_fd, 2)
        os.close(output_fd)
        # Unbuffered, as PYTHONUNBUFFERED makes a spawned child's: the stream reads a pipe.
        sys.stdout = _unbuffered_text(1)
        sys.stderr = _unbuffered_text(2)
        os.chdir(REPO_ROOT)
        os.environ.clear()
        os.environ.update(environment)
        # sys.path[0] and sys.argv as the interpreter sets them for `-m module` and for a script.
        if arguments[0] == "-m":
            module, *rest = arguments[1:]
            sys.path[0] = str(REPO_ROOT)
            sys.argv = [module, *rest]
            runpy.run_module(module, run_name="__main__", alter_sys=True)
        else:
            script = str(REPO_ROOT / arguments[0])
            sys.path[0] = os.path.dirname(script)
            sys.argv = [script, *arguments[1:]]
            runpy.run_path(script, run_name="__main__")
        exit_code = 0
    except SystemExit as exit_request:
        exit_code = _exit_code(exit_request.code)
    except BaseException:
        traceback.print_exc()
    finally:
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):
                stream.flush()
        os._exit(exit_code)


def _unbuffered_text(fd: int) -> io.TextIOWrapper:
    return io.TextIOWrapper(
        io.FileIO(fd, "w", closefd=False),
        encoding="utf-8",
        errors="backslashreplace",
        line_buffering=True,
        write_through=True,
    )


def _exit_code(code: object) -> int:
    """What the interpreter would exit with for sys.exit(code)."""
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    print(code, file=sys.stderr)
    return 1


@dataclass
class RunningService:
    command: ServiceCommand
    process: ForkedProcess
    output_thread: threading.Thread | None = None


def apply_migrations(
    environment: Mapping[str, str], output: PrefixedOutput, stop: StopRequest
) -> bool:
    """Run `flask db upgrade` for each migrated app; False if one failed or was stopped."""
    # A directory for the metrics the apps count, like every process forked after the preload
    # (preload_shared_modules): its prometheus_client keeps them in files.
    environment = {**environment, **metrics_environment(MIGRATION_LABEL)}
    for app_module in MIGRATED_APPS:
        output.say(f"applying {app_module} migrations")
        # Same session as us: a Ctrl-C during migrations interrupts them directly.
        process = fork_python(
            MIGRATION_LABEL,
            migration_arguments(app_module),
            process_environment(MIGRATION_LABEL, environment, {}),
            own_session=False,
        )
        assert process.stdout is not None
        copier = output.start_copying(MIGRATION_LABEL, process.stdout)
        while process.poll() is None:
            if stop.wait(SUPERVISION_POLL_SECONDS):
                process.terminate()
        process.wait()
        copier.join(OUTPUT_DRAIN_SECONDS)
        if stop.requested:
            return False
        if process.returncode != 0:
            output.say(
                f"ERROR: migrating {app_module} failed (exit code {process.returncode});"
                f" command: python {' '.join(migration_arguments(app_module))}"
            )
            return False
    return True


def metrics_environment(service_name: str) -> dict[str, str]:
    """A fresh Prometheus multiprocess directory per service: gunicorn workers and Celery
    children each write their own files there, and a scrape adds them up."""
    metrics_dir = Path(tempfile.gettempdir()) / f"budget-metrics-{os.getpid()}" / service_name
    shutil.rmtree(metrics_dir, ignore_errors=True)
    metrics_dir.mkdir(parents=True)
    return {"PROMETHEUS_MULTIPROC_DIR": str(metrics_dir)}


def start_services(
    commands: Sequence[ServiceCommand], environment: Mapping[str, str], output: PrefixedOutput
) -> list[RunningService]:
    # Each its own broker user and the signing keys of what it sends and consumes.
    key_files = development_signing_keys(
        Path(environment.get("DEVSTACK_DATA_DIR") or INSTANCE_DIR) / "keys"
    )
    # Every child is forked before any output thread exists: a lock another thread held at the
    # fork would stay held in the child.
    running = [
        RunningService(
            command,
            fork_python(
                command.name,
                command.python_arguments,
                process_environment(
                    command.name,
                    {**environment, **metrics_environment(command.name)},
                    key_files,
                ),
                own_session=True,
            ),
        )
        for command in commands
    ]
    for service in running:
        assert service.process.stdout is not None
        service.output_thread = output.start_copying(service.command.name, service.process.stdout)
    return running


def first_exited_service(
    running: Sequence[RunningService], stop: StopRequest
) -> RunningService | None:
    """Wait until a stop is requested (None) or some service exits (that service)."""
    while not stop.wait(SUPERVISION_POLL_SECONDS):
        for service in running:
            if service.process.poll() is not None:
                return service
    return None


def stop_services(running: Sequence[RunningService], output: PrefixedOutput) -> None:
    """SIGTERM every service, wait up to the grace period, then SIGKILL what is left."""
    for service in running:
        if service.process.poll() is None:
            # Only the leader: gunicorn and celery stop their own workers
            # gracefully, and signalling those directly makes them look lost.
            service.process.terminate()
    deadline = time.monotonic() + CHILD_STOP_GRACE_SECONDS
    for service in running:
        try:
            service.process.wait(max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            grace = f"{CHILD_STOP_GRACE_SECONDS:.0f}s"
            output.say(f"{service.command.name} did not stop within {grace}; killing it")
    for service in running:
        # The whole process group: a leader that ignored SIGTERM, and any
        # worker a dead leader left behind.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(service.process.pid, signal.SIGKILL)
        service.process.wait()
    for service in running:
        if service.output_thread is not None:
            service.output_thread.join(OUTPUT_DRAIN_SECONDS)


# --------------------------------------------------------------------------- #
# Entry point
# --------------------------------------------------------------------------- #


def parse_arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m devstack.run", description="Start the whole system for development."
    )
    parser.add_argument(
        "--prepare-only",
        action="store_true",
        help="start the servers, create the databases, migrate, then stop and exit",
    )
    parser.add_argument(
        "--profile",
        choices=PROFILES,
        default=DEFAULT_PROFILE,
        help="which processes run the system (default: %(default)s)",
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    arguments = parse_arguments(argv)
    gateway_bind = os.environ.get("GATEWAY_BIND", DEFAULT_GATEWAY_BIND)
    state_dir = Path(os.environ.get("DEVSTACK_DATA_DIR") or INSTANCE_DIR)
    state_dir.mkdir(parents=True, exist_ok=True)
    commands = service_commands(gateway_bind, state_dir, arguments.profile)
    output = PrefixedOutput(
        sys.stdout, [SUPERVISOR_LABEL, MIGRATION_LABEL, *(command.name for command in commands)]
    )
    devstack_logger = logging.getLogger("devstack")
    devstack_logger.addHandler(SupervisorLogHandler(output))
    devstack_logger.setLevel(logging.INFO)
    stop = StopRequest()
    stop.install()
    environment = child_environment(os.environ)

    with contextlib.ExitStack() as stop_on_exit:
        if uses_external_services(environment):
            backing_lines = [
                "postgres  external: API_DATABASE_URL and NOTIFY_DATABASE_URL from the environment",
                "redis     external: BROKER_URL from the environment",
            ]
        else:
            try:
                backing_lines = start_embedded_services(environment, stop_on_exit, output)
            except Exception as error:
                # Whatever the failure (binary, permissions, port, SQL), the
                # run ends with a readable message instead of a traceback.
                output.say(f"ERROR: could not start the embedded servers: {error}")
                return 1
        if stop.requested:
            return 0

        url = gateway_url(gateway_bind)
        banner = [
            "budget backend, development stack",
            f"gateway   {url}   (API docs: {url}/api/docs)",
            *backing_lines,
            "Ctrl-C stops everything.",
        ]
        for line in banner:
            output.say(line)

        preload_shared_modules()
        if not apply_migrations(environment, output, stop):
            return 0 if stop.requested else 1
        if arguments.prepare_only:
            output.say("prepared: databases exist and are migrated")
            return 0

        running = start_services(commands, environment, output)
        output.say(f"started {', '.join(service.command.name for service in running)}")
        exited = first_exited_service(running, stop)
        if exited is None:
            output.say(f"{stop.signal_name}: stopping everything")
        else:
            output.say(
                f"ERROR: {exited.command.name} exited unexpectedly"
                f" (exit code {exited.process.returncode}); stopping everything"
            )
        stop_services(running, output)
        return 0 if exited is None else 1


if __name__ == "__main__":
    sys.exit(main())
