"""/api/users/me: read the account, change its password, delete it with everything it owns."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from api_app.extensions import db
from api_app.models import (
    BotCommandRecord,
    Budget,
    BudgetLimit,
    Category,
    DailyRowCount,
    Frequency,
    Goal,
    LedgerInvitation,
    RecurringOccurrence,
    RecurringTransaction,
    Settlement,
    Transaction,
    TransactionShare,
    TransactionType,
)
from tests.auth.conftest import api_tables, login, refresh
from tests.users import PASSWORD, SignedInUser

ERROR_KEYS = {"code", "status", "message", "errors"}
NEW_PASSWORD = "a new passphrase"
Sql = Callable[..., list[tuple[Any, ...]]]


def test_me_answers_the_signed_in_user(
    api_client: FlaskClient, sign_up: Callable[..., SignedInUser]
) -> None:
    user = sign_up()
    response = api_client.get("/api/users/me", headers=user.headers)
    assert response.status_code == 200
    assert set(response.json) == {"id", "email", "timezone", "language", "currency", "created_at"}
    assert response.json["timezone"] == "UTC"
    assert (response.json["id"], response.json["email"]) == (str(user.id), user.email)


def test_me_works_with_the_make_user_fixture(
    api_client: FlaskClient, make_user: Callable[[], Any]
) -> None:
    user = make_user()
    response = api_client.get("/api/users/me", headers=user.headers)
    assert response.status_code == 200
    assert response.json["id"] == str(user.id)


def test_change_password_needs_the_current_one(
    api_client: FlaskClient, sign_up: Callable[..., SignedInUser], api_sql: Sql
) -> None:
    user = sign_up()
    [(hash_before,)] = api_sql("SELECT password_hash FROM users")
    response = api_client.post(
        "/api/users/me/password",
        json={"current_password": "not my password", "new_password": NEW_PASSWORD},
        headers=user.headers,
    )
    assert response.status_code == 403
    assert set(response.json) == ERROR_KEYS
    assert api_sql("SELECT password_hash FROM users") == [(hash_before,)]
    assert refresh(api_client, user.refresh_token).status_code == 200


@pytest.mark.parametrize(
    "body",
    [
        {"current_password": PASSWORD, "new_password": "short"},
        {"current_password": PASSWORD, "new_password": "x" * 129},
        {"current_password": PASSWORD},
        {"new_password": NEW_PASSWORD},
        {"current_password": PASSWORD, "new_password": NEW_PASSWORD, "email": "x@example.com"},
    ],
)
def test_invalid_password_changes_answer_422_and_change_nothing(
    api_client: FlaskClient,
    sign_up: Callable[..., SignedInUser],
    api_sql: Sql,
    body: dict[str, Any],
) -> None:
    user = sign_up()
    [(hash_before,)] = api_sql("SELECT password_hash FROM users")
    response = api_client.post("/api/users/me/password", json=body, headers=user.headers)
    assert response.status_code == 422
    assert api_sql("SELECT password_hash FROM users") == [(hash_before,)]


def test_change_password_revokes_every_refresh_token(
    api_client: FlaskClient, sign_up: Callable[..., SignedInUser]
) -> None:
    user = sign_up()
    other_session = login(api_client, user.email).json["refresh_token"]
    response = api_client.post(
        "/api/users/me/password",
        json={"current_password": PASSWORD, "new_password": NEW_PASSWORD},
        headers=user.headers,
    )
    assert response.status_code == 204
    assert refresh(api_client, user.refresh_token).status_code == 401
    assert refresh(api_client, other_session).status_code == 401
    assert login(api_client, user.email, PASSWORD).status_code == 401
    assert login(api_client, user.email, NEW_PASSWORD).status_code == 200


def test_password_endpoints_need_an_access_token(api_client: FlaskClient) -> None:
    for method, path in (
        ("get", "/api/users/me"),
        ("post", "/api/users/me/password"),
        ("delete", "/api/users/me"),
    ):
        response = getattr(api_client, method)(path, json={"password": PASSWORD})
        assert response.status_code == 401
        assert response.headers["WWW-Authenticate"] == "Bearer"


def _give_data(api: Flask, user_id: uuid.UUID) -> set[str]:
    """A budget with a limit, a transaction, a goal and a recurring transaction with a recorded
    occurrence, as the other areas would make them; answers every id that belongs to the user."""
    with api.app_context():
        category = db.session.query(Category).filter_by(user_id=user_id).first()
        assert category is not None
        ledger_id = category.ledger_id
        budget = Budget(ledger_id=ledger_id, user_id=user_id, month=5, year=2026)
        budget.limits.append(BudgetLimit(category_id=category.id, limit_amount=Decimal("250.00")))
        db.session.add(budget)
        lunch = Transaction(
            ledger_id=ledger_id,
            user_id=user_id,
            category_id=category.id,
            type=TransactionType.EXPENSE,
            amount=Decimal("12.50"),
            description="lunch",
            date=date(2026, 5, 3),
        )
        db.session.add(lunch)
        db.session.flush()
        # Its share, and a repayment (issue 24: in their own ledger, the rows are what matters).
        db.session.add(
            TransactionShare(
                transaction_id=lunch.id, ledger_id=ledger_id, user_id=user_id, amount=lunch.amount
            )
        )
        db.session.add(
            Settlement(
                ledger_id=ledger_id,
                from_user_id=user_id,
                to_user_id=uuid.uuid4(),
                amount=Decimal("5.00"),
                date=date(2026, 5, 4),
                created_by=user_id,
            )
        )
        db.session.add(
            Goal(
                ledger_id=ledger_id,
                user_id=user_id,
                name="bike",
                target_amount=Decimal("900.00"),
            )
        )
        rule = RecurringTransaction(
            ledger_id=ledger_id,
            user_id=user_id,
            category_id=category.id,
            type=TransactionType.EXPENSE,
            amount=Decimal("700.00"),
            frequency=Frequency.MONTHLY,
            start_date=date(2026, 5, 1),
            next_date=date(2026, 6, 1),
        )
        db.session.add(rule)
        db.session.flush()
        db.session.add(RecurringOccurrence(recurring_id=rule.id, date=date(2026, 5, 1)))
        # A command of theirs from the Telegram bot.
        db.session.add(
            BotCommandRecord(
                id=uuid.uuid4(),
                user_id=user_id,
                chat_id="1",
                name="summary",
                reply={"chat_id": "1", "text": "May 2026 so far"},
            )
        )
        # An invitation they made (into their own ledger: the table's rows are what matters).
        db.session.add(
            LedgerInvitation(
                ledger_id=ledger_id,
                code_digest=uuid.uuid4().hex,
                role="member",
                created_by=user_id,
                expires_at=datetime(2026, 5, 8, tzinfo=UTC),
            )
        )
        # The rows their requests wrote today, against their daily quota.
        db.session.add(DailyRowCount(user_id=user_id, day=date(2026, 5, 1), rows=3))
        db.session.commit()
        ids = {str(user_id)}
        for model in (Category, Budget, Goal, Transaction, RecurringTransaction):
            ids |= {str(row.id) for row in db.session.query(model).filter_by(user_id=user_id)}
        ids |= {str(budget_limit.id) for budget_limit in budget.limits}
        db.session.remove()
    return ids


def _rows_mentioning(api_sql: Sql, table: str, ids: set[str]) -> int:
    patterns = [f"%{value}%" for value in ids]
    [(count,)] = api_sql(f"SELECT count(*) FROM {table} t WHERE t::text LIKE ANY(%s)", (patterns,))  # noqa: S608 - table names come from pg_tables
    return int(count)


def test_delete_account_removes_every_row_of_the_user(
    api: Flask, api_client: FlaskClient, sign_up: Callable[..., SignedInUser], api_sql: Sql
) -> None:
    user = sign_up()
    login(api_client, user.email)
    keeper = sign_up()
    user_ids = _give_data(api, user.id)
    keeper_ids = _give_data(api, keeper.id)
    # The outbox is the service's log of what happened, not the user's data: it holds the
    # user.deleted event until the relay publishes it and the retention period purges it.
    # job_runs is the periodic jobs' bookkeeping, about no user; ledger_balance_changes is
    # empty outside the transaction that writes it (its nets are in ledger_balances).
    bookkeeping = ("outbox_events", "job_runs", "ledger_balance_changes")
    tables = [table for table in api_tables(api_sql) if table not in bookkeeping]
    assert {"users", "refresh_tokens", "categories", "budgets", "budget_limits"} <= set(tables)
    assert all(_rows_mentioning(api_sql, table, user_ids) > 0 for table in tables)
    keeper_rows = {table: _rows_mentioning(api_sql, table, keeper_ids) for table in tables}

    response = api_client.delete("/api/users/me", json={"password": PASSWORD}, headers=user.headers)
    assert response.status_code == 204

    for table in tables:
        assert _rows_mentioning(api_sql, table, user_ids) == 0, table
    assert {table: _rows_mentioning(api_sql, table, keeper_ids) for table in tables} == keeper_rows
    assert api_sql(
        "SELECT type FROM outbox_events WHERE payload->>'user_id' = %s ORDER BY created_at",
        (str(user.id),),
    ) == [("user.registered",), ("user.deleted",)]
    # The still unexpired access token and the refresh token no longer open anything.
    gone = api_client.get("/api/users/me", headers=user.headers)
    assert gone.status_code == 401
    assert gone.headers["WWW-Authenticate"].startswith("Bearer")
    assert refresh(api_client, user.refresh_token).status_code == 401
    assert login(api_client, user.email).status_code == 401


@pytest.mark.parametrize(
    ("body", "status"),
    [({"password": "not my password"}, 403), ({}, 422), ({"password": ""}, 422)],
)
def test_delete_account_needs_the_password(
    api_client: FlaskClient,
    sign_up: Callable[..., SignedInUser],
    api_sql: Sql,
    body: dict[str, Any],
    status: int,
) -> None:
    user = sign_up()
    response = api_client.delete("/api/users/me", json=body, headers=user.headers)
    assert response.status_code == status
    assert set(response.json) == ERROR_KEYS
    assert api_sql("SELECT count(*) FROM users") == [(1,)]
    assert api_client.get("/api/users/me", headers=user.headers).status_code == 200


def test_the_database_never_holds_a_password_or_refresh_token_in_clear(
    api_client: FlaskClient, sign_up: Callable[..., SignedInUser], api_sql: Sql
) -> None:
    user = sign_up(password="Distinctive-Passphrase-1")
    secrets_handed_out = {user.password, user.refresh_token}
    second = login(api_client, user.email, user.password).json["refresh_token"]
    rotated = refresh(api_client, second).json["refresh_token"]
    secrets_handed_out |= {second, rotated}
    api_client.post(
        "/api/users/me/password",
        json={"current_password": user.password, "new_password": "Another-Passphrase-2"},
        headers=user.headers,
    )
    after_change = login(api_client, user.email, "Another-Passphrase-2").json["refresh_token"]
    secrets_handed_out |= {"Another-Passphrase-2", after_change}

    all_text = "\n".join(
        row[0]
        for table in api_tables(api_sql)
        for row in api_sql(f"SELECT t::text FROM {table} t")  # noqa: S608 - from pg_tables
    )
    assert user.email in all_text  # the scan reads what is there
    for secret in secrets_handed_out:
        assert secret not in all_text
