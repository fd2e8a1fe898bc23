"""gunicorn.conf.py: its settings, their environment overrides, and a JSON access log."""

from __future__ import annotations

import inspect
import json
import logging
import multiprocessing
import re
import runpy
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

GUNICORN_CONF = Path(__file__).resolve().parent.parent / "gunicorn.conf.py"

GUNICORN_ENV = ("GUNICORN_BIND", "GUNICORN_WORKERS", "GUNICORN_THREADS")
ACCESS_LOG_KEYS = {
    "time", "remote", "method", "path", "status", "bytes", "duration_ms", "request_id",
    "user_agent",
}  # fmt: skip


def load_gunicorn_conf(monkeypatch: pytest.MonkeyPatch, **env: str) -> dict[str, Any]:
    for name in GUNICORN_ENV:
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return runpy.run_path(str(GUNICORN_CONF))


def gunicorn_config(namespace: Mapping[str, Any]) -> Any:
    """A gunicorn Config loaded from the namespace the way gunicorn loads a config file.

    Each setting goes through gunicorn's own validator, so a bad value fails here.
    """
    from gunicorn.config import Config  # type: ignore[import-untyped]

    config = Config()
    for key, value in namespace.items():
        if key in config.settings:
            config.set(key.lower(), value)
    return config


def test_gunicorn_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    conf = load_gunicorn_conf(monkeypatch)
    assert conf["bind"] == "0.0.0.0:8000"
    assert conf["workers"] == multiprocessing.cpu_count() * 2 + 1
    assert conf["threads"] == 1
    assert conf["worker_class"] == "sync"
    assert (conf["timeout"], conf["graceful_timeout"], conf["keepalive"]) == (30, 30, 5)
    assert (conf["accesslog"], conf["errorlog"]) == ("-", "-")
    assert (conf["max_requests"], conf["max_requests_jitter"]) == (2000, 200)

    config = gunicorn_config(conf)
    assert config.address == [("0.0.0.0", 8000)]  # noqa: S104 (the container must listen on all)
    assert config.workers == conf["workers"]
    assert config.worker_class_str == "sync"
    # Every setting the file means to set is one gunicorn knows. A misspelt name would be
    # dropped silently.
    for name in (
        "bind", "workers", "threads", "worker_class", "timeout", "graceful_timeout",
        "keepalive", "accesslog", "errorlog", "access_log_format", "max_requests",
        "max_requests_jitter", "logger_class", "worker_tmp_dir",
    ):  # fmt: skip
        assert name in config.settings, name


def test_gunicorn_environment_overrides(monkeypatch: pytest.MonkeyPatch) -> None:
    conf = load_gunicorn_conf(
        monkeypatch, GUNICORN_BIND="127.0.0.1:9000", GUNICORN_WORKERS="3", GUNICORN_THREADS="4"
    )
    assert (conf["bind"], conf["workers"], conf["threads"]) == ("127.0.0.1:9000", 3, 4)
    assert gunicorn_config(conf).worker_class_str == "gthread"


@pytest.mark.parametrize("value", ["zero", "0", "-2", "1.5"])
def test_gunicorn_rejects_bad_worker_counts(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    with pytest.raises(ValueError, match="GUNICORN_WORKERS"):
        load_gunicorn_conf(monkeypatch, GUNICORN_WORKERS=value)


SAMPLE_ATOMS: dict[str, object] = {
    "h": "172.18.0.5",
    "l": "-",
    "u": "-",
    "t": "[25/Nov/2025:16:48:00 +0000]",
    "r": "GET /api/budgets?month=2025-11 HTTP/1.1",
    "m": "GET",
    "U": "/api/budgets",
    "q": "month=2025-11",
    "H": "HTTP/1.1",
    "s": "200",
    "B": 512,
    "b": "512",
    "f": "-",
    "a": "Mozilla/5.0 (X11; Linux x86_64)",
    "T": 0,
    "D": 12345,
    "M": 12,
    "L": "0.012345",
    "p": "<7>",
    "{x-request-id}o": "3f2c8e0a41d74d8e9a550d9b3e0e7c11",
}


def test_access_log_format_is_json_with_gunicorn_atoms(monkeypatch: pytest.MonkeyPatch) -> None:
    from gunicorn.glogging import SafeAtoms  # type: ignore[import-untyped]

    conf = load_gunicorn_conf(monkeypatch)
    fmt = conf["access_log_format"]
    # Gunicorn's own wrapper and the one this config installs must both give valid JSON for
    # ordinary values.
    for wrapper in (SafeAtoms, conf["logger_class"].atoms_wrapper_class):
        line = fmt % wrapper(SAMPLE_ATOMS)
        assert "\n" not in line
        record = json.loads(line)
        assert set(record) == ACCESS_LOG_KEYS
        assert record == {
            "time": "[25/Nov/2025:16:48:00 +0000]",
            "remote": "172.18.0.5",
            "method": "GET",
            "path": "/api/budgets",
            "status": 200,
            "bytes": 512,
            "duration_ms": 12,
            "request_id": "3f2c8e0a41d74d8e9a550d9b3e0e7c11",
            "user_agent": "Mozilla/5.0 (X11; Linux x86_64)",
        }

    # A request without the header (straight to gunicorn, not through nginx).
    no_id = {k: v for k, v in SAMPLE_ATOMS.items() if k != "{x-request-id}o"}
    assert json.loads(fmt % conf["logger_class"].atoms_wrapper_class(no_id))["request_id"] == "-"


class _Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


@pytest.mark.parametrize(
    ("user_agent", "request_id"),
    [
        ("curl/8.5.0", "3f2c8e0a41d74d8e9a550d9b3e0e7c11"),
        # Client-controlled text that would break naive quoting: quotes, backslashes, control
        # characters, a forged second JSON object, non-ASCII.
        ('evil" \\", "status": 999, "x": "\\', 'id\\"}\n{"forged": true'),
        ("tab\there\r\nnewline \x00 \u2028 ünïcødé", "-"),
    ],
)
def test_access_log_lines_are_json_through_gunicorns_logger(
    monkeypatch: pytest.MonkeyPatch, user_agent: str, request_id: str
) -> None:
    """The whole path gunicorn takes: Config -> logger_class -> atoms -> % format -> line."""
    conf = load_gunicorn_conf(monkeypatch)
    config = gunicorn_config(conf)
    logger = config.logger_class(config)
    capture = _Capture()
    logger.access_log.addHandler(capture)
    try:
        # The app answers with the request id it used (the client's when sane, else its own).
        response = SimpleNamespace(
            status="201 CREATED",
            sent=87,
            headers=[("Content-Type", "application/json"), ("X-Request-ID", request_id)],
        )
        request = SimpleNamespace(headers=[("USER-AGENT", user_agent)])
        environ = {
            "REQUEST_METHOD": "POST",
            "RAW_URI": "/api/transactions?token=secret",
            "PATH_INFO": "/api/transactions",
            "QUERY_STRING": "token=secret",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "REMOTE_ADDR": "172.18.0.9",
            "HTTP_USER_AGENT": user_agent,
        }
        logger.access(response, request, environ, timedelta(milliseconds=42, microseconds=700))
    finally:
        for log in (logger.access_log, logger.error_log):
            for handler in list(log.handlers):
                log.removeHandler(handler)

    assert len(capture.lines) == 1, "gunicorn logged no access line (format error?)"
    line = capture.lines[0]
    assert "\n" not in line
    assert line.isascii()
    record = json.loads(line)
    assert set(record) == ACCESS_LOG_KEYS
    assert record["status"] == 201
    assert record["bytes"] == 87
    assert record["duration_ms"] == 42
    assert record["method"] == "POST"
    assert record["path"] == "/api/transactions"  # the query string stays out of the log
    assert "secret" not in line
    assert record["remote"] == "172.18.0.9"
    assert record["user_agent"] == user_agent
    assert record["request_id"] == request_id
    assert re.match(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}\+00:00$", record["time"])


def test_access_log_numbers_never_break_json(monkeypatch: pytest.MonkeyPatch) -> None:
    conf = load_gunicorn_conf(monkeypatch)
    wrapper = conf["logger_class"].atoms_wrapper_class
    odd = {**SAMPLE_ATOMS, "s": "abc", "B": None, "M": "007"}
    record = json.loads(conf["access_log_format"] % wrapper(odd))
    assert (record["status"], record["bytes"], record["duration_ms"]) == (None, None, 7)
    missing = {k: v for k, v in SAMPLE_ATOMS.items() if k not in {"s", "B", "M"}}
    record = json.loads(conf["access_log_format"] % wrapper(missing))
    assert (record["status"], record["bytes"], record["duration_ms"]) == (None, None, None)


def test_gunicorn_conf_has_no_stray_public_names(monkeypatch: pytest.MonkeyPatch) -> None:
    # Gunicorn ignores names in the file that are not settings, so a typo such as
    # `max_request = 2000` would be dropped without a word. Every public value that is not
    # an import, a helper or a class has to be a real setting.
    conf = load_gunicorn_conf(monkeypatch)
    settings = gunicorn_config({}).settings
    values = {
        name
        for name, value in conf.items()
        if not name.startswith("_")
        and name != "annotations"
        and not inspect.ismodule(value)
        and not inspect.isclass(value)
        and not inspect.isfunction(value)
        and type(value).__module__ == "builtins"
    }
    assert values, "no settings found"
    # control_socket_disable exists only from gunicorn 25.1. Older versions ignore it, as
    # the config file says.
    assert values - {"control_socket_disable"} <= set(settings), values - set(settings)
