"""`flask db upgrade` per service: own database only, idempotent, reversible, no model drift."""

from __future__ import annotations

import secrets
import subprocess
import sys
from collections.abc import Iterator

import pytest

from devstack.servers import drop_database, ensure_database
from tests import catalog
from tests.conftest import REPO_ROOT, database_url

SERVICES = {
    # service -> (its database URL variable, the other service's variable)
    "api_app": ("API_DATABASE_URL", "NOTIFY_DATABASE_URL"),
    "notify_app": ("NOTIFY_DATABASE_URL", "API_DATABASE_URL"),
}


@pytest.fixture
def scratch_databases(postgres_superuser_url: str) -> Iterator[dict[str, str]]:
    """Two empty databases, so these tests can migrate up and down freely."""
    names = {
        "own": f"migrate_own_{secrets.token_hex(4)}",
        "other": f"migrate_other_{secrets.token_hex(4)}",
    }
    for name in names.values():
        ensure_database(postgres_superuser_url, name)
    yield {role: database_url(postgres_superuser_url, name) for role, name in names.items()}
    for name in names.values():
        drop_database(postgres_superuser_url, name)


def flask_db(
    service: str, environment: dict[str, str], *arguments: str
) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [sys.executable, "-m", "flask", "--app", service, "db", *arguments],
        cwd=REPO_ROOT, env=environment, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, f"flask db {' '.join(arguments)} failed:\n{result.stderr}"
    return result


@pytest.mark.parametrize("service", sorted(SERVICES))
def test_upgrade_touches_only_its_own_database_and_is_reversible(
    service: str, service_environment: dict[str, str], scratch_databases: dict[str, str]
) -> None:
    own_variable, other_variable = SERVICES[service]
    environment = {
        **service_environment,
        own_variable: scratch_databases["own"],
        other_variable: scratch_databases["other"],
    }
    flask_db(service, environment, "upgrade")
    tables_after_first = catalog.tables(scratch_databases["own"])
    assert "alembic_version" in tables_after_first
    assert catalog.tables(scratch_databases["other"]) == set()

    second = flask_db(service, environment, "upgrade")
    assert "Running upgrade" not in second.stderr
    assert catalog.tables(scratch_databases["own"]) == tables_after_first

    check = flask_db(service, environment, "check")
    assert "No new upgrade operations detected" in check.stdout + check.stderr

    flask_db(service, environment, "downgrade", "base")
    assert catalog.tables(scratch_databases["own"]) == {"alembic_version"}
    flask_db(service, environment, "upgrade")
    assert catalog.tables(scratch_databases["own"]) == tables_after_first


def test_notify_0010_unlinks_chats_no_deep_link_vouches_for(
    service_environment: dict[str, str], scratch_databases: dict[str, str]
) -> None:
    """Kept: a chat whose owner used a link code. Unlinked: a chat set through the old PATCH
    (no used code of the user's), and a chat on two accounts (which one is meant is unknown)."""
    import psycopg2

    environment = {
        **service_environment,
        "NOTIFY_DATABASE_URL": scratch_databases["own"],
        "API_DATABASE_URL": scratch_databases["other"],
    }
    flask_db("notify_app", environment, "upgrade", "0009")
    linked, typed_in, shared_a, shared_b = (
        f"00000000-0000-0000-0000-00000000000{n}" for n in range(1, 5)
    )
    with psycopg2.connect(scratch_databases["own"]) as connection, connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO notification_settings (user_id, telegram_chat_id) VALUES"
            " (%s, '1'), (%s, '2'), (%s, '3'), (%s, '3')",
            (linked, typed_in, shared_a, shared_b),
        )
        cursor.execute(
            "INSERT INTO telegram_link_codes (user_id, code_digest, expires_at, used_at) VALUES"
            " (%s, 'a', now(), now()), (%s, 'b', now(), now()), (%s, 'c', now(), now()),"
            " (%s, 'd', now() + interval '1 hour', NULL)",
            (linked, shared_a, shared_b, typed_in),
        )
    connection.close()
    flask_db("notify_app", environment, "upgrade")
    with psycopg2.connect(scratch_databases["own"]) as connection, connection.cursor() as cursor:
        cursor.execute("SELECT user_id::text, telegram_chat_id FROM notification_settings")
        chats = dict(cursor.fetchall())
    connection.close()
    assert chats == {linked: "1", typed_in: None, shared_a: None, shared_b: None}
