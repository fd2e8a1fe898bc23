"""compose.yml and deploy/nginx.conf, read as data: what they must get right for the system.

Database per service (each group of processes sees only its own database, only api_app holds
the signing key), start order (nothing before its migration, nothing before a healthy
dependency), one image for every Python process, and the gateway's routing with JSON errors.
The Compose CLI validates the file as well (deploy/ci/engine.sh installs it; .ci/run runs it).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml
from flask import Flask

ROOT = Path(__file__).resolve().parent.parent
COMPOSE_FILE = ROOT / "compose.yml"
NGINX_CONF = ROOT / "deploy" / "nginx.conf"

MIGRATIONS = {"API_DATABASE_URL": "api-migrate", "NOTIFY_DATABASE_URL": "notifications-migrate"}
DATABASES = {
    "API_DATABASE_URL": "@postgres-api:5432/budget_api",
    "NOTIFY_DATABASE_URL": "@postgres-notifications:5432/budget_notifications",
}
# Celery beat builds neither app: it only sends the scheduled tasks' messages.
SCHEDULER = "beat"


@pytest.fixture(scope="module")
def services() -> dict[str, dict[str, Any]]:
    document = yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))
    found: dict[str, dict[str, Any]] = document["services"]
    return found


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


def python_services(services: Mapping[str, Any]) -> dict[str, dict[str, str]]:
    """Every process built from this repository, by name, with its environment."""
    return {name: environment(spec) for name, spec in services.items() if "build" in spec}


def start_order_problems(services: Mapping[str, Any]) -> list[str]:
    """What `up` would get wrong: a dependency that is not defined, a wait for a health check
    that does not exist, a process that may start before its database is migrated."""
    problems = []
    for name, service in services.items():
        for target, condition in depends_on(service).items():
            if target not in services:
                problems.append(f"{name} depends on undefined {target}")
            elif condition == "service_healthy" and "healthcheck" not in services[target]:
                problems.append(f"{name} waits for {target} to be healthy; it has no check")
    for name, env in python_services(services).items():
        if "tools" in services[name].get("profiles", []):
            continue  # an operator's command, run by hand against a running stack
        for variable, migration in MIGRATIONS.items():
            if variable in env and name != migration:
                condition = depends_on(services[name]).get(migration)
                if condition != "service_completed_successfully":
                    problems.append(f"{name} may start before {migration} has finished")
    return problems


def test_compose_cli_accepts_the_file() -> None:
    docker = shutil.which("docker")
    assert docker is not None, "no docker CLI: run deploy/ci/engine.sh (as root) to install it"
    version = subprocess.run([docker, "compose", "version"], capture_output=True, timeout=60)
    assert version.returncode == 0, "no Compose v2: run deploy/ci/engine.sh (as root)"
    environ = {key: value for key, value in os.environ.items() if key != "TELEGRAM_BOT_TOKEN"}
    environ |= {"TELEGRAM_BOT_USERNAME": "budget_bot", "TELEGRAM_WEBHOOK_SECRET": "secret"}

    def config(**env: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [docker, "compose", "--file", str(COMPOSE_FILE), "config", "--quiet"],
            capture_output=True, text=True, timeout=120, cwd=ROOT, env={**environ, **env},
        )  # fmt: skip

    result = config(TELEGRAM_BOT_TOKEN="1:token")
    assert result.returncode == 0, result.stderr
    # Without a required setting the stack does not start at all.
    unset = config()
    assert unset.returncode != 0
    assert "TELEGRAM_BOT_TOKEN" in unset.stderr


ACL_FILE = ROOT / "deploy" / "redis" / "users.acl"
# What each process sends and consumes (event_contract.TASK_SIGNERS): the keys it holds.
SIGNING_KEYS = {
    "api": {"EVENTS"},
    "relay": {"EVENTS"},
    "notifications": {"BOT_COMMANDS", "DELIVERIES"},
    "worker": {"EVENTS", "DELIVERIES", "NOTIFY_JOBS"},
    # compose.small.yml runs beat as one of its threads.
    "api-worker": {"EVENTS", "BOT_COMMANDS", "API_JOBS", "NOTIFY_JOBS"},
    "beat": {"API_JOBS", "NOTIFY_JOBS"},
}


def acl_users() -> dict[str, str]:
    lines = ACL_FILE.read_text(encoding="utf-8").splitlines()
    return {line.split()[1]: line for line in lines if line.startswith("user ")}


def test_each_process_type_is_a_broker_user_of_its_own_with_a_password_from_a_file(
    services: dict[str, dict[str, Any]],
) -> None:
    redis = services["redis"]
    command = redis["command"]
    assert command[command.index("--aclfile") + 1] == "/run/secrets/redis_users_acl"
    assert "redis_users_acl" in redis["secrets"]
    assert redis["healthcheck"]["test"][1:4] == ["redis-cli", "--user", "healthcheck"]
    users = acl_users()
    assert users["default"] == "user default off"
    seen = {}
    for name, env in python_services(services).items():
        url = env["BROKER_URL"]
        match = re.fullmatch(r"redis://([\w-]+)@redis:6379/0", url)
        assert match, f"{name}: no password in BROKER_URL, a user of its own: {url}"
        user = match.group(1)
        keys = {k.removeprefix("BROKER_SIGNING_KEY_").removesuffix("_FILE")
                for k in env if k.startswith("BROKER_SIGNING_KEY_")}  # fmt: skip
        assert keys == SIGNING_KEYS.get(name, set()), name
        for key in keys:
            secret = f"broker_signing_key_{key.lower()}"
            assert env[f"BROKER_SIGNING_KEY_{key}_FILE"] == f"/run/secrets/{secret}", name
            assert secret in services[name]["secrets"], name
        if user == "nobody":  # the migrations and the bot's tools never use the broker
            assert name not in SIGNING_KEYS, name
            assert "BROKER_PASSWORD_FILE" not in env, name
            assert user not in users
            continue
        assert user in users, f"{name}'s user {user} is not in {ACL_FILE.name}"
        assert env["BROKER_PASSWORD_FILE"] == f"/run/secrets/redis_{user}_password", name
        assert f"redis_{user}_password" in services[name]["secrets"], name
        assert seen.setdefault(user, name) == name, f"{name} shares {user} with {seen[user]}"
    assert set(seen.values()) == set(SIGNING_KEYS)


def test_everything_starts_in_order(services: dict[str, dict[str, Any]]) -> None:
    assert start_order_problems(services) == []
    assert {"api", "notifications", "worker", "relay", "gateway"} <= set(services)


def test_start_order_check_can_fail() -> None:
    broken = {
        "api": {"build": ".", "environment": {"API_DATABASE_URL": "x"},
                "depends_on": {"db": {"condition": "service_healthy"}, "ghost": None}},
        "db": {"image": "postgres:17"},
    }  # fmt: skip
    assert start_order_problems(broken) == [
        "api waits for db to be healthy; it has no check",
        "api depends on undefined ghost",
        "api may start before api-migrate has finished",
    ]


def test_each_process_sees_only_its_own_database(services: dict[str, dict[str, Any]]) -> None:
    processes = python_services(services)
    assert not [name for name in environment(services[SCHEDULER]) if "DATABASE" in name]
    for name, env in processes.items():
        if name == SCHEDULER:
            continue
        given = [variable for variable in DATABASES if variable in env]
        assert len(given) == 1, f"{name} must see exactly one database: {given}"
        (variable,) = given
        assert DATABASES[variable] in env[variable], f"{name}: {env[variable]}"
        # Only api_app's web process signs access tokens: only it holds the private key.
        assert ("JWT_PRIVATE_KEY_FILE" in env) == (name == "api"), name
        mounted = {volume["source"] for volume in services[name].get("volumes", [])}
        assert ("./instance/keys" in mounted) == (name == "api"), name
        assert "./instance/keys/jwt_private.pem" not in mounted, name
    assert {"api", "notifications", "worker", "relay", "api-worker"} <= set(processes)


def test_one_beat_runs_every_periodic_job_and_no_shell_loop_is_left(
    services: dict[str, dict[str, Any]],
) -> None:
    def command(name: str) -> list[str]:
        return [str(part) for part in services[name]["command"]]

    assert command(SCHEDULER)[:4] == ["celery", "-A", "scheduler.beat", "beat"]
    assert depends_on(services[SCHEDULER]) == {"redis": "service_healthy"}
    # The api's jobs run in a worker of the api, on its own queue.
    assert command("api-worker")[:6] == ["celery", "-A", "api_worker", "worker", "-Q", "api_jobs"]
    assert "NOTIFY_DATABASE_URL" not in environment(services["api-worker"])
    assert not [name for name in services if name in ("token-purge", "month-close", "recurring")]
    for name in services:
        assert "sleep" not in " ".join(map(str, services[name].get("command") or [])), name


def test_every_python_process_runs_one_image(services: dict[str, dict[str, Any]]) -> None:
    builds = [spec["build"] for spec in services.values() if "build" in spec]
    assert len(builds) >= 4
    assert all(build == builds[0] for build in builds)


# --------------------------------------------------------------------------------------------
# deploy/nginx.conf: /api/notifications/... to notify_app, everything else to api_app
# --------------------------------------------------------------------------------------------

# A location block whose body may hold quoted strings with braces (the JSON error bodies).
LOCATION = re.compile(r"location\s+(=\s+)?(\S+)\s*\{((?:'[^']*'|\"[^\"]*\"|[^{}'\"])*)\}")


def nginx_directives() -> str:
    """deploy/nginx.conf without its comments."""
    return re.sub(r"#[^\n]*", "", NGINX_CONF.read_text(encoding="utf-8"))


def locations() -> dict[tuple[bool, str], str]:
    """(exact?, path) -> the block's body, for the `location` blocks of the gateway."""
    found = LOCATION.findall(nginx_directives())
    return {(bool(exact), path): body for exact, path, body in found}


def upstream(body: str) -> str:
    """The URL a location proxies to, through its `set $variable ...` if it uses one."""
    (target,) = re.findall(r"proxy_pass\s+(\S+);", body)
    assigned = dict(re.findall(r"set\s+(\$\w+)\s+(\S+);", body))
    return assigned.get(target, target)


def route(path: str) -> str:
    """nginx's choice for exact and prefix locations: exact first, else the longest prefix."""
    blocks = locations()
    if (True, path) in blocks:
        return upstream(blocks[(True, path)])
    prefix = max((p for exact, p in blocks if not exact and path.startswith(p)), key=len)
    return upstream(blocks[(False, prefix)])


@pytest.mark.parametrize(
    ("path", "service"),
    [
        ("/api/notifications/health", "http://notifications:8000"),
        ("/api/notifications", "http://notifications:8000"),
        ("/api/notificationsX", "http://api:8000"),
        ("/health", "http://api:8000"),
        ("/api/transactions", "http://api:8000"),
    ],
)
def test_the_gateway_routes_like_wsgi_gateway(path: str, service: str) -> None:
    assert route(path) == service


def test_the_gateways_own_errors_are_json() -> None:
    pages = re.findall(r"error_page\s+([^;]+);", nginx_directives())
    blocks = locations()
    answered = set()
    for page in pages:
        *codes, target = page.split()
        status, body = re.findall(r"return\s+(\d+)\s+'(.*?)';", blocks[(True, target)])[0]
        error = json.loads(body.replace("\\n", ""))
        assert (error["code"], "application/json") == (int(status), "application/json")
        assert "default_type application/json" in blocks[(True, target)]
        answered.update(int(code) for code in codes if not code.startswith("="))
    assert {400, 413, 500, 502, 503, 504} <= answered


def test_the_metrics_do_not_exist_from_outside() -> None:
    """Prometheus scrapes the services directly on the compose network."""
    blocks = locations()
    for path in ("/metrics", "/api/notifications/metrics"):
        assert re.fullmatch(r"\s*return\s+404;\s*", blocks[(True, path)]), path
    pages = re.findall(r"error_page\s+([^;]+);", nginx_directives())
    assert any("404" in page.split()[:-1] for page in pages), "a 404 gets the JSON body too"


def test_notify_app_gets_the_webhook_secret_and_the_bot_username(
    services: dict[str, dict[str, Any]],
) -> None:
    """Without the secret the webhook refuses every update (401); without the username the link
    URLs point at a bot that is not the operator's."""
    for name, env in python_services(services).items():
        if "NOTIFY_DATABASE_URL" not in env:
            continue
        for variable in ("TELEGRAM_BOT_TOKEN", "TELEGRAM_BOT_USERNAME", "TELEGRAM_WEBHOOK_SECRET"):
            assert env.get(variable, "").startswith(f"${{{variable}"), (name, variable)


SIZE = re.compile(r"(\d+)([kKmM]?)")


def nginx_bytes(size: str) -> int:
    number, unit = SIZE.fullmatch(size).groups()  # type: ignore[union-attr]
    return int(number) * {"": 1, "k": 1024, "m": 1024 * 1024}[unit.lower()]


def gateway_body_limit(path: str) -> int:
    """client_max_body_size in force for `path`: its location's, else the http block's."""
    blocks = locations()
    if (True, path) in blocks:
        body = blocks[(True, path)]
    else:
        prefix = max((p for exact, p in blocks if not exact and path.startswith(p)), key=len)
        body = blocks[(False, prefix)]
    own = re.findall(r"client_max_body_size\s+(\S+);", body)
    outside = re.findall(r"client_max_body_size\s+(\S+);", LOCATION.sub("", nginx_directives()))
    (size,) = own or outside
    return nginx_bytes(size)


def body_limits(app: Flask) -> dict[str, int]:
    """Path -> the largest body the app takes there, for every route that takes a body."""
    limits = {}
    for rule in app.url_map.iter_rules():
        view = app.view_functions[rule.endpoint]
        view_class = getattr(view, "view_class", None)
        for method in (rule.methods or set()) & {"POST", "PUT", "PATCH"}:
            handler = getattr(view_class, method.lower(), view)
            limit = getattr(handler, "max_body_bytes", app.config["MAX_REQUEST_BODY_BYTES"])
            path = re.sub(r"<(?:[^:>]+:)?([^>]+)>", r"\1", rule.rule)
            limits[path] = max(limit, limits.get(path, 0))
    return limits


def test_the_gateway_takes_the_bodies_each_route_takes(api: Flask, notify: Flask) -> None:
    """A statement of 5 MiB passes nginx to the import, like it passes the app; everything else
    stops at the app's 1 MiB at both."""
    limits = {**body_limits(api), **body_limits(notify)}
    assert limits["/api/transactions/import"] > 5 * 1024 * 1024
    assert {path: gateway_body_limit(path) for path in limits} == limits


def test_the_bots_operator_commands_run_in_compose(services: dict[str, dict[str, Any]]) -> None:
    """`docker compose run --rm notify doctor` (and `... notify set-webhook URL`)."""
    notify = services["notify"]
    assert notify["entrypoint"] == ["flask", "--app", "notify_app", "telegram"]
    assert notify["command"] == ["doctor"]
    assert notify["profiles"] == ["tools"], "never started by `up`"
    broker = ("BROKER_URL", "BROKER_PASSWORD_FILE", "BROKER_SIGNING_KEY_")
    assert {k: v for k, v in environment(notify).items() if not k.startswith(broker)} == {
        k: v for k, v in environment(services["notifications"]).items() if not k.startswith(broker)
    }


def test_every_python_process_runs_read_only_without_capabilities(
    services: dict[str, dict[str, Any]],
) -> None:
    """A compromised process can write nothing but memory and gain no privilege."""
    for name, spec in services.items():
        if "build" not in spec:
            continue
        assert spec["read_only"] is True, name
        assert spec["cap_drop"] == ["ALL"], name
        assert "no-new-privileges:true" in spec["security_opt"], name
        # Paths inside the container, in memory.
        assert {"/tmp", "/tmp/metrics"} <= set(spec["tmpfs"]), name  # noqa: S108


def test_each_service_connects_as_its_own_role_with_a_password_from_a_secret_file(
    services: dict[str, dict[str, Any]],
) -> None:
    """The superuser is the operator's; a service's role owns its database and nothing else
    (deploy/postgres/app-role.sh), and no password is in an environment variable."""
    for database, short in (("budget_api", "api"), ("budget_notifications", "notifications")):
        server = services[f"postgres-{short}"]
        env = environment(server)
        assert "POSTGRES_PASSWORD" not in env
        assert env["POSTGRES_PASSWORD_FILE"] == f"/run/secrets/{short}_superuser_password"
        assert (env["POSTGRES_USER"], env["APP_DB_USER"]) == ("postgres", database)
        assert (
            "./deploy/postgres/app-role.sh:/docker-entrypoint-initdb.d/app-role.sh:ro"
            in (server["volumes"])
        )
    for name, env in python_services(services).items():
        for variable, secret in (("API_DATABASE_URL", "api_pgpass"),
                                 ("NOTIFY_DATABASE_URL", "notifications_pgpass")):  # fmt: skip
            if variable in env:
                assert re.match(r"postgresql://budget_\w+@", env[variable]), (name, env[variable])
                assert env["PGPASSFILE"] == f"/run/secrets/{secret}", name
                pgpass = [s for s in services[name]["secrets"] if s.endswith("pgpass")]
                assert pgpass == [secret], name


def test_the_readmes_quick_start_is_what_ci_runs() -> None:
    """`make compose-test` makes the secrets and brings the stack up with the very commands the
    README tells an operator to type (the Telegram stand-in comes in through COMPOSE_FILE)."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    start = readme.index("## Running with compose")
    quick_start = readme[readme.index("```bash", start) : readme.index("```\n", start + 1)]
    ci = (ROOT / "deploy" / "ci" / "compose-test.sh").read_text(encoding="utf-8").splitlines()
    for command in ("deploy/make-secrets.sh", "docker compose up --build --detach --wait"):
        assert command in ci, command
        assert command in quick_start.splitlines(), command
