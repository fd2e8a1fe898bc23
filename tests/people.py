"""People using the product over HTTP: they sign up, set their notification settings, budget and
spend, all through the public endpoints of both services."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from tests.conftest import register_through
from tests.linking import apply_settings
from tests.pipeline import wait_until


@dataclass
class Person:
    api: FlaskClient
    notify: FlaskClient
    id: uuid.UUID
    headers: dict[str, str]
    # Category name -> id: the default categories of a new account.
    categories: dict[str, str] = field(default_factory=dict)

    @classmethod
    def sign_up(cls, api: Flask, notify: Flask) -> Person:
        api_client = api.test_client()
        user = register_through(api_client)
        person = cls(api=api_client, notify=notify.test_client(), id=user.id, headers=user.headers)
        listed = api_client.get("/api/categories?page_size=100", headers=person.headers)
        assert listed.status_code == 200, listed.json
        person.categories = {category["name"]: category["id"] for category in listed.json}
        return person

    def _send(self, client: FlaskClient, method: str, path: str, status: int, **kwargs: Any) -> Any:
        response = client.open(path, method=method, headers=self.headers, **kwargs)
        assert response.status_code == status, response.json
        return response.json

    def settings(self, **changes: Any) -> dict[str, Any]:
        """PATCH the settings; a chat id is linked through the bot's deep link."""
        response = apply_settings(self.notify, self.headers, changes)
        assert response.status_code == 200, response.json
        settings: dict[str, Any] = response.json
        return settings

    def budget(self, year: int, month: int, **limits: str) -> str:
        """A budget for the month with these limits by category name; its id."""
        body = {
            "year": year,
            "month": month,
            "limits": [
                {"category_id": self.categories[name], "limit_amount": amount}
                for name, amount in limits.items()
            ],
        }
        budget_id: str = self._send(self.api, "POST", "/api/budgets", 201, json=body)["id"]
        return budget_id

    def set_limit(self, budget_id: str, category: str, amount: str) -> None:
        path = f"/api/budgets/{budget_id}/limits/{self.categories[category]}"
        self._send(self.api, "PUT", path, 200, json={"limit_amount": amount})

    def record(self, kind: str, category: str, amount: str, day: str) -> str:
        """A transaction (INCOME or EXPENSE); its id."""
        body = {
            "category_id": self.categories[category],
            "type": kind,
            "amount": amount,
            "date": day,
        }
        transaction_id: str = self._send(self.api, "POST", "/api/transactions", 201, json=body)[
            "id"
        ]
        return transaction_id

    def spend(self, category: str, amount: str, day: str) -> str:
        return self.record("EXPENSE", category, amount, day)

    def summary(self, year: int, month: int) -> dict[str, Any]:
        summary: dict[str, Any] = self._send(
            self.api, "GET", f"/api/budgets/summary?year={year}&month={month}", 200
        )
        return summary


@dataclass(frozen=True)
class Outcome:
    """What notify_app did with one event for its user, as the delivery log records it."""

    event_type: str
    status: str
    reason: str | None
    chat_id: str | None
    text: str


def outcomes(notify: Flask, user_id: uuid.UUID, count: int) -> list[Outcome]:
    """The user's `count` deliveries once none is pending, oldest first; fails if more come."""
    from notify_app.extensions import db
    from notify_app.models import Delivery

    def finished() -> list[Outcome] | None:
        with notify.app_context():
            rows = db.session.scalars(
                select(Delivery)
                .where(Delivery.user_id == user_id)
                .order_by(Delivery.created_at, Delivery.id)
            ).all()
        assert len(rows) <= count, [(row.event_type, row.text) for row in rows]
        if len(rows) < count or any(row.status == "pending" for row in rows):
            return None
        return [
            Outcome(row.event_type, row.status, row.reason, row.chat_id, row.text) for row in rows
        ]

    return wait_until(finished, f"{count} finished deliveries to user {user_id}")


def outbox_payloads(api: Flask, user_id: uuid.UUID, event_type: str) -> list[dict[str, Any]]:
    """The payloads of the user's events of `event_type` in api_app's outbox."""
    from api_app.extensions import db
    from api_app.models import OutboxEvent

    with api.app_context():
        rows = db.session.scalars(
            select(OutboxEvent)
            .where(OutboxEvent.type == event_type)
            .order_by(OutboxEvent.created_at, OutboxEvent.id)
        ).all()
        return [row.payload["payload"] for row in rows if row.payload["user_id"] == str(user_id)]
