"""A signed-in user's view of the budgeting API over an emptied database, and live servers."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.serving import make_server
from werkzeug.test import TestResponse

from devstack.servers import free_port
from tests.conftest import REPO_ROOT, AuthenticatedUser
from wsgi import Gateway

STARTUP_DEADLINE_SECONDS = 60


@dataclass
class UserClient:
    """Requests as one user, and shortcuts that create what a test needs (asserting success)."""

    client: FlaskClient
    user: AuthenticatedUser

    def request(self, method: str, path: str, **kwargs: Any) -> TestResponse:
        return self.client.open(path, method=method, headers=self.user.headers, **kwargs)

    def get(self, path: str, **kwargs: Any) -> TestResponse:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> TestResponse:
        return self.request("POST", path, **kwargs)

    def put(self, path: str, **kwargs: Any) -> TestResponse:
        return self.request("PUT", path, **kwargs)

    def patch(self, path: str, **kwargs: Any) -> TestResponse:
        return self.request("PATCH", path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> TestResponse:
        return self.request("DELETE", path, **kwargs)

    def created(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        response = self.post(path, json=body)
        assert response.status_code == 201, response.json
        created: dict[str, Any] = response.json
        return created

    def category(self, name: str = "Food", icon: str | None = None) -> dict[str, Any]:
        return self.created("/api/categories", {"name": name, "icon": icon})

    def transaction(
        self, category_id: str, amount: str, day: str = "2024-03-15", kind: str = "EXPENSE",
        **extra: Any,
    ) -> dict[str, Any]:  # fmt: skip
        body = {"category_id": category_id, "type": kind, "amount": amount, "date": day}
        return self.created("/api/transactions", {**body, **extra})

    def budget(self, year: int = 2024, month: int = 3, **extra: Any) -> dict[str, Any]:
        return self.created("/api/budgets", {"year": year, "month": month, **extra})

    def goal(self, name: str = "Bike", target: str = "100.00", **extra: Any) -> dict[str, Any]:
        return self.created("/api/goals", {"name": name, "target_amount": target, **extra})


@pytest.fixture
def sign_in(api: Flask, make_user: Callable[[], AuthenticatedUser]) -> Callable[[], UserClient]:
    return lambda: UserClient(api.test_client(), make_user())


@pytest.fixture
def alice(sign_in: Callable[[], UserClient]) -> UserClient:
    return sign_in()


@pytest.fixture
def bob(sign_in: Callable[[], UserClient]) -> UserClient:
    return sign_in()


@pytest.fixture
def live_gateway(api: Flask, notify: Flask) -> Iterator[str]:
    """Both services behind the gateway on a real, multi-threaded HTTP server: its base URL."""
    server = make_server("127.0.0.1", 0, Gateway(api, notify), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join()


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
    deadline = time.monotonic() + STARTUP_DEADLINE_SECONDS
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
    pytest.fail(f"gunicorn did not answer {url} in {STARTUP_DEADLINE_SECONDS}s:\n"
                f"{log_path.read_text()[-4000:]}")  # fmt: skip
