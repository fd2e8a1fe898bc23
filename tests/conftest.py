"""Real parts for the tests: PostgreSQL with two throwaway databases, Redis, a Celery worker.

TEST_POSTGRES_URL (a superuser URL) and TEST_REDIS_URL name servers to use; without them the
embedded engines of devstack are started, so the suite runs on a machine with only Python. A
test that needs a server it cannot reach fails and says which server, never skips.
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg2
import psycopg2.errors
import pytest
import redis
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.engine import make_url
from werkzeug.test import Client

from devstack.servers import (
    drop_database,
    ensure_database,
    free_port,
    start_postgres,
    start_redis,
)
from tests.telegram_standin import TelegramStandIn

REPO_ROOT = Path(__file__).resolve().parent.parent
TELEGRAM_WEBHOOK_SECRET = "test-webhook-secret"
GUNICORN_STARTUP_DEADLINE_SECONDS = 60


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
        require_redis(url)
        # The suite owns this Redis database: start from an empty queue.
        redis.Redis.from_url(url).flushdb()
        yield url
        return
    server = start_redis(tmp_path_factory.mktemp("redis"), persistence=False)
    require_redis(server.url)
    yield server.url
    server.stop()


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
    yield ServiceDatabases(
        api_url=database_url(postgres_superuser_url, api_name),
        notify_url=database_url(postgres_superuser_url, notify_name),
    )
    for name in (api_name, notify_name):
        drop_database(postgres_superuser_url, name)


@pytest.fixture(scope="session")
def signing_key_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    from service_kit.signing_keys import development_key_pair

    key_dir = tmp_path_factory.mktemp("keys")
    development_key_pair(key_dir)
    return key_dir / "jwt_private.pem", key_dir / "jwt_public.pem"


TELEGRAM_TEST_BOT_TOKEN = "123456:TEST-bot-token"
NOTIFY_CURSOR_SECRET = "test-notify-cursor-secret"


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

    app = api_app.create_app({"TESTING": True})
    _migrate(app)
    return app


@pytest.fixture(scope="session")
def notify_app_session(service_environment: dict[str, str]) -> Flask:
    import notify_app

    app = notify_app.create_app({"TESTING": True})
    _migrate(app)
    return app


TRUNCATE_ATTEMPTS = 5


def _empty_all_tables(database_url_: str) -> None:
    # The session's workers (the api worker's jobs, a command still finishing) may hold row locks
    # on these tables; TRUNCATE takes its table locks one by one, so PostgreSQL can pick it as a
    # deadlock's victim. Nothing was emptied then: try again.
    for attempt in range(1, TRUNCATE_ATTEMPTS + 1):
        try:
            _truncate_all_tables(database_url_)
            return
        except psycopg2.errors.DeadlockDetected:
            if attempt == TRUNCATE_ATTEMPTS:
                raise
            time.sleep(0.2 * attempt)


def _truncate_all_tables(database_url_: str) -> None:
    with psycopg2.connect(database_url_) as connection, connection.cursor() as cursor:
        cursor.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
            "AND tablename <> 'alembic_version'"
        )
        tables = [row[0] for row in cursor.fetchall()]
        if tables:
            cursor.execute(f"TRUNCATE {', '.join(tables)} CASCADE")
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


@dataclass
class WorkerProcess:
    process: subprocess.Popen[bytes]
    log_path: Path
    metrics_port: int

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])


def start_worker(environment: dict[str, str], log_path: Path) -> WorkerProcess:
    log_file = log_path.open("ab")
    metrics_dir = log_path.parent / f"metrics-{secrets.token_hex(3)}"
    metrics_dir.mkdir()
    metrics_port = free_port()
    environment = {
        **environment,
        "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
        "WORKER_METRICS_PORT": str(metrics_port),
    }
    process = subprocess.Popen(
        [
            sys.executable, "-m", "celery", "-A", "worker", "worker",
            "-Q", "notifications", "--concurrency", "2", "--loglevel", "INFO",
            "--without-gossip", "--without-mingle", "--without-heartbeat",
            "--hostname", f"test-{secrets.token_hex(3)}@%h",
        ],
        cwd=REPO_ROOT, env=environment, stdout=log_file, stderr=subprocess.STDOUT,
    )  # fmt: skip
    return WorkerProcess(process, log_path, metrics_port)


def stop_worker(worker: WorkerProcess) -> None:
    if worker.process.poll() is None:
        worker.process.send_signal(signal.SIGTERM)
        try:
            worker.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            worker.process.kill()
            worker.process.wait()


def wait_for_worker(worker: WorkerProcess, timeout_seconds: float = 60) -> None:
    """Block until the worker answers a ping task, proving it consumes the queue."""
    from worker.tasks import ping

    deadline = time.monotonic() + timeout_seconds
    token = secrets.token_hex(8)
    while time.monotonic() < deadline:
        if worker.process.poll() is not None:
            pytest.fail(f"the Celery worker exited early:\n{worker.log_tail()}")
        try:
            if ping.apply_async(args=[token]).get(timeout=5) == token:
                return
        except Exception:  # noqa: S112 - not up yet; the deadline bounds the retries
            continue
    pytest.fail(f"the Celery worker did not answer a ping in {timeout_seconds}s:\n"
                f"{worker.log_tail()}")  # fmt: skip


@pytest.fixture(scope="session")
def celery_worker(
    service_environment: dict[str, str],
    api_app_session: Flask,
    notify_app_session: Flask,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[WorkerProcess]:
    """A real `celery worker` process consuming the notifications queue."""
    worker = start_worker(service_environment, tmp_path_factory.mktemp("worker") / "worker.log")
    try:
        wait_for_worker(worker)
        yield worker
    finally:
        stop_worker(worker)


@dataclass
class ApiWorkerProcess:
    process: subprocess.Popen[bytes]
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


@pytest.fixture(scope="session")
def api_worker(
    service_environment: dict[str, str],
    api_app_session: Flask,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[ApiWorkerProcess]:
    """A real `celery -A api_worker worker` process consuming the api_jobs queue (periodic jobs,
    the bot's commands)."""
    log_path = tmp_path_factory.mktemp("api-worker") / "api-worker.log"
    with log_path.open("ab") as log_file:
        process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "api_worker", "worker", "-Q", "api_jobs",
             "--concurrency", "1", "--loglevel", "INFO", "--without-gossip", "--without-mingle",
             "--without-heartbeat", "--hostname", f"api-jobs-{secrets.token_hex(3)}@%h"],
            cwd=REPO_ROOT, env=service_environment, stdout=log_file, stderr=subprocess.STDOUT,
        )  # fmt: skip
    worker = ApiWorkerProcess(process, log_path)
    try:
        deadline = time.monotonic() + 60
        while " ready." not in worker.log():
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"the api worker did not start:\n{worker.log()[-4000:]}")
            time.sleep(0.2)
        yield worker
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


# The password of every user signed up through the API in the tests.
PASSWORD = "password123"


@dataclass(frozen=True)
class SignedInUser:
    """A user as a client knows them once signed in; the one shape every test's users have.

    `make_user` makes one directly in the database (for tests about what users do: no password
    that could match, no refresh token); `sign_up` goes through POST /api/auth/register (for
    tests about accounts). People acting through a client (tests/people.py, the e2e Person,
    the budgeting UserClient) are built on one of the two.
    """

    id: uuid.UUID
    email: str
    access_token: str
    refresh_token: str | None = None
    password: str | None = None

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.access_token}"}


# The name the older tests use.
AuthenticatedUser = SignedInUser


def unique_email() -> str:
    return f"user-{secrets.token_hex(6)}@example.com"


def register_through(
    client: FlaskClient | Client, email: str | None = None, password: str = PASSWORD
) -> SignedInUser:
    """Sign a new user up with POST /api/auth/register through `client` (the api's test client
    or the gateway's); asserts the 201."""
    email = email or unique_email()
    response = client.post("/api/auth/register", json={"email": email, "password": password})
    assert response.status_code == 201, response.get_json(silent=True)
    body = response.get_json()
    return SignedInUser(
        id=uuid.UUID(body["user"]["id"]),
        email=body["user"]["email"],
        access_token=body["access_token"],
        refresh_token=body["refresh_token"],
        password=password,
    )


@pytest.fixture
def make_user(api: Flask) -> Callable[[], SignedInUser]:
    """A user row made directly, with an access token: for tests about what users do, not about
    how they sign up (those use `sign_up`)."""
    from flask_jwt_extended import create_access_token

    from api_app.extensions import db
    from api_app.models import User

    def make() -> SignedInUser:
        with api.app_context():
            user = User(email=unique_email(), password_hash="unusable")
            db.session.add(user)
            db.session.commit()
            return SignedInUser(user.id, user.email, create_access_token(identity=str(user.id)))

    return make


@pytest.fixture
def sign_up(api_client: FlaskClient) -> Callable[..., SignedInUser]:
    """`sign_up(email=None, password=PASSWORD)`: a new account through the API."""

    def register(email: str | None = None, password: str = PASSWORD) -> SignedInUser:
        return register_through(api_client, email, password)

    return register


@pytest.fixture(scope="session")
def gunicorn_gateway(
    service_environment: dict[str, str], api_app_session: Flask, notify_app_session: Flask,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[str]:  # fmt: skip
    """The gateway under gunicorn with several worker processes, as deployed: its base URL.

    Separate processes truly run requests at the same time, which one Python process with its
    global interpreter lock hardly does.
    """
    port = free_port()
    log_path = tmp_path_factory.mktemp("gunicorn") / "gunicorn.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py",
             "--bind", f"127.0.0.1:{port}", "--workers", "4", "wsgi:gateway"],
            cwd=REPO_ROOT, env=service_environment, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
    base_url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_healthy(f"{base_url}/health", process, log_path)
        yield base_url
    finally:
        process.terminate()
        process.wait()


def _wait_until_healthy(url: str, process: subprocess.Popen[bytes], log_path: Path) -> None:
    deadline = time.monotonic() + GUNICORN_STARTUP_DEADLINE_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"gunicorn exited early:\n{log_path.read_text()[-4000:]}")
        try:
            with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 - localhost
                if response.status == 200:
                    return
        except (
            OSError
        ):  # refused, reset or timed out while the workers boot; the deadline bounds it
            time.sleep(0.2)
    pytest.fail(f"gunicorn did not answer {url} in {GUNICORN_STARTUP_DEADLINE_SECONDS}s:\n"
                f"{log_path.read_text()[-4000:]}")  # fmt: skip
