"""Real parts for the tests: PostgreSQL with two throwaway databases, Redis, a Celery worker.

TEST_POSTGRES_URL (a superuser URL) and TEST_REDIS_URL name servers to use; without them the
embedded engines of devstack are started, so the suite runs on a machine with only Python. A
test that needs a server it cannot reach fails and says which server, never skips.

Tiers. Every test carries exactly one of four markers, put there by
`pytest_collection_modifyitems` below, from the fixtures the test uses (FIXTURE_TIERS):
    unit         no server: pure functions, files read as data, in-process stand-ins
    integration  PostgreSQL and/or Redis (the `api`, `notify`, `redis_url`, ... fixtures), but
                 no process of the system
    e2e          real processes of the system: Celery workers, the api worker, gunicorn
                 (`celery_worker`, `api_worker`, `gunicorn_gateway`)
    chaos        kills and restarts servers or processes
A module whose tests start or kill processes by themselves (no fixture shows it) raises its
tier with `pytestmark = pytest.mark.e2e` (or `chaos`); a mark below what the fixtures say, or
two marks, fails the collection. `make test` runs every tier, `make test-fast` (`-m "unit or
integration"`) what needs no process of the system.

One helper per need:
    tests/users.py       SignedInUser: a user and the requests they make (fixtures `make_user`,
                         `sign_up`, `register`; `register_through(client)`; LiveClient for HTTP)
    tests/eventually.py  eventually(probe, what, ...): wait for observable state, bounded
    tests/parallel.py    in_parallel(*actions): run things at the same moment
    tests/processes.py   launch(name, environment, log_dir, *options): a process of the system
                         with `make run`'s command line
    tests/pipeline.py    wait_until_broker_idle(redis_url): "nothing more comes", observed
"""

from __future__ import annotations

import os
import secrets
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg2
import psycopg2.errors
import pytest
import redis
from argon2 import PasswordHasher
from flask import Flask
from flask.testing import FlaskClient
from psycopg2 import sql
from sqlalchemy.engine import make_url
from werkzeug.test import Client

from api_app.auth.passwords import PASSWORD_HASHER_CONFIG
from devstack.servers import (
    drop_database,
    ensure_database,
    start_postgres,
    start_redis,
)
from event_contract import SIGNERS, signing_key_setting
from tests.processes import LaunchedProcess, launch
from tests.telegram_standin import TelegramStandIn
from tests.users import (
    PASSWORD,
    SignedInUser,
    add_personal_ledger,
    register_through,
    unique_email,
)
from wsgi import Gateway

REPO_ROOT = Path(__file__).resolve().parent.parent
# Argon2's cheapest parameters for the suite's api apps, which check thousands of passwords to
# test everything but the hash's cost (tests/auth/test_register_and_login.py checks production's).
CHEAP_PASSWORD_HASHING = {
    PASSWORD_HASHER_CONFIG: PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
}
TELEGRAM_WEBHOOK_SECRET = "test-webhook-secret"

TIERS = ("unit", "integration", "e2e", "chaos")  # lightest first
# The fixtures that decide a test's tier; the heaviest one it uses (directly or not) wins.
FIXTURE_TIERS = {
    "postgres_superuser_url": "integration",
    "redis_url": "integration",
    "celery_worker": "e2e",
    "api_worker": "e2e",
    "gunicorn_gateway": "e2e",
    # Both services on a real HTTP server in the test's process, driven by schemathesis's.
    "live_gateway": "e2e",
}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Give every test its one tier (see the module docstring)."""
    for item in items:
        fixtures = getattr(item, "fixturenames", ())
        derived = max(
            (TIERS.index(tier) for name, tier in FIXTURE_TIERS.items() if name in fixtures),
            default=0,
        )
        declared = [TIERS.index(mark.name) for mark in item.iter_markers() if mark.name in TIERS]
        if len(declared) > 1 or (declared and declared[0] < derived):
            raise pytest.UsageError(
                f"{item.nodeid}: tier marks {[TIERS[d] for d in declared]}, but its fixtures make"
                f" it {TIERS[derived]}; declare one tier, and never one below its fixtures'"
            )
        if not declared:
            item.add_marker(TIERS[derived])


def database_url(superuser_url: str, database: str) -> str:
    return make_url(superuser_url).set(database=database).render_as_string(hide_password=False)


def require_postgres(url: str) -> None:
    try:
        psycopg2.connect(url, connect_timeout=5).close()
    except psycopg2.OperationalError as error:
        pytest.fail(f"PostgreSQL is needed by this test and unreachable at {url}: {error}")


def require_redis(url: str) -> None:
    try:
        redis.Redis.from_url(url, socket_connect_timeout=5).ping()
    except redis.RedisError as error:
        pytest.fail(f"Redis is needed by this test and unreachable at {url}: {error}")


@pytest.fixture(scope="session")
def postgres_superuser_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    url = os.environ.get("TEST_POSTGRES_URL")
    if url:
        require_postgres(url)
        yield url
        return
    server = start_postgres(tmp_path_factory.mktemp("postgres"), cleanup="delete")
    require_postgres(server.superuser_url)
    yield server.superuser_url
    server.stop()


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    url = os.environ.get("TEST_REDIS_URL")
    if url:
        url = _this_workers_redis_database(url)
        require_redis(url)
        # The suite owns this Redis database: start from an empty queue.
        redis.Redis.from_url(url).flushdb()
        yield url
        return
    server = start_redis(tmp_path_factory.mktemp("redis"), persistence=False)
    require_redis(server.url)
    yield server.url
    server.stop()


REDIS_DATABASES = 16


def _this_workers_redis_database(url: str) -> str:
    """TEST_REDIS_URL's database for this process. Under pytest-xdist (`make test-fast`) worker
    gwN takes the Nth database below it, so no worker sees another's queues or rate limits (each
    makes PostgreSQL databases of its own anyway)."""
    worker = int(os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw"))
    parts = urlsplit(url)
    database = (int(parts.path.strip("/") or 0) - worker) % REDIS_DATABASES
    return urlunsplit(parts._replace(path=f"/{database}"))


@dataclass(frozen=True)
class ServiceDatabases:
    api_url: str
    notify_url: str


@pytest.fixture(scope="session")
def test_databases(postgres_superuser_url: str) -> Iterator[ServiceDatabases]:
    """One throwaway database per service, so a run never touches real data or another run."""
    suffix = secrets.token_hex(4)
    api_name, notify_name = f"budget_api_test_{suffix}", f"budget_notifications_test_{suffix}"
    for name in (api_name, notify_name):
        ensure_database(postgres_superuser_url, name)
        _skip_waiting_for_the_disk(postgres_superuser_url, name)
    yield ServiceDatabases(
        api_url=database_url(postgres_superuser_url, api_name),
        notify_url=database_url(postgres_superuser_url, notify_name),
    )
    for name in (api_name, notify_name):
        drop_database(postgres_superuser_url, name)


def _skip_waiting_for_the_disk(superuser_url: str, database: str) -> None:
    """A commit in a throwaway database need not wait for its WAL to reach the disk: nothing in
    it outlives the run (a crash still leaves it consistent, only without its last commits).
    On a shared machine's disk that wait is most of what a small commit costs."""
    with psycopg2.connect(superuser_url) as connection, connection.cursor() as cursor:
        cursor.execute(f'ALTER DATABASE "{database}" SET synchronous_commit = off')
    connection.close()


@pytest.fixture(scope="session")
def signing_key_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    from service_kit.signing_keys import development_key_pair

    key_dir = tmp_path_factory.mktemp("keys")
    development_key_pair(key_dir)
    return key_dir / "jwt_private.pem", key_dir / "jwt_public.pem"


TELEGRAM_TEST_BOT_TOKEN = "123456:TEST-bot-token"
NOTIFY_CURSOR_SECRET = "test-notify-cursor-secret"
# One key per signer (event_contract.TASK_SIGNERS), as make run and compose give them.
BROKER_SIGNING_KEYS = {
    signing_key_setting(signer): f"test-{signer}-key" for signer in sorted(SIGNERS)
}


@pytest.fixture(scope="session")
def telegram_session() -> Iterator[TelegramStandIn]:
    """The "Telegram" that the session's worker talks to (see the `telegram` fixture)."""
    with TelegramStandIn() as standin:
        yield standin


@pytest.fixture
def telegram(telegram_session: TelegramStandIn) -> TelegramStandIn:
    """The session's Telegram stand-in, with nothing recorded or scripted yet."""
    telegram_session.clear()
    telegram_session.default_delay_seconds = 0.0
    return telegram_session


@pytest.fixture(scope="session")
def service_environment(
    test_databases: ServiceDatabases,
    redis_url: str,
    signing_key_files: tuple[Path, Path],
    telegram_session: TelegramStandIn,
) -> Iterator[dict[str, str]]:
    """The environment both services and the worker read, also handed to subprocesses."""
    private_key, public_key = signing_key_files
    values = {
        "APP_ENV": "testing",
        "API_DATABASE_URL": test_databases.api_url,
        "NOTIFY_DATABASE_URL": test_databases.notify_url,
        "BROKER_URL": redis_url,
        "JWT_PRIVATE_KEY_FILE": str(private_key),
        "JWT_PUBLIC_KEY_FILE": str(public_key),
        "NOTIFY_CURSOR_SECRET": NOTIFY_CURSOR_SECRET,
        "TELEGRAM_WEBHOOK_SECRET": TELEGRAM_WEBHOOK_SECRET,
        # The suite signs up many users from 127.0.0.1; the rate-limit tests set their own limits.
        "AUTH_RATE_LIMIT_PER_ADDRESS": "10000 per minute",
        "AUTH_RATE_LIMIT_PER_EMAIL": "10000 per minute",
        "AUTH_RATE_LIMIT_PER_ACCOUNT": "10000 per minute",
        "SESSION_RATE_LIMIT_PER_ADDRESS": "10000 per minute",
        "WRITE_RATE_LIMIT_PER_USER": "100000 per minute",
        "TEST_MESSAGE_RATE_LIMIT": "100000 per minute",
        "TELEGRAM_LINK_RATE_LIMIT": "100000 per minute",
        "TELEGRAM_API_URL": telegram_session.url,
        "TELEGRAM_BOT_TOKEN": TELEGRAM_TEST_BOT_TOKEN,
        # The suite sends as every signer and runs every worker: it holds every key.
        **BROKER_SIGNING_KEYS,
    }
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    yield dict(os.environ)
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


def _migrate(app: Flask) -> None:
    from flask_migrate import upgrade

    with app.app_context():
        upgrade()


@pytest.fixture(scope="session")
def api_app_session(service_environment: dict[str, str]) -> Flask:
    import api_app

    app = api_app.create_app({"TESTING": True, **CHEAP_PASSWORD_HASHING})
    _migrate(app)
    return app


@pytest.fixture(scope="session")
def notify_app_session(service_environment: dict[str, str]) -> Flask:
    import notify_app

    app = notify_app.create_app({"TESTING": True})
    _migrate(app)
    return app


EMPTYING_ATTEMPTS = 5


def _empty_all_tables(database_url_: str) -> None:
    # The session's workers (the api worker's jobs, a command still finishing) may hold row locks
    # on these tables, so PostgreSQL can pick the emptying as a deadlock's victim. Nothing was
    # emptied then (one transaction): try again.
    for attempt in range(1, EMPTYING_ATTEMPTS + 1):
        try:
            _delete_all_rows(database_url_)
            return
        except psycopg2.errors.DeadlockDetected:
            if attempt == EMPTYING_ATTEMPTS:
                raise
            time.sleep(0.2 * attempt)


def _delete_all_rows(database_url_: str) -> None:
    """DELETE, not TRUNCATE: a test leaves a few rows, and deleting them costs a tenth of what
    TRUNCATE's new files per table cost (measured: about 25 ms against 150 ms a test). With
    the foreign keys' triggers off for this session, the order of the tables does not matter;
    every DELETE goes in one round trip (a database has some forty tables)."""
    with psycopg2.connect(database_url_) as connection, connection.cursor() as cursor:
        cursor.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
            "AND tablename <> 'alembic_version'"
        )
        tables = [table for (table,) in cursor.fetchall()]
        deletes = [sql.SQL("DELETE FROM {}").format(sql.Identifier(table)) for table in tables]
        cursor.execute(
            sql.SQL("; ").join([sql.SQL("SET session_replication_role = replica"), *deletes])
        )
    connection.close()


@pytest.fixture
def api(api_app_session: Flask, test_databases: ServiceDatabases) -> Flask:
    """The api app over an empty budget_api."""
    _empty_all_tables(test_databases.api_url)
    return api_app_session


@pytest.fixture
def notify(notify_app_session: Flask, test_databases: ServiceDatabases) -> Flask:
    """The notifications app over an empty budget_notifications."""
    _empty_all_tables(test_databases.notify_url)
    return notify_app_session


@pytest.fixture
def api_client(api: Flask) -> FlaskClient:
    return api.test_client()


@pytest.fixture
def notify_client(notify: Flask) -> FlaskClient:
    return notify.test_client()


@pytest.fixture(scope="session")
def celery_worker(
    service_environment: dict[str, str],
    api_app_session: Flask,
    notify_app_session: Flask,
    redis_url: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[LaunchedProcess]:
    """A real `celery worker` process consuming the notifications queue."""
    worker = launch("worker", service_environment, tmp_path_factory.mktemp("worker"))
    try:
        worker.wait_until_consuming(redis_url)
        yield worker
    finally:
        worker.stop()


@pytest.fixture(scope="session")
def api_worker(
    service_environment: dict[str, str],
    api_app_session: Flask,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[LaunchedProcess]:
    """A real `celery -A api_worker worker` process consuming the api_jobs queue (periodic jobs,
    the bot's commands)."""
    worker = launch("api-worker", service_environment, tmp_path_factory.mktemp("api-worker"))
    try:
        worker.wait_until_logged(" ready.")
        yield worker
    finally:
        worker.stop()


@pytest.fixture
def make_user(api: Flask) -> Callable[[], SignedInUser]:
    """A user row made directly, with an access token, talking to the api's test client: for
    tests about what users do, not about how they sign up (those use `sign_up`). No password
    could match, and there is no refresh token."""
    from flask_jwt_extended import create_access_token

    from api_app.extensions import db
    from api_app.models import User

    def make() -> SignedInUser:
        with api.app_context():
            user = User(email=unique_email(), password_hash="unusable")
            db.session.add(user)
            db.session.flush()
            add_personal_ledger(user.id)
            db.session.commit()
            token = create_access_token(identity=str(user.id))
            return SignedInUser(api.test_client(), user.id, user.email, token)

    return make


@pytest.fixture
def sign_up(api_client: FlaskClient) -> Callable[..., SignedInUser]:
    """`sign_up(email=None, password=PASSWORD)`: a new account through the api's POST
    /api/auth/register."""

    def register(email: str | None = None, password: str = PASSWORD) -> SignedInUser:
        return register_through(api_client, email, password)

    return register


@pytest.fixture
def gateway(api: Flask, notify: Flask) -> Client:
    """Both services behind `wsgi.Gateway`, the routing production uses, as one test client."""
    return Client(Gateway(api, notify))


@pytest.fixture
def register(gateway: Client) -> Callable[[], SignedInUser]:
    """A new account through the gateway: its user reaches both services."""
    return lambda: register_through(gateway)


@pytest.fixture(scope="session")
def gunicorn_gateway(
    service_environment: dict[str, str], api_app_session: Flask, notify_app_session: Flask,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[str]:  # fmt: skip
    """The gateway under gunicorn with several worker processes, as deployed: its base URL.

    Separate processes truly run requests at the same time, which one Python process with its
    global interpreter lock hardly does.
    """
    gateway = launch(
        "gateway", service_environment, tmp_path_factory.mktemp("gunicorn"), "--workers", "4"
    )
    try:
        gateway.wait_until_healthy()
        yield gateway.url
    finally:
        gateway.stop()
