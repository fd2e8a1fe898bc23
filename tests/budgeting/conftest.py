"""A signed-in user's view of the budgeting API over an emptied database, and live servers."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.serving import make_server
from werkzeug.test import TestResponse

from tests.conftest import AuthenticatedUser
from wsgi import Gateway


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
