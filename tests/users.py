"""`SignedInUser`: the one shape of a signed-in user in every test, and the calls they make.

A user is made by the `make_user` fixture (a row made directly, for tests about what users do),
by the `sign_up` and `register` fixtures or `register_through` (POST /api/auth/register, for
tests about accounts and for end-to-end tests). They talk through any client with werkzeug's
`open()`: the api's test client, the gateway's (both services), or `LiveClient` over real HTTP
(a gunicorn gateway). The shortcuts assert the status they expect, so a test reads as a visit.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from json import loads
from typing import Any

import requests

# The password of every user signed up through the API in the tests.
PASSWORD = "password123"
HISTORY = "/api/notifications/history?page_size=100"


def unique_email() -> str:
    return f"user-{secrets.token_hex(6)}@example.com"


@dataclass
class SignedInUser:
    client: Any  # FlaskClient, werkzeug Client or LiveClient: anything with werkzeug's open()
    id: uuid.UUID
    email: str
    access_token: str
    refresh_token: str | None = None
    password: str | None = None
    # Category name -> id, filled on first look-up (see category_id).
    _category_ids: dict[str, str] = field(default_factory=dict, repr=False)

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.access_token}"}

    # -- requests ---------------------------------------------------------------------------

    def request(
        self, method: str, path: str, *, headers: dict[str, str] | None = None, **kwargs: Any
    ) -> Any:
        """The response to a request as this user (werkzeug's TestResponse or LiveResponse)."""
        return self.client.open(
            path, method=method, headers={**self.headers, **(headers or {})}, **kwargs
        )

    def get(self, path: str, **kwargs: Any) -> Any:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> Any:
        return self.request("POST", path, **kwargs)

    def put(self, path: str, **kwargs: Any) -> Any:
        return self.request("PUT", path, **kwargs)

    def patch(self, path: str, **kwargs: Any) -> Any:
        return self.request("PATCH", path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> Any:
        return self.request("DELETE", path, **kwargs)

    def expect(self, status: int, method: str, path: str, **kwargs: Any) -> Any:
        """The JSON body of a request that must answer `status` (None for an empty body)."""
        response = self.request(method, path, **kwargs)
        body = response.get_json(silent=True)
        assert response.status_code == status, f"{method} {path}: {response.status_code} {body}"
        return body

    def created(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        created: dict[str, Any] = self.expect(201, "POST", path, json=body)
        return created

    # -- what a test sets up ----------------------------------------------------------------

    def category(self, name: str = "Food", icon: str | None = None) -> dict[str, Any]:
        """A new category."""
        return self.created("/api/categories", {"name": name, "icon": icon})

    def category_id(self, name: str) -> str:
        """One of the user's categories by name: a default one (Food, Transport, ...) or theirs."""
        if name not in self._category_ids:
            listed = self.expect(200, "GET", "/api/categories?page_size=100")
            self._category_ids = {category["name"]: category["id"] for category in listed}
        return self._category_ids[name]

    def transaction(
        self, category_id: str, amount: str, day: str = "2024-03-15", kind: str = "EXPENSE",
        **extra: Any,
    ) -> dict[str, Any]:  # fmt: skip
        body = {"category_id": category_id, "type": kind, "amount": amount, "date": day}
        return self.created("/api/transactions", {**body, **extra})

    def spend(self, category: str, amount: str, day: str) -> str:
        """An expense in the category named `category`; its id."""
        return str(self.transaction(self.category_id(category), amount, day)["id"])

    def budget(
        self, year: int = 2024, month: int = 3, limits: Mapping[str, str] | None = None,
        **extra: Any,
    ) -> dict[str, Any]:  # fmt: skip
        """A monthly budget with `limits` as {category id: limit amount}."""
        body = {"year": year, "month": month, **extra}
        if limits is not None:
            body["limits"] = [{"category_id": c, "limit_amount": a} for c, a in limits.items()]
        return self.created("/api/budgets", body)

    def set_limit(self, budget_id: str, category: str, amount: str) -> None:
        """PUT the limit of the category named `category` in the budget."""
        path = f"/api/budgets/{budget_id}/limits/{self.category_id(category)}"
        self.expect(200, "PUT", path, json={"limit_amount": amount})

    def goal(self, name: str = "Bike", target: str = "100.00", **extra: Any) -> dict[str, Any]:
        return self.created("/api/goals", {"name": name, "target_amount": target, **extra})

    def summary(self, year: int, month: int) -> dict[str, Any]:
        summary: dict[str, Any] = self.expect(
            200, "GET", f"/api/budgets/summary?year={year}&month={month}"
        )
        return summary

    # -- notifications (through a client that reaches notify_app: the gateway's) ------------

    def settings(self, **changes: Any) -> dict[str, Any]:
        """PATCH the notification settings (notify_limit_exceeded, ...); a telegram_chat_id
        other than null is linked through the bot's deep link, the one way to set it."""
        from tests.linking import apply_settings  # it needs tests.conftest, which needs us

        response = apply_settings(self.client, self.headers, changes)
        body = response.get_json(silent=True)
        assert response.status_code == 200, f"PATCH settings: {response.status_code} {body}"
        settings: dict[str, Any] = body
        return settings

    def history(self) -> list[dict[str, Any]]:
        """GET /api/notifications/history: the user's deliveries, newest first."""
        rows: list[dict[str, Any]] = self.expect(200, "GET", HISTORY)
        return rows


def add_personal_ledger(user_id: uuid.UUID) -> uuid.UUID:
    """The personal ledger of a user row made directly (as sign-up makes it, without the
    default categories), in the app context's session; its id."""
    from api_app.extensions import db
    from api_app.ledgers.creation import PERSONAL_LEDGER_NAME, create_ledger
    from event_contract import LEDGER_PERSONAL

    return create_ledger(
        db.session(),
        name=PERSONAL_LEDGER_NAME,
        kind=LEDGER_PERSONAL,
        owner_id=user_id,
        language=None,
    )


def register_through(
    client: Any, email: str | None = None, password: str = PASSWORD
) -> SignedInUser:
    """Sign a new user up with POST /api/auth/register through `client`; asserts the 201."""
    email = email or unique_email()
    response = client.post("/api/auth/register", json={"email": email, "password": password})
    assert response.status_code == 201, response.get_json(silent=True)
    body = response.get_json()
    return SignedInUser(
        client=client,
        id=uuid.UUID(body["user"]["id"]),
        email=body["user"]["email"],
        access_token=body["access_token"],
        refresh_token=body["refresh_token"],
        password=password,
    )


@dataclass(frozen=True)
class LiveResponse:
    """A real HTTP answer in the shape of werkzeug's TestResponse, as far as the tests use it."""

    status_code: int
    headers: Mapping[str, str]
    data: bytes

    def get_json(self, silent: bool = False) -> Any:
        try:
            return loads(self.data) if self.data else None
        except ValueError:
            if silent:
                return None
            raise

    @property
    def json(self) -> Any:
        return self.get_json()


@dataclass(frozen=True)
class LiveClient:
    """werkzeug's `open()` over real HTTP, for users of a gateway running in its own processes.

    Connection failures raise (requests' errors are OSErrors): a test about outages sees them.
    """

    base_url: str
    timeout_seconds: float = 30.0

    def open(
        self, path: str, *, method: str = "GET", headers: Mapping[str, str] | None = None,
        json: Any = None,
    ) -> LiveResponse:  # fmt: skip
        answer = requests.request(
            method, f"{self.base_url}{path}", headers=headers, json=json,
            timeout=self.timeout_seconds,
        )  # fmt: skip
        return LiveResponse(answer.status_code, answer.headers, answer.content)

    def post(self, path: str, **kwargs: Any) -> LiveResponse:
        return self.open(path, method="POST", **kwargs)

    def get(self, path: str, **kwargs: Any) -> LiveResponse:
        return self.open(path, method="GET", **kwargs)
