"""The deployment files (compose.yml, deploy/nginx.conf, gunicorn.conf.py), checked statically.

None of these tests needs Docker, PostgreSQL or Redis. When a Compose CLI happens to be
installed, the compose file is also run through `config -q`. Without one, the same test still
checks the file's structure, so it never passes vacuously.
"""

from __future__ import annotations

import inspect
import json
import logging
import multiprocessing
import os
import re
import runpy
import shutil
import subprocess
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
COMPOSE_FILE = ROOT / "compose.yml"
NGINX_CONF = ROOT / "deploy" / "nginx.conf"
GUNICORN_CONF = ROOT / "gunicorn.conf.py"

EXPECTED_SERVICES = {
    "postgres-api",
    "postgres-notifications",
    "redis",
    "api-migrate",
    "notifications-migrate",
    "api",
    "notifications",
    "worker",
    "relay",
    "token-purge",
    "month-close",
    "gateway",
}
# Processes that build api_app, and processes that build notify_app. Database per service: each
# group sees only its own database URL.
API_PROCESSES = ("api", "api-migrate", "relay", "token-purge", "month-close")
NOTIFY_PROCESSES = ("notifications", "notifications-migrate", "worker")
PYTHON_SERVICES = API_PROCESSES + NOTIFY_PROCESSES
POSTGRES = {"postgres-api": "budget_api", "postgres-notifications": "budget_notifications"}

# --------------------------------------------------------------------------------------------
# compose.yml helpers
# --------------------------------------------------------------------------------------------


def load_compose() -> dict[str, Any]:
    document = yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))
    assert isinstance(document, dict), "compose.yml must be a mapping"
    return document


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return load_compose()


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    result = compose["services"]
    assert isinstance(result, dict)
    return result


def depends_on(service: Mapping[str, Any]) -> dict[str, str]:
    """Target -> condition, for both the short (list) and the long (mapping) syntax."""
    raw = service.get("depends_on", {})
    if isinstance(raw, list):
        return dict.fromkeys(raw, "service_started")
    return {name: (spec or {}).get("condition", "service_started") for name, spec in raw.items()}


def environment(service: Mapping[str, Any]) -> dict[str, str]:
    raw = service.get("environment", {})
    if isinstance(raw, list):
        return dict(item.split("=", 1) if "=" in item else (item, "") for item in raw)
    return {key: "" if value is None else str(value) for key, value in raw.items()}


@dataclass(frozen=True)
class Mount:
    type: str
    source: str
    target: str
    read_only: bool


def mounts(service: Mapping[str, Any]) -> list[Mount]:
    """The service's volumes in one shape, from both the short and the long syntax."""
    result = []
    for entry in service.get("volumes", []):
        if isinstance(entry, str):
            source, target, *rest = entry.split(":")
            kind = "bind" if source.startswith((".", "/", "~")) else "volume"
            options = rest[0].split(",") if rest else []
            result.append(Mount(kind, source, target, "ro" in options))
        else:
            result.append(
                Mount(
                    entry["type"],
                    entry.get("source", ""),
                    entry["target"],
                    bool(entry.get("read_only", False)),
                )
            )
    return result


def command_of(service: Mapping[str, Any]) -> list[str]:
    command = service.get("command", [])
    return command.split() if isinstance(command, str) else [str(part) for part in command]


# What `docker compose config` would reject, or what would only fail at `up` time. Used on its
# own when no Compose CLI is installed.
TOP_LEVEL_KEYS = {"name", "services", "volumes", "networks", "secrets", "configs", "include"}
SERVICE_KEYS = {
    "build", "image", "command", "entrypoint", "environment", "env_file", "volumes", "ports",
    "expose", "depends_on", "healthcheck", "restart", "stop_grace_period", "stop_signal",
    "init", "user", "working_dir", "networks", "labels", "logging", "deploy", "secrets",
    "configs", "profiles", "container_name", "hostname", "extra_hosts", "read_only", "tmpfs",
    "cap_add", "cap_drop", "security_opt", "ulimits", "pull_policy", "platform", "develop",
    "mem_limit", "cpus", "shm_size", "sysctls", "tty", "stdin_open", "dns",
}  # fmt: skip
DEPENDENCY_CONDITIONS = {"service_started", "service_healthy", "service_completed_successfully"}
RESTART_POLICIES = re.compile(r"^(no|always|unless-stopped|on-failure(:\d+)?)$")
DURATION = re.compile(r"^(\d+(\.\d+)?(us|ms|s|m|h))+$")
PORT = re.compile(r"^((\d{1,3}(\.\d{1,3}){3}):)?(\d+(-\d+)?:)?\d+(-\d+)?(/(tcp|udp))?$")


def compose_structure_problems(document: Mapping[str, Any]) -> list[str]:
    problems: list[str] = []
    if "version" in document:
        problems.append("top-level `version` is obsolete in the Compose specification")
    for key in document:
        if key not in TOP_LEVEL_KEYS and not str(key).startswith("x-"):
            problems.append(f"unknown top-level key {key!r}")
    services = document.get("services")
    if not isinstance(services, dict) or not services:
        return [*problems, "no services defined"]
    declared_volumes = set(document.get("volumes") or {})

    for name, service in services.items():
        where = f"service {name!r}"
        if not isinstance(service, dict):
            problems.append(f"{where} is not a mapping")
            continue
        for key in service:
            if key not in SERVICE_KEYS and not str(key).startswith("x-"):
                problems.append(f"{where}: unknown key {key!r}")
        if "image" not in service and "build" not in service:
            problems.append(f"{where}: needs an image or a build")
        if "build" in service:
            build = service["build"]
            context = ROOT / (build if isinstance(build, str) else build.get("context", "."))
            dockerfile = "Dockerfile" if isinstance(build, str) else build.get("dockerfile")
            if not (context / (dockerfile or "Dockerfile")).is_file():
                problems.append(f"{where}: build context has no {dockerfile or 'Dockerfile'}")
        restart = service.get("restart", "no")
        if not isinstance(restart, str) or not RESTART_POLICIES.match(restart):
            problems.append(f'{where}: invalid restart policy {restart!r} (quote "no")')
        command = service.get("command")
        if command is not None and not (
            isinstance(command, str)
            or (isinstance(command, list) and all(isinstance(p, str) for p in command))
        ):
            problems.append(f"{where}: command must be a string or a list of strings")

        raw_env = service.get("environment", {})
        if isinstance(raw_env, dict):
            for key, value in raw_env.items():
                if isinstance(value, (dict, list)):
                    problems.append(f"{where}: environment {key} is not a scalar")
        elif not all(isinstance(item, str) for item in raw_env):
            problems.append(f"{where}: environment list entries must be KEY=VALUE strings")

        for port in service.get("ports", []):
            if not (isinstance(port, int) or (isinstance(port, str) and PORT.match(port))):
                problems.append(f"{where}: invalid port {port!r} (quote it)")

        for mount in mounts(service):
            if mount.type == "volume" and mount.source not in declared_volumes:
                problems.append(f"{where}: named volume {mount.source!r} is not declared")
            if not mount.target.startswith("/"):
                problems.append(f"{where}: mount target {mount.target!r} is not absolute")

        healthcheck = service.get("healthcheck")
        if healthcheck is not None:
            test = healthcheck.get("test")
            if not (
                isinstance(test, str)
                or (
                    isinstance(test, list)
                    and test
                    and test[0] in {"CMD", "CMD-SHELL", "NONE"}
                    and all(isinstance(part, str) for part in test)
                )
            ):
                problems.append(f"{where}: healthcheck test must be CMD/CMD-SHELL list or str")
            for key in ("interval", "timeout", "start_period", "start_interval"):
                if key in healthcheck and not DURATION.match(str(healthcheck[key])):
                    problems.append(f"{where}: healthcheck {key} is not a duration")

        raw_depends = service.get("depends_on", {})
        if isinstance(raw_depends, dict):
            for target, spec in raw_depends.items():
                unknown = set(spec or {}) - {"condition", "restart", "required"}
                if unknown:
                    problems.append(f"{where}: depends_on {target} has unknown keys {unknown}")
        for target, condition in depends_on(service).items():
            if target not in services:
                problems.append(f"{where}: depends on undefined service {target!r}")
                continue
            if condition not in DEPENDENCY_CONDITIONS:
                problems.append(f"{where}: unknown depends_on condition {condition!r}")
            if condition == "service_healthy" and "healthcheck" not in services[target]:
                problems.append(f"{where}: waits for {target} to be healthy, it has no check")
            if target == name:
                problems.append(f"{where}: depends on itself")
    return problems


def compose_command() -> list[str] | None:
    """The installed Compose CLI (standalone docker-compose, or the docker compose plugin)."""
    standalone = shutil.which("docker-compose")
    if standalone:
        return [standalone]
    docker = shutil.which("docker")
    if docker:
        # A docker CLI without the compose plugin answers "unknown command".
        probe = subprocess.run(
            [docker, "compose", "version"], capture_output=True, text=True, timeout=60
        )
        if probe.returncode == 0:
            return [docker, "compose"]
    return None


# --------------------------------------------------------------------------------------------
# compose.yml
# --------------------------------------------------------------------------------------------


def compose_config(command: list[str], **env: str) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if k != "REDIS_PASSWORD"}
    return subprocess.run(
        [*command, "--file", str(COMPOSE_FILE), "config", "--quiet"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        env={**environ, **env},
    )


def test_compose_file_is_valid(compose: dict[str, Any]) -> None:
    command = compose_command()
    if command is not None:
        result = compose_config(command, REDIS_PASSWORD="0123abcd")
        assert result.returncode == 0, result.stderr
        # Without the broker's password the stack does not start at all.
        unset = compose_config(command)
        assert unset.returncode != 0
        assert "REDIS_PASSWORD" in unset.stderr
    # Runs with and without a Compose CLI. It also catches what `config` accepts but `up`
    # would then reject, such as waiting for a health check that does not exist.
    assert compose_structure_problems(compose) == []


def test_structure_check_reports_broken_files() -> None:
    # The check above must be able to fail. Otherwise a machine without Docker proves nothing.
    broken = {
        "version": "3.9",
        "services": {
            "web": {
                "image": "nginx",
                "depend_on": ["db"],
                "depends_on": {
                    "db": {"condition": "service_healthy"},
                    "cache": {"condition": "service_healthy"},
                    "ghost": None,
                },
                "restart": False,
                "ports": ["80:80:80:80"],
                "volumes": ["undeclared:/data"],
            },
            "db": {"healthcheck": {"test": "true", "interval": "often"}},
            "cache": {"image": "redis", "depends_on": {"web": {"condition": "done"}}},
        },
    }
    problems = "\n".join(compose_structure_problems(broken))
    for expected in (
        "`version` is obsolete",
        "unknown key 'depend_on'",
        "undefined service 'ghost'",
        "invalid restart policy False",
        "invalid port '80:80:80:80'",
        "named volume 'undeclared' is not declared",
        "needs an image or a build",
        "interval is not a duration",
        "waits for cache to be healthy",
        "unknown depends_on condition 'done'",
    ):
        assert expected in problems


def test_every_service_is_defined(services: dict[str, Any]) -> None:
    assert set(services) >= EXPECTED_SERVICES


def test_no_obsolete_version_key(compose: dict[str, Any]) -> None:
    assert "version" not in compose


@pytest.mark.parametrize(("name", "database"), sorted(POSTGRES.items()))
def test_postgres_service(
    compose: dict[str, Any], services: dict[str, Any], name: str, database: str
) -> None:
    service = services[name]
    assert service["image"] == "postgres:17"
    env = environment(service)
    assert env["POSTGRES_DB"] == database
    assert env["POSTGRES_USER"] == "budget"
    assert env["POSTGRES_PASSWORD"] == "budget"

    data = [m for m in mounts(service) if m.target == "/var/lib/postgresql/data"]
    assert len(data) == 1
    assert data[0].type == "volume", "data must live in a named volume"
    assert data[0].source in (compose.get("volumes") or {}), "volume not declared at top level"

    test = service["healthcheck"]["test"]
    assert "pg_isready" in " ".join(test if isinstance(test, list) else [test])
    assert database in " ".join(test if isinstance(test, list) else [test])


def test_each_database_has_its_own_volume(services: dict[str, Any]) -> None:
    volume_sources = [
        {m.source for m in mounts(services[name]) if m.type == "volume"} for name in POSTGRES
    ]
    assert volume_sources[0].isdisjoint(volume_sources[1])


REQUIRED_REDIS_PASSWORD = "${REDIS_PASSWORD:?set REDIS_PASSWORD (see the top of compose.yml)}"


def test_redis(services: dict[str, Any]) -> None:
    redis = services["redis"]
    assert redis["image"] == "redis:7-alpine"
    assert redis["healthcheck"]["test"][-2:] == ["redis-cli", "ping"]
    # A password from the environment, required; the healthcheck's redis-cli uses it too.
    command = redis["command"]
    assert command[command.index("--requirepass") + 1] == REQUIRED_REDIS_PASSWORD
    assert environment(redis)["REDISCLI_AUTH"] == REQUIRED_REDIS_PASSWORD


@pytest.mark.parametrize(
    ("name", "app", "database"),
    [
        ("api-migrate", "api_app", "postgres-api"),
        ("notifications-migrate", "notify_app", "postgres-notifications"),
    ],
)
def test_migrate_services_are_one_shot(
    services: dict[str, Any], name: str, app: str, database: str
) -> None:
    service = services[name]
    assert command_of(service) == ["flask", "--app", app, "db", "upgrade"]
    # One-shot: never restarted, so "completed successfully" can be reached and waited for.
    assert service.get("restart", "no") == "no"
    assert "ports" not in service
    assert "healthcheck" not in service
    assert depends_on(service) == {database: "service_healthy"}


@pytest.mark.parametrize(
    ("name", "migration"),
    [
        ("api", "api-migrate"),
        ("relay", "api-migrate"),
        ("token-purge", "api-migrate"),
        ("month-close", "api-migrate"),
        ("notifications", "notifications-migrate"),
        ("worker", "notifications-migrate"),
    ],
)
def test_services_start_after_their_migrations(
    services: dict[str, Any], name: str, migration: str
) -> None:
    assert depends_on(services[name])[migration] == "service_completed_successfully"


def test_infrastructure_dependencies_wait_until_healthy(services: dict[str, Any]) -> None:
    waits = [
        (name, target, condition)
        for name, service in services.items()
        for target, condition in depends_on(service).items()
        if target in POSTGRES or target == "redis"
    ]
    assert waits, "nothing depends on the databases or on Redis"
    assert all(condition == "service_healthy" for _, _, condition in waits), waits
    for name in ("api", "worker", "relay"):
        assert depends_on(services[name])["redis"] == "service_healthy"


def test_every_dependency_is_a_defined_service(services: dict[str, Any]) -> None:
    for name, service in services.items():
        for target in depends_on(service):
            assert target in services, f"{name} depends on undefined {target}"


def test_commands(services: dict[str, Any]) -> None:
    assert command_of(services["api"]) == ["gunicorn", "-c", "gunicorn.conf.py", "wsgi:api"]
    assert command_of(services["notifications"])[-1] == "wsgi:notify"
    assert command_of(services["notifications"])[0] == "gunicorn"
    assert command_of(services["worker"]) == [
        "celery", "-A", "worker", "worker", "-Q", "notifications", "--loglevel", "INFO",
    ]  # fmt: skip
    assert command_of(services["relay"]) == ["flask", "--app", "api_app", "outbox", "relay"]
    purge = services["token-purge"]["command"]
    script = purge if isinstance(purge, str) else purge[-1]
    assert "flask --app api_app auth purge-tokens" in script
    assert "while true" in script
    assert "sleep 3600" in script
    month_close = command_of(services["month-close"])[-1]
    # Compose turns $$ into $: the shell sees $(date -u +%d).
    assert '[ "$$(date -u +%d)" = 01 ]' in month_close
    assert "flask --app api_app budgets close-month" in month_close
    assert "sleep 3600" in month_close


def test_python_services_share_one_build_definition(services: dict[str, Any]) -> None:
    builds = [services[name]["build"] for name in PYTHON_SERVICES]
    assert all(build == builds[0] for build in builds)
    images = {services[name].get("image") for name in PYTHON_SERVICES}
    assert len(images) == 1
    # Written once, through a YAML anchor, not copied into every service.
    assert COMPOSE_FILE.read_text(encoding="utf-8").count("build:") == 1


@pytest.mark.parametrize("name", API_PROCESSES)
def test_api_processes_see_only_the_api_database(services: dict[str, Any], name: str) -> None:
    env = environment(services[name])
    url = urlsplit(env["API_DATABASE_URL"])
    assert url.scheme.startswith("postgresql")
    assert (url.hostname, url.port, url.path) == ("postgres-api", 5432, "/budget_api")
    assert (url.username, url.password) == ("budget", "budget")
    assert "NOTIFY_DATABASE_URL" not in env
    assert "JWT_PRIVATE_KEY_FILE" in env


@pytest.mark.parametrize("name", NOTIFY_PROCESSES)
def test_notify_processes_see_only_the_notifications_database(
    services: dict[str, Any], name: str
) -> None:
    env = environment(services[name])
    url = urlsplit(env["NOTIFY_DATABASE_URL"])
    assert url.scheme.startswith("postgresql")
    assert (url.hostname, url.port, url.path) == (
        "postgres-notifications",
        5432,
        "/budget_notifications",
    )
    assert "API_DATABASE_URL" not in env
    # Only api_app signs tokens. The notifications side never gets the private key.
    assert "JWT_PRIVATE_KEY_FILE" not in env
    assert "TELEGRAM_BOT_TOKEN" in env
    assert "TELEGRAM_API_URL" in env


@pytest.mark.parametrize("name", PYTHON_SERVICES)
def test_shared_python_environment(services: dict[str, Any], name: str) -> None:
    env = environment(services[name])
    assert env["APP_ENV"] == "production"
    assert env["BROKER_URL"] == f"redis://:{REQUIRED_REDIS_PASSWORD}@redis:6379/0"
    assert env["JWT_PUBLIC_KEY_FILE"]


@pytest.mark.parametrize("name", PYTHON_SERVICES)
def test_jwt_key_files_come_from_a_read_only_mount(services: dict[str, Any], name: str) -> None:
    service = services[name]
    env = environment(service)
    service_mounts = mounts(service)
    for variable in ("JWT_PRIVATE_KEY_FILE", "JWT_PUBLIC_KEY_FILE"):
        if variable not in env:
            continue
        path = env[variable]
        covering = [
            m for m in service_mounts if path == m.target or path.startswith(m.target + "/")
        ]
        assert covering, f"{name}: {variable}={path} is not inside any mount"
        for mount in covering:
            assert mount.type == "bind"
            assert mount.read_only
            assert mount.source.removeprefix("./").startswith("instance/keys")
    if name in NOTIFY_PROCESSES:
        # Only the public half is mounted, not the whole key directory.
        assert all(m.source.endswith(".pem") for m in service_mounts if m.type == "bind")


@pytest.mark.parametrize(
    ("name", "path"), [("api", "/ready"), ("notifications", "/api/notifications/ready")]
)
def test_web_healthchecks_use_python(services: dict[str, Any], name: str, path: str) -> None:
    test = services[name]["healthcheck"]["test"]
    assert test[:3] == ["CMD", "python", "-c"]
    script = test[3]
    assert "urllib.request" in script
    assert f"http://127.0.0.1:8000{path}" in script
    assert "curl" not in " ".join(test)
    compile(script, "<healthcheck>", "exec")  # the one-liner is valid Python


def test_gateway(services: dict[str, Any]) -> None:
    gateway = services["gateway"]
    assert gateway["image"] == "nginx:1.27-alpine"
    assert "8080:8080" in [str(port) for port in gateway["ports"]]
    config = [m for m in mounts(gateway) if m.target == "/etc/nginx/nginx.conf"]
    assert len(config) == 1
    assert config[0].read_only
    assert config[0].source.removeprefix("./") == "deploy/nginx.conf"
    assert (ROOT / config[0].source).is_file()
    assert {"api", "notifications"} <= set(depends_on(gateway))


# --------------------------------------------------------------------------------------------
# deploy/nginx.conf: a small parser for nginx's directive syntax
# --------------------------------------------------------------------------------------------

_NGINX_ESCAPES = {"n": "\n", "t": "\t", "r": "\r"}


def _nginx_tokens(text: str) -> Iterator[str]:
    i = 0
    while i < len(text):
        char = text[i]
        if char.isspace():
            i += 1
        elif char == "#":
            i = text.find("\n", i) if "\n" in text[i:] else len(text)
        elif char in "{};":
            yield char
            i += 1
        elif char in "\"'":
            value = []
            i += 1
            while text[i] != char:
                if text[i] == "\\":
                    i += 1
                    value.append(_NGINX_ESCAPES.get(text[i], text[i]))
                else:
                    value.append(text[i])
                i += 1
            yield "".join(value)
            i += 1
        else:
            start = i
            while i < len(text) and not text[i].isspace() and text[i] not in "{};":
                i += 1
            yield text[start:i]


@dataclass
class Directive:
    name: str
    args: list[str]
    block: list[Directive] | None = None

    def children(self, name: str) -> list[Directive]:
        return [child for child in self.block or [] if child.name == name]

    def child(self, name: str) -> Directive:
        found = self.children(name)
        assert len(found) == 1, f"expected one {name!r} in {self.name} {self.args}"
        return found[0]


@dataclass
class _Parser:
    tokens: list[str]
    position: int = field(default=0)

    def parse_block(self, closing: bool) -> list[Directive]:
        directives: list[Directive] = []
        words: list[str] = []
        while self.position < len(self.tokens):
            token = self.tokens[self.position]
            self.position += 1
            if token == ";":
                directives.append(Directive(words[0], words[1:]))
                words = []
            elif token == "{":
                directives.append(Directive(words[0], words[1:], self.parse_block(closing=True)))
                words = []
            elif token == "}":
                if not closing or words:
                    raise ValueError("unbalanced '}' in nginx.conf")
                return directives
            else:
                words.append(token)
        if closing or words:
            raise ValueError("unterminated block or directive in nginx.conf")
        return directives


def parse_nginx(text: str) -> Directive:
    return Directive("main", [], _Parser(list(_nginx_tokens(text))).parse_block(closing=False))


@pytest.fixture(scope="module")
def nginx() -> Directive:
    return parse_nginx(NGINX_CONF.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def server(nginx: Directive) -> Directive:
    return nginx.child("http").child("server")


def upstream_of(location: Directive) -> str:
    """The proxy_pass URL of a location, with `set $var ...` variables resolved."""
    target = location.child("proxy_pass").args[0]
    if target.startswith("$"):
        assignments = {d.args[0]: d.args[1] for d in location.children("set")}
        target = assignments[target]
    return target


def route(server: Directive, path: str) -> str:
    """nginx's location choice for the prefix and exact locations used in the gateway."""
    locations = server.children("location")
    assert all(len(loc.args) == 1 or loc.args[0] == "=" for loc in locations), (
        "only prefix and exact locations are simulated. Extend route() for regex locations"
    )
    for location in locations:
        if location.args == ["=", path]:
            return upstream_of(location)
    prefixes = [loc for loc in locations if len(loc.args) == 1 and path.startswith(loc.args[0])]
    return upstream_of(max(prefixes, key=lambda loc: len(loc.args[0])))


def test_nginx_has_events_and_http(nginx: Directive) -> None:
    assert nginx.child("events").block is not None
    assert nginx.child("http").block is not None


def test_nginx_location_blocks_route_to_the_right_upstreams(server: Directive) -> None:
    assert server.child("listen").args[0] == "8080"
    by_prefix = {tuple(loc.args): loc for loc in server.children("location")}
    assert upstream_of(by_prefix[("/api/notifications/",)]) == "http://notifications:8000"
    assert upstream_of(by_prefix[("/",)]) == "http://api:8000"

    routes = {
        "/api/notifications/health": "http://notifications:8000",
        "/api/notifications/ready": "http://notifications:8000",
        "/api/notifications": "http://notifications:8000",
        "/api/notificationsX": "http://api:8000",
        "/health": "http://api:8000",
        "/ready": "http://api:8000",
        "/api/transactions": "http://api:8000",
    }
    for path, upstream in routes.items():
        assert route(server, path) == upstream, path


def test_nginx_proxy_headers_and_limits(nginx: Directive) -> None:
    http = nginx.child("http")
    headers = {d.args[0].lower(): d.args[1] for d in http.children("proxy_set_header")}
    assert headers["host"] == "$host"
    assert headers["x-forwarded-for"] == "$proxy_add_x_forwarded_for"
    assert headers["x-forwarded-proto"] == "$scheme"
    assert http.child("client_max_body_size").args == ["1m"]
    for timeout in ("proxy_connect_timeout", "proxy_read_timeout", "proxy_send_timeout"):
        assert http.child(timeout).args

    # X-Request-ID: the client's id when it sent a sane one, nginx's $request_id otherwise.
    request_id = headers["x-request-id"]
    (mapping,) = [m for m in http.children("map") if m.args[1] == request_id]
    assert mapping.args[0] == "$http_x_request_id"
    entries = {entry.name: entry.args[0] for entry in mapping.block or []}
    assert entries.pop("default") == "$request_id"

    def forwarded(client_value: str) -> str:
        for pattern, value in entries.items():
            if pattern.startswith("~") and re.search(pattern.lstrip("~*"), client_value):
                return value
            if pattern == client_value:
                return value
        return "$request_id"

    assert forwarded("") == "$request_id"
    assert forwarded("3f2c8e0a-41d7-4d8e-9a55-0d9b3e0e7c11") == "$http_x_request_id"
    assert forwarded('evil"\n{"forged":1}') == "$request_id"
    assert forwarded("x" * 500) == "$request_id"


def test_nginx_hides_the_metrics_endpoints(server: Directive) -> None:
    """Prometheus scrapes the services directly; from outside /metrics does not exist."""
    locations = {tuple(loc.args): loc for loc in server.children("location")}
    for path in ("/metrics", "/api/notifications/metrics"):
        assert locations[("=", path)].child("return").args == ["404"]
    answered_404 = [e for e in server.children("error_page") if "404" in e.args[:-1]]
    assert answered_404, "a 404 must get the JSON body too"


def test_nginx_errors_are_json(server: Directive) -> None:
    locations = {tuple(loc.args): loc for loc in server.children("location")}
    bodies: dict[int, dict[str, object]] = {}
    for error_page in server.children("error_page"):
        *codes, target = error_page.args
        location = locations[(target,) if target.startswith("@") else ("=", target)]
        assert location.child("default_type").args == ["application/json"]
        status, body = location.child("return").args
        parsed = json.loads(body)
        assert parsed["code"] == int(status)
        assert set(parsed) == {"code", "status", "message"}
        for code in codes:
            if not code.startswith("="):
                bodies[int(code)] = parsed
    assert bodies[502] == {"code": 502, "status": "Bad Gateway", "message": "upstream unavailable"}
    assert bodies[504]["code"] == 504
    assert {400, 413, 500, 503} <= set(bodies)


# --------------------------------------------------------------------------------------------
# gunicorn.conf.py
# --------------------------------------------------------------------------------------------

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
