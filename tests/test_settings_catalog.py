"""One configuration, checked: settings_catalog.py declares every setting once; the README's
table is generated from it; compose and `make run` give each process what it requires; and a
service started in production without a required setting refuses, naming it."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Mapping
from typing import Any

import pytest
import yaml

import settings_catalog
from devstack.run import CHILD_ENVIRONMENT_DEFAULTS, EXTERNAL_SERVICE_URL_VARIABLES
from tests.conftest import REPO_ROOT
from tests.test_compose import COMPOSE_FILE, environment

SERVICE_OF_DATABASE = {"API_DATABASE_URL": settings_catalog.API,
                       "NOTIFY_DATABASE_URL": settings_catalog.NOTIFY}  # fmt: skip
READ = re.compile(r"""environ\.get\(\s*"([A-Z0-9_]+)"|_read_key\(environ, "([A-Z0-9_]+)"\)""")


def declared() -> set[str]:
    return {name for setting in settings_catalog.SETTINGS for name in setting.names}


def test_the_readme_table_is_the_generated_one() -> None:
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    start = readme.index("| Variable | Read by |")
    table = readme[start : readme.index("\n\n", start) + 1]
    assert table == settings_catalog.markdown_table(), "run: python -m settings_catalog"


def test_every_setting_the_services_read_is_declared() -> None:
    read = set()
    for module in ("api_app/config.py", "notify_app/config.py"):
        for plain, key in READ.findall((REPO_ROOT / module).read_text(encoding="utf-8")):
            read |= {plain} if plain else {key, f"{key}_FILE"}
    assert read - declared() == set()


def compose_problems(services: Mapping[str, Any]) -> list[str]:
    """A required setting a compose process does not get, or gets from an unset shell variable
    (only `${VAR:?...}` stops `up` when the operator forgot it)."""
    problems = []
    for name, spec in services.items():
        if "build" not in spec:
            continue
        env = environment(spec)
        (service,) = [SERVICE_OF_DATABASE[v] for v in SERVICE_OF_DATABASE if v in env] or [None]
        if service is None:
            continue
        services_of_process = {service}
        if "wsgi:api" in spec.get("command", []):
            services_of_process.add(settings_catalog.API_WEB)
        for setting in settings_catalog.SETTINGS:
            if not services_of_process & setting.required_by:
                continue
            given = [n for n in setting.names if env.get(n)]
            if not given:
                problems.append(f"{name} lacks {setting.label}")
            for variable in given:
                for shell in re.findall(r"\$\{(\w+)([^}]*)\}", env[variable]):
                    if not shell[1].startswith(":?"):
                        problems.append(
                            f"{name}: {variable} may be empty (${{{shell[0]}{shell[1]}}})"
                        )
    return problems


def test_compose_gives_every_process_what_it_requires() -> None:
    services = yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))["services"]
    assert compose_problems(services) == []


def test_the_compose_check_can_fail() -> None:
    broken = {
        "notifications": {"build": ".", "environment": {
            "NOTIFY_DATABASE_URL": "postgresql://x", "BROKER_URL": "redis://x",
            "JWT_PUBLIC_KEY_FILE": "/k", "NOTIFY_CURSOR_SECRET_FILE": "/s",
            "TELEGRAM_BOT_TOKEN": "${TELEGRAM_BOT_TOKEN:-}",
            "TELEGRAM_WEBHOOK_SECRET": "${TELEGRAM_WEBHOOK_SECRET:?set it}",
        }},
    }  # fmt: skip
    assert compose_problems(broken) == [
        "notifications: TELEGRAM_BOT_TOKEN may be empty (${TELEGRAM_BOT_TOKEN:-})",
        "notifications lacks `TELEGRAM_BOT_USERNAME`",
    ]


def test_make_run_gives_every_process_what_it_requires() -> None:
    """`make run` runs in development: a required setting it leaves unset must say why that
    is fine there; every other one it sets for every process it starts."""
    assert CHILD_ENVIRONMENT_DEFAULTS["APP_ENV"] == "development"
    unset = [
        setting.label
        for setting in settings_catalog.SETTINGS
        if setting.required_by
        and setting.development_default is None
        and not set(setting.names) <= set(EXTERNAL_SERVICE_URL_VARIABLES)
    ]
    assert unset == []


@pytest.mark.parametrize(
    ("application", "service", "left_out"),
    [
        ("api", "api web", "JWT_PRIVATE_KEY_FILE"),
        ("notify", "notify", "TELEGRAM_WEBHOOK_SECRET"),
        ("notify", "notify", "TELEGRAM_BOT_USERNAME"),
    ],
)
def test_a_service_without_a_required_setting_refuses_to_start_and_names_it(
    service_environment: dict[str, str], application: str, service: str, left_out: str
) -> None:
    complete = {
        **service_environment,
        "APP_ENV": "production",
        "TELEGRAM_BOT_USERNAME": "budget_bot",
    }
    environ = {k: v for k, v in complete.items() if k != left_out}

    def start(env: Mapping[str, str]) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-c", f"import wsgi; wsgi.{application}"],
            cwd=REPO_ROOT, env=dict(env), capture_output=True, text=True, timeout=120,
        )  # fmt: skip

    refused = start(environ)
    assert refused.returncode != 0
    assert f"{service} cannot start in production without: " in refused.stderr
    assert left_out.removesuffix("_FILE") in refused.stderr.splitlines()[-1]
    assert start(complete).returncode == 0, start(complete).stderr


def test_each_process_builds_only_its_own_app(service_environment: dict[str, str]) -> None:
    """compose runs `wsgi:notify` where api_app's settings (its database, the private key) are
    not given; it must not need them."""
    environ = {
        **service_environment,
        "APP_ENV": "production",
        "TELEGRAM_BOT_USERNAME": "budget_bot",
    }
    for api_only in ("API_DATABASE_URL", "JWT_PRIVATE_KEY_FILE"):
        environ.pop(api_only)
    started = subprocess.run(
        [sys.executable, "-c", "import wsgi; wsgi.notify"],
        cwd=REPO_ROOT, env=environ, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert started.returncode == 0, started.stderr


def test_api_apps_processes_that_sign_no_token_start_without_the_private_key(
    service_environment: dict[str, str],
) -> None:
    """compose gives the relay, the api worker and the migrations only the public key: the app
    they build must not need the private one (the web process does, above)."""
    environ = {**service_environment, "APP_ENV": "production"}
    environ.pop("JWT_PRIVATE_KEY_FILE")
    started = subprocess.run(
        [sys.executable, "-c", "import api_app; app = api_app.create_app();"
         " assert not app.config.get('JWT_PRIVATE_KEY'); assert app.config['JWT_PUBLIC_KEY']"],
        cwd=REPO_ROOT, env=environ, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert started.returncode == 0, started.stderr
