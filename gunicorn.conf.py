"""Gunicorn settings for every web process (api, notifications, and the all-in-one gateway).

One image runs every role, so whatever differs between deployments comes from the environment:
GUNICORN_BIND, GUNICORN_WORKERS and GUNICORN_THREADS. The rest is fixed here on purpose, so a
process behaves the same wherever it runs.
"""

from __future__ import annotations

import gc
import json
import multiprocessing
import os
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

# gunicorn ships no type information.
from gunicorn.glogging import Logger  # type: ignore[import-untyped]


def _env_int(name: str, default: int) -> int:
    """A positive integer from the environment. A bad value stops start-up, it is not ignored."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"{name} must be a positive integer, got {raw!r}") from None
    if value < 1:
        raise ValueError(f"{name} must be a positive integer, got {raw!r}")
    return value


# 0.0.0.0 so the port can be reached from outside the container (nginx, compose healthchecks).
bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")

# The usual rule of thumb for sync workers. Inside a container cpu_count() reports the host's
# CPUs, not the container's CPU limit, so production deployments should set GUNICORN_WORKERS.
workers = _env_int("GUNICORN_WORKERS", multiprocessing.cpu_count() * 2 + 1)

# With more than one thread gunicorn swaps the sync worker for its threaded (gthread) worker.
threads = _env_int("GUNICORN_THREADS", 1)
worker_class = "sync"

# The master loads the application once and every worker is forked from it, sharing its pages
# (about 60 MiB of imported code and objects per worker otherwise; issue 26). Safe because
# nothing the application makes at start-up is a connection or a thread: the SQLAlchemy pools,
# Redis clients and Celery producers connect on first use, which is in a worker.
preload_app = True

# A request that takes longer than 30 s is stuck: the worker is killed and restarted. nginx's
# proxy_read_timeout is a little longer, so gunicorn gives up first.
timeout = 30
# SIGTERM lets in-flight requests finish for this long. compose's stop_grace_period is longer.
graceful_timeout = 30
# Only the threaded worker keeps connections open. The sync worker closes each one.
keepalive = 5

# Restart each worker after about 2000 requests so a slow memory leak cannot grow without limit.
# The jitter spreads the restarts so the workers do not all restart at once.
max_requests = 2000
max_requests_jitter = 200

# Workers signal the arbiter that they are alive by touching a file. On Docker's overlay
# filesystem that write can block, and the arbiter then kills healthy workers. /dev/shm is in
# memory. It does not exist on every development machine, so fall back to the default there.
# (S108 is about guessable temporary file names. The heartbeat file is created by gunicorn with
# mkstemp, in whatever directory is named here.)
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None  # noqa: S108

# Gunicorn 25.1+ opens a control socket under $HOME for runtime management (gunicornc). The
# container user has no home directory, and worker counts are set by configuration, so turn
# the socket off. Older gunicorn versions ignore this unknown setting.
control_socket_disable = True

# Logs go to stdout/stderr. The container runtime collects them, and no file inside the
# container needs rotating.
accesslog = "-"
errorlog = "-"

# One JSON object per line so log shippers can parse it without a grok pattern.
# - path is %(U)s, the path without the query string, so query parameters stay out of the logs.
# - status, bytes and duration_ms are unquoted and so are JSON numbers.
#   JsonSafeAtoms (below) makes sure they always render as numbers, or as null.
# - request_id is the X-Request-ID the application answered with: the caller's (or nginx's)
#   when it was sane, else the one the app generated, so it matches the app's own log lines.
# - remote is the peer address. Behind nginx that is nginx's own address. The client's address
#   is in X-Forwarded-For, which the application reads.
access_log_format = (
    "{"
    '"time": "%(t)s", '
    '"remote": "%(h)s", '
    '"method": "%(m)s", '
    '"path": "%(U)s", '
    '"status": %(s)s, '
    '"bytes": %(B)s, '
    '"duration_ms": %(M)s, '
    '"request_id": "%({x-request-id}o)s", '
    '"user_agent": "%(a)s"'
    "}"
)

# Atoms that access_log_format uses unquoted. Each must render as a JSON number (or null).
_NUMERIC_ATOMS = frozenset({"s", "B", "M"})


def _json_number(value: object) -> str:
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, str) and value.isascii() and value.isdigit():
        return str(int(value))  # drops leading zeros, which JSON numbers may not have
    return "null"


class JsonSafeAtoms(dict[str, object]):
    """Gunicorn's SafeAtoms, made safe for JSON.

    It keeps SafeAtoms' behaviour: '{header}i' lookups ignore case, and a missing atom
    renders as "-". Gunicorn's own SafeAtoms escapes only double quotes. A backslash or a
    control character in a client-supplied value (User-Agent, X-Request-ID, the path) would
    then still produce a line that is not valid JSON. Here every string value is
    JSON-escaped, and the unquoted numeric atoms always render as a number or null.
    """

    def __init__(self, atoms: Mapping[str, object]) -> None:
        super().__init__()
        for key, value in atoms.items():
            if key in _NUMERIC_ATOMS:
                self[key] = _json_number(value)
            elif value is None:
                self[key] = "-"
            else:
                # json.dumps escapes quotes, backslashes and control characters. Slicing
                # off its surrounding quotes leaves text that fits inside the quotes in the
                # format. ensure_ascii keeps every log line plain ASCII.
                self[key] = json.dumps(str(value))[1:-1]

    def __getitem__(self, key: str) -> object:
        if key.startswith("{"):
            key = key.lower()
        if key in self:
            return super().__getitem__(key)
        return "null" if key in _NUMERIC_ATOMS else "-"


class JsonAccessLogger(Logger):  # type: ignore[misc]  # Logger is untyped (Any)
    """Gunicorn's logger with JSON-safe access-log atoms and ISO 8601 UTC timestamps."""

    atoms_wrapper_class = JsonSafeAtoms

    def now(self) -> str:
        # The default is Apache's "[25/Nov/2025:16:48:00 +0000]", which log tools do not read
        # as a date.
        return datetime.now(UTC).isoformat(timespec="milliseconds")


logger_class = JsonAccessLogger


def pre_fork(server: object, worker: Any) -> None:
    """Move what the master made out of the collector's reach before each worker is forked.

    A collection in a worker otherwise writes to every object it inherited (the collector keeps
    its bookkeeping in each object's header), and the kernel copies each page it writes: within
    minutes every worker held a private copy of the master's heap. Frozen objects are never
    collected; they live as long as the master anyway.
    """
    gc.freeze()


def child_exit(server: object, worker: Any) -> None:
    """A worker that exited leaves its Prometheus files behind; mark them so live gauges drop it.

    Only matters in multiprocess mode (PROMETHEUS_MULTIPROC_DIR set, as `make run` and compose do).
    """
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)  # type: ignore[no-untyped-call]
