"""`flask db upgrade` per service: own database only, idempotent, reversible, no model drift."""

from __future__ import annotations

import secrets
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

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


# Per user, before and after api 0010: how many rows of each kind and what their amounts add up
# to. The rows are found through their user_id, which 0010 keeps as the row's maker.
BUDGETING_TOTALS = {
    "categories": "SELECT count(*), 0 FROM categories WHERE user_id = %(user)s",
    "budgets": "SELECT count(*), 0 FROM budgets WHERE user_id = %(user)s",
    "budget_limits": (
        "SELECT count(*), coalesce(sum(limit_amount), 0) FROM budget_limits"
        " JOIN budgets ON budgets.id = budget_id WHERE budgets.user_id = %(user)s"
    ),
    "transactions": (
        "SELECT count(*), coalesce(sum(amount), 0) FROM transactions WHERE user_id = %(user)s"
    ),
    "recurring_transactions": (
        "SELECT count(*), coalesce(sum(amount), 0) FROM recurring_transactions"
        " WHERE user_id = %(user)s"
    ),
    "recurring_occurrences": (
        "SELECT count(*), 0 FROM recurring_occurrences JOIN recurring_transactions"
        " ON recurring_transactions.id = recurring_id WHERE user_id = %(user)s"
    ),
    "goals": (
        "SELECT count(*), coalesce(sum(target_amount + current_amount), 0) FROM goals"
        " WHERE user_id = %(user)s"
    ),
}


def populate_before_ledgers(cursor: Any, users: int) -> list[str]:
    """`users` accounts at api 0009, each with categories, two budgets with limits,
    transactions (some recorded by a recurring rule), recurring rules and goals; their ids."""
    user_ids = []
    for n in range(users):
        cursor.execute(
            "INSERT INTO users (email, password_hash) VALUES (%s, 'unusable') RETURNING id",
            (f"owner-{n}@example.com",),
        )
        user = cursor.fetchone()[0]
        user_ids.append(user)
        categories = []
        for name in ("Food", "Rent", "Salary")[: 2 + n % 2]:
            cursor.execute(
                "INSERT INTO categories (user_id, name) VALUES (%s, %s) RETURNING id", (user, name)
            )
            categories.append(cursor.fetchone()[0])
        for month in (10, 11):
            cursor.execute(
                "INSERT INTO budgets (user_id, year, month) VALUES (%s, 2026, %s) RETURNING id",
                (user, month),
            )
            budget = cursor.fetchone()[0]
            for index, category in enumerate(categories[:2]):
                cursor.execute(
                    "INSERT INTO budget_limits (budget_id, category_id, limit_amount)"
                    " VALUES (%s, %s, %s)",
                    (budget, category, f"{100 * (n + 1) + index}.25"),
                )
        cursor.execute(
            "INSERT INTO recurring_transactions"
            " (user_id, category_id, type, amount, frequency, start_date, next_date)"
            " VALUES (%s, %s, 'EXPENSE', %s, 'monthly', '2026-10-01', '2026-12-01') RETURNING id",
            (user, categories[1], f"{500 + n}.00"),
        )
        rule = cursor.fetchone()[0]
        for day in ("2026-10-01", "2026-11-01"):
            cursor.execute(
                "INSERT INTO recurring_occurrences (recurring_id, date) VALUES (%s, %s)",
                (rule, day),
            )
            cursor.execute(
                "INSERT INTO transactions"
                " (user_id, category_id, type, amount, date, recurring_id)"
                " VALUES (%s, %s, 'EXPENSE', %s, %s, %s)",
                (user, categories[1], f"{500 + n}.00", day, rule),
            )
        for index in range(5 + n):
            cursor.execute(
                "INSERT INTO transactions (user_id, category_id, type, amount, date, description)"
                " VALUES (%s, %s, %s, %s, %s, %s)",
                (
                    user,
                    categories[index % len(categories)],
                    "INCOME" if index % 4 == 3 else "EXPENSE",
                    f"{index + n}.{10 + index}",
                    f"2026-{10 + index % 2}-{1 + index:02d}",
                    f"entry {index}",
                ),
            )
        cursor.execute(
            "INSERT INTO goals (user_id, name, target_amount, current_amount)"
            " VALUES (%s, 'Bike', %s, %s)",
            (user, f"{1000 + n}.00", f"{10 * n}.50"),
        )
    return [str(user) for user in user_ids]


def budgeting_totals(cursor: Any, user: str) -> dict[str, tuple[int, str]]:
    totals = {}
    for table, query in BUDGETING_TOTALS.items():
        cursor.execute(query, {"user": user})
        count, amount = cursor.fetchone()
        totals[table] = (count, f"{amount:.2f}")
    return totals


def test_api_0010_moves_every_account_with_all_its_rows_into_its_personal_ledger(
    service_environment: dict[str, str], scratch_databases: dict[str, str]
) -> None:
    import psycopg2

    environment = {
        **service_environment,
        "API_DATABASE_URL": scratch_databases["own"],
        "NOTIFY_DATABASE_URL": scratch_databases["other"],
    }
    flask_db("api_app", environment, "upgrade", "0009")
    with psycopg2.connect(scratch_databases["own"]) as connection, connection.cursor() as cursor:
        users = populate_before_ledgers(cursor, users=3)
        # A user without any rows gets a personal ledger too.
        cursor.execute(
            "INSERT INTO users (email, password_hash) VALUES ('empty@example.com', 'unusable')"
            " RETURNING id"
        )
        users.append(str(cursor.fetchone()[0]))
        before = {user: budgeting_totals(cursor, user) for user in users}
    connection.close()
    assert before[users[0]]["transactions"][0] == 7
    assert before[users[2]]["budget_limits"] == (4, "1203.00")

    flask_db("api_app", environment, "upgrade")

    with psycopg2.connect(scratch_databases["own"]) as connection, connection.cursor() as cursor:
        after = {user: budgeting_totals(cursor, user) for user in users}
        cursor.execute("SELECT personal_user_id::text, id::text, kind, name, version FROM ledgers")
        ledgers = {row[0]: row[1:] for row in cursor.fetchall()}
        cursor.execute("SELECT user_id::text, ledger_id::text, role FROM ledger_members")
        members = sorted(cursor.fetchall())
        # Every row of a user's sits in that user's personal ledger, and nothing elsewhere.
        misplaced = {}
        for table in ("categories", "budgets", "transactions", "recurring_transactions", "goals"):
            cursor.execute(
                f"SELECT count(*) FROM {table} JOIN ledgers ON ledgers.id = {table}.ledger_id"  # noqa: S608
                f" WHERE ledgers.personal_user_id IS DISTINCT FROM {table}.user_id"
            )
            misplaced[table] = cursor.fetchone()[0]
    connection.close()
    assert after == before
    assert set(ledgers) == set(users)
    assert {ledger[1:] for ledger in ledgers.values()} == {("personal", "Personal", 1)}
    assert members == sorted((user, ledgers[user][0], "owner") for user in users)
    assert misplaced == dict.fromkeys(misplaced, 0)
