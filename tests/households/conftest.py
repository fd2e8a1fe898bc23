"""Three people who share a household (Anna owns it; Boris records; Vera reads), and what their
ledgers told notify_app."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import psycopg2
import pytest
from flask import Flask
from sqlalchemy import select

from tests.conftest import ServiceDatabases
from tests.users import SignedInUser


@pytest.fixture
def anna(sign_up: Callable[..., SignedInUser]) -> SignedInUser:
    return sign_up()


@pytest.fixture
def boris(sign_up: Callable[..., SignedInUser]) -> SignedInUser:
    return sign_up()


@pytest.fixture
def vera(sign_up: Callable[..., SignedInUser]) -> SignedInUser:
    return sign_up()


@pytest.fixture
def outsider(sign_up: Callable[..., SignedInUser]) -> SignedInUser:
    return sign_up()


def create_ledger(owner: SignedInUser, name: str = "Home") -> str:
    """A new shared ledger of `owner`'s: its id."""
    return str(owner.created("/api/ledgers", {"name": name})["id"])


def invite(owner: SignedInUser, ledger_id: str, role: str = "member") -> str:
    """A new invitation's code."""
    return str(owner.created(f"/api/ledgers/{ledger_id}/invitations", {"role": role})["code"])


def join(person: SignedInUser, code: str) -> dict[str, Any]:
    joined: dict[str, Any] = person.expect(200, "POST", "/api/ledgers/join", json={"code": code})
    return joined


@dataclass(frozen=True)
class Household:
    ledger_id: str
    owner: SignedInUser
    member: SignedInUser
    viewer: SignedInUser


@pytest.fixture
def household(anna: SignedInUser, boris: SignedInUser, vera: SignedInUser) -> Household:
    """Anna's "Home": Boris a member, Vera a viewer."""
    ledger_id = create_ledger(anna)
    join(boris, invite(anna, ledger_id, "member"))
    join(vera, invite(anna, ledger_id, "viewer"))
    return Household(ledger_id, anna, boris, vera)


@dataclass(frozen=True)
class RecordedEvent:
    type: str
    user_id: str
    payload: dict[str, Any]


def ledger_events(api: Flask, ledger_id: str) -> list[RecordedEvent]:
    """The ledger.* events api_app recorded about the ledger, in the order they were recorded."""
    from api_app.extensions import db
    from api_app.models import OutboxEvent

    with api.app_context():
        rows = db.session.scalars(
            select(OutboxEvent)
            .where(
                OutboxEvent.type.like("ledger.%"),
                OutboxEvent.payload["payload"]["ledger_id"].astext == ledger_id,
            )
            .order_by(OutboxEvent.created_at, OutboxEvent.id)
        ).all()
        return [
            RecordedEvent(row.type, row.payload["user_id"], row.payload["payload"]) for row in rows
        ]


def members_of(event: RecordedEvent) -> dict[str, str]:
    """user id -> role, as a snapshot names them."""
    return {member["user_id"]: member["role"] for member in event.payload["members"]}


Sql = Callable[..., list[tuple[Any, ...]]]


@pytest.fixture
def api_sql(test_databases: ServiceDatabases) -> Sql:
    """Run one statement on budget_api outside the app and return its rows."""

    def run(statement: str, parameters: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        with psycopg2.connect(test_databases.api_url) as connection, connection.cursor() as cursor:
            cursor.execute(statement, parameters)
            rows = cursor.fetchall() if cursor.description else []
        connection.close()
        return rows

    return run
