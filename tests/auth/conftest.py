"""Helpers for the account tests: sign up through the API, read rows back with plain SQL."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import psycopg2
import pytest
from flask.testing import FlaskClient

from tests.conftest import ServiceDatabases
from tests.users import PASSWORD


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
