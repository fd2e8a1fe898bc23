"""Benchmark data written straight into the databases with SQL: fast, and the same schema.

Users, categories, budgets and limits go into budget_api, notification settings into
budget_notifications, each service's own tables as its migrations made them. Every row belongs to a
user whose e-mail ends in BENCH_EMAIL_DOMAIN, so bench data never mixes with anyone else's; data
that takes long to make (the read path's histories) is kept between runs and reused.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator, Sequence
from datetime import date
from decimal import Decimal
from typing import Any, Final

import psycopg2  # type: ignore[import-untyped, unused-ignore]

BENCH_EMAIL_DOMAIN: Final = "bench.example"
# Users made by SQL never log in; this is no hash of anything.
UNUSABLE_PASSWORD_HASH: Final = "!bench-user-without-password"  # noqa: S105 - matches none
# How many days back the generated history reaches from the day before the summary month.
HISTORY_SPAN_DAYS: Final = 9000

Cursor = Any  # psycopg2 ships no type information


def bench_email(name: str) -> str:
    return f"{name}@{BENCH_EMAIL_DOMAIN}"


@contextlib.contextmanager
def transaction(database_url: str) -> Iterator[Cursor]:
    """A cursor in one transaction: committed when the block ends, rolled back on an error."""
    connection = psycopg2.connect(database_url)
    try:
        with connection, connection.cursor() as cursor:
            yield cursor
    finally:
        connection.close()


def ensure_user(cursor: Cursor, email: str) -> uuid.UUID:
    cursor.execute("SELECT id FROM users WHERE email = %s", (email,))
    row = cursor.fetchone()
    if row is None:
        cursor.execute(
            "INSERT INTO users (email, password_hash) VALUES (%s, %s) RETURNING id",
            (email, UNUSABLE_PASSWORD_HASH),
        )
        row = cursor.fetchone()
        # Every account has its personal ledger, which it owns (as sign-up makes it).
        cursor.execute(
            "WITH ledger AS (INSERT INTO ledgers (name, kind, personal_user_id)"
            " VALUES ('Personal', 'personal', %(user)s) RETURNING id)"
            " INSERT INTO ledger_members (ledger_id, user_id, role)"
            " SELECT id, %(user)s, 'owner' FROM ledger",
            {"user": row[0]},
        )
    return uuid.UUID(str(row[0]))


def ensure_category(cursor: Cursor, user_id: uuid.UUID, name: str) -> uuid.UUID:
    cursor.execute(
        "SELECT id FROM categories WHERE user_id = %s AND name = %s", (str(user_id), name)
    )
    row = cursor.fetchone()
    if row is None:
        cursor.execute(
            "INSERT INTO categories (user_id, name, ledger_id)"
            " SELECT %(user_id)s, %(name)s, id FROM ledgers WHERE personal_user_id = %(user_id)s"
            " RETURNING id",
            {"user_id": str(user_id), "name": name},
        )
        row = cursor.fetchone()
    return uuid.UUID(str(row[0]))


def ensure_budget_limit(
    cursor: Cursor, user_id: uuid.UUID, month: date, category_id: uuid.UUID, limit: Decimal
) -> None:
    """The user's budget for `month` exists and limits `category_id` to `limit`."""
    cursor.execute(
        "SELECT id FROM budgets WHERE user_id = %s AND year = %s AND month = %s",
        (str(user_id), month.year, month.month),
    )
    row = cursor.fetchone()
    if row is None:
        cursor.execute(
            "INSERT INTO budgets (user_id, year, month, ledger_id)"
            " SELECT %(user_id)s, %(year)s, %(month)s, id FROM ledgers"
            " WHERE personal_user_id = %(user_id)s RETURNING id",
            {"user_id": str(user_id), "year": month.year, "month": month.month},
        )
        row = cursor.fetchone()
    cursor.execute(
        "INSERT INTO budget_limits (budget_id, category_id, limit_amount) VALUES (%s, %s, %s)"
        " ON CONFLICT (budget_id, category_id) DO UPDATE SET limit_amount = EXCLUDED.limit_amount",
        (row[0], str(category_id), limit),
    )


def delete_transactions(cursor: Cursor, user_id: uuid.UUID) -> None:
    cursor.execute("DELETE FROM transactions WHERE user_id = %s", (str(user_id),))


def count_transactions(cursor: Cursor, user_id: uuid.UUID) -> int:
    cursor.execute("SELECT count(*) FROM transactions WHERE user_id = %s", (str(user_id),))
    return int(cursor.fetchone()[0])


def ensure_history(
    cursor: Cursor, user_id: uuid.UUID, category_ids: Sequence[uuid.UUID], size: int, before: date
) -> bool:
    """Exactly `size` transactions dated before `before`, spread over the months before it.

    Returns whether rows had to be (re)made. One INSERT ... SELECT over generate_series: a
    million rows take seconds instead of the minutes a million API calls would.
    """
    cursor.execute(
        "SELECT count(*) FROM transactions WHERE user_id = %s AND date < %s",
        (str(user_id), before),
    )
    if int(cursor.fetchone()[0]) == size:
        return False
    cursor.execute(
        "DELETE FROM transactions WHERE user_id = %s AND date < %s", (str(user_id), before)
    )
    cursor.execute(
        """
        INSERT INTO transactions (user_id, category_id, type, amount, description, date, ledger_id)
        SELECT %(user_id)s,
               (%(category_ids)s::uuid[])[1 + n %% %(categories)s],
               (CASE WHEN n %% 10 = 0 THEN 'INCOME' ELSE 'EXPENSE' END)::transaction_type,
               (1 + (n %% 5000) / 100.0)::numeric(12, 2),
               NULL,
               %(last_day)s::date - (n %% %(span)s),
               ledger.id
        FROM generate_series(0, %(size)s - 1) AS n,
             (SELECT id FROM ledgers WHERE personal_user_id = %(user_id)s) AS ledger
        """,
        {
            "user_id": str(user_id),
            "category_ids": [str(category_id) for category_id in category_ids],
            "categories": len(category_ids),
            "last_day": date.fromordinal(before.toordinal() - 1),
            "span": HISTORY_SPAN_DAYS,
            "size": size,
        },
    )
    return True


def insert_month_transactions(
    cursor: Cursor, user_id: uuid.UUID, category_ids: Sequence[uuid.UUID], month: date, per: int
) -> None:
    """`per` expenses in each category within `month`."""
    cursor.execute(
        """
        INSERT INTO transactions (user_id, category_id, type, amount, description, date, ledger_id)
        SELECT %(user_id)s, category_id, 'EXPENSE'::transaction_type,
               (3 + n)::numeric(12, 2), NULL, %(first_day)s::date + (n %% 28), ledger.id
        FROM unnest(%(category_ids)s::uuid[]) AS category_id, generate_series(0, %(per)s - 1) AS n,
             (SELECT id FROM ledgers WHERE personal_user_id = %(user_id)s) AS ledger
        """,
        {
            "user_id": str(user_id),
            "category_ids": [str(category_id) for category_id in category_ids],
            "first_day": month.replace(day=1),
            "per": per,
        },
    )


def analyze(database_url: str, table: str) -> None:
    """Fresh planner statistics after a bulk insert, as autovacuum would make them soon after."""
    connection = psycopg2.connect(database_url)
    try:
        connection.autocommit = True
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {table}")
    finally:
        connection.close()


def delete_bench_users(cursor: Cursor, prefix: str) -> list[uuid.UUID]:
    """Delete the bench users whose e-mail starts with `prefix`, with all they own; their ids.

    Transactions have no foreign key to users; they go with their categories' cascade.
    """
    cursor.execute(
        "DELETE FROM users WHERE email LIKE %s RETURNING id",
        (f"{prefix}%@{BENCH_EMAIL_DOMAIN}",),
    )
    return [uuid.UUID(str(row[0])) for row in cursor.fetchall()]


def delete_notification_settings(cursor: Cursor, user_ids: Sequence[uuid.UUID]) -> None:
    cursor.execute(
        "DELETE FROM notification_settings WHERE user_id = ANY(%s::uuid[])",
        ([str(user_id) for user_id in user_ids],),
    )


def upsert_notification_settings(cursor: Cursor, user_id: uuid.UUID, chat_id: str) -> None:
    cursor.execute(
        "INSERT INTO notification_settings (user_id, telegram_chat_id, notify_limit_exceeded)"
        " VALUES (%s, %s, true) ON CONFLICT (user_id) DO UPDATE"
        " SET telegram_chat_id = EXCLUDED.telegram_chat_id, notify_limit_exceeded = true",
        (str(user_id), chat_id),
    )


def ensure_shared_ledger(
    cursor: Cursor, owner_id: uuid.UUID, member_ids: Sequence[uuid.UUID], name: str
) -> uuid.UUID:
    """The owner's shared ledger called `name`, with `member_ids` as members, and a category."""
    cursor.execute(
        "SELECT ledgers.id FROM ledgers"
        " JOIN ledger_members ON ledger_members.ledger_id = ledgers.id"
        " WHERE ledgers.name = %s AND ledgers.kind = 'shared'"
        " AND ledger_members.user_id = %s AND ledger_members.role = 'owner'",
        (name, str(owner_id)),
    )
    row = cursor.fetchone()
    if row is not None:
        return uuid.UUID(str(row[0]))
    cursor.execute("INSERT INTO ledgers (name, kind) VALUES (%s, 'shared') RETURNING id", (name,))
    ledger_id = cursor.fetchone()[0]
    cursor.execute(
        "INSERT INTO ledger_members (ledger_id, user_id, role)"
        " SELECT %s, person, CASE WHEN person = %s THEN 'owner' ELSE 'member' END"
        " FROM unnest(%s::uuid[]) AS person",
        (ledger_id, str(owner_id), [str(owner_id), *(str(m) for m in member_ids)]),
    )
    cursor.execute(
        "INSERT INTO categories (user_id, name, ledger_id) VALUES (%s, 'Shared costs', %s)",
        (str(owner_id), ledger_id),
    )
    return uuid.UUID(str(ledger_id))


def ensure_split_history(
    cursor: Cursor, ledger_id: uuid.UUID, people: Sequence[uuid.UUID], size: int
) -> bool:
    """Exactly `size` expenses in the shared ledger, each paid by one of `people` in turn and
    split equally among them all, with their shares; whether rows had to be (re)made.

    Amounts are whole multiples of len(people), so every share is exact. Two INSERT ... SELECT
    statements: the balances' triggers add them up once each, however many rows.
    """
    cursor.execute(
        "SELECT count(*) FROM transactions WHERE ledger_id = %s AND split IS NOT NULL",
        (str(ledger_id),),
    )
    if int(cursor.fetchone()[0]) == size:
        return False
    cursor.execute("DELETE FROM transactions WHERE ledger_id = %s", (str(ledger_id),))
    everyone = [str(person) for person in people]
    cursor.execute(
        """
        INSERT INTO transactions
            (user_id, category_id, type, amount, description, date, ledger_id, paid_by, split)
        SELECT payer, category.id, 'EXPENSE'::transaction_type,
               (%(count)s * (1 + n %% 500))::numeric(12, 2), NULL,
               %(last_day)s::date - (n %% %(span)s), %(ledger_id)s, payer,
               jsonb_build_object('method', 'equal', 'among',
                   (SELECT jsonb_agg(jsonb_build_object('user_id', person, 'value', NULL))
                    FROM unnest(%(people)s::uuid[]) AS person))
        FROM generate_series(0, %(size)s - 1) AS n,
             LATERAL (SELECT (%(people)s::uuid[])[1 + n %% %(count)s] AS payer) AS paying,
             (SELECT id FROM categories WHERE ledger_id = %(ledger_id)s LIMIT 1) AS category
        """,
        {
            "ledger_id": str(ledger_id),
            "people": everyone,
            "count": len(everyone),
            "last_day": date(2026, 11, 30),
            "span": HISTORY_SPAN_DAYS,
            "size": size,
        },
    )
    cursor.execute(
        "INSERT INTO transaction_shares (transaction_id, user_id, ledger_id, amount)"
        " SELECT transactions.id, person, transactions.ledger_id, transactions.amount / %(count)s"
        " FROM transactions, unnest(%(people)s::uuid[]) AS person"
        " WHERE transactions.ledger_id = %(ledger_id)s",
        {"ledger_id": str(ledger_id), "people": everyone, "count": len(everyone)},
    )
    return True
