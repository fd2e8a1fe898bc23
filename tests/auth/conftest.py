"""Helpers for the account tests: sign up through the API, read rows back with plain SQL."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import psycopg2
import pytest
from flask.testing import FlaskClient

from tests.conftest import ServiceDatabases

PASSWORD = "password123"


@dataclass(frozen=True)
class SignedUp:
    """A user as a client knows them after POST /api/auth/register."""

    id: uuid.UUID
    email: str
    password: str
    access_token: str
    refresh_token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.access_token}"}


def unique_email() -> str:
    return f"user-{secrets.token_hex(6)}@example.com"


@pytest.fixture
def sign_up(api_client: FlaskClient) -> Callable[..., SignedUp]:
    def register(email: str | None = None, password: str = PASSWORD) -> SignedUp:
        email = email or unique_email()
        response = api_client.post(
            "/api/auth/register", json={"email": email, "password": password}
        )
        assert response.status_code == 201, response.json
        body = response.json
        return SignedUp(
            uuid.UUID(body["user"]["id"]),
            body["user"]["email"],
            password,
            body["access_token"],
            body["refresh_token"],
        )

    return register


def login(client: FlaskClient, email: str, password: str = PASSWORD) -> Any:
    return client.post("/api/auth/login", json={"email": email, "password": password})


def refresh(client: FlaskClient, refresh_token: str) -> Any:
    return client.post("/api/auth/refresh", json={"refresh_token": refresh_token})


@pytest.fixture
def api_sql(test_databases: ServiceDatabases) -> Callable[..., list[tuple[Any, ...]]]:
    """Run one statement on budget_api outside the app and return its rows."""

    def run(statement: str, parameters: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        with psycopg2.connect(test_databases.api_url) as connection, connection.cursor() as cursor:
            cursor.execute(statement, parameters)
            rows = cursor.fetchall() if cursor.description else []
        connection.close()
        return rows

    return run


def api_tables(api_sql: Callable[..., list[tuple[Any, ...]]]) -> list[str]:
    return [
        row[0]
        for row in api_sql(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
            "AND tablename <> 'alembic_version' ORDER BY tablename"
        )
    ]
