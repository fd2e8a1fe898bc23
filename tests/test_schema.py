"""After both upgrades each database holds exactly its own tables: the specified ones, plus the
outbox of the events in budget_api and the delivery log in budget_notifications."""

from __future__ import annotations

import pytest
from flask import Flask

from tests import catalog
from tests.catalog import Column
from tests.conftest import ServiceDatabases

UUID_KEY = Column("uuid", False, "gen_random_uuid()")
NOW = Column("timestamp with time zone", False, "now()")
MONEY = Column("numeric(12,2)", False, None)
USER_ID = Column("uuid", False, None)
LEDGER_ROLE_CHECKED = Column("text", False, None)

API_COLUMNS: dict[str, dict[str, Column]] = {
    "users": {
        "id": UUID_KEY,
        "email": Column("text", False, None),
        "password_hash": Column("text", False, None),
        "timezone": Column("text", False, "'UTC'::text"),
        # Issue 25: the language and currency the person chose; NULL: none chosen.
        "language": Column("text", True, None),
        "currency": Column("text", True, None),
        # Issue 23: how other members of a shared ledger see the person, and the ledger their
        # private /spent records into (NULL: their personal one).
        "display_name": Column("text", True, None),
        "bot_ledger_id": Column("uuid", True, None),
        # Issue 14: raised by logout-all and a password change; access tokens carry it.
        "token_epoch": Column("integer", False, "0"),
        "created_at": NOW,
        "updated_at": NOW,
    },
    "refresh_tokens": {
        "id": UUID_KEY,
        "token": Column("text", False, None),
        "user_id": USER_ID,
        "expires_at": Column("timestamp with time zone", False, None),
        # Issue 14: when rotation used it up (the refresh grace period starts there).
        "consumed_at": Column("timestamp with time zone", True, None),
        "created_at": NOW,
    },
    "categories": {
        "id": UUID_KEY,
        "name": Column("text", False, None),
        # Issue 23: who made it (NULL once their account is gone); ledger_id its ledger.
        "user_id": Column("uuid", True, None),
        "ledger_id": Column("uuid", False, None),
        "icon": Column("text", True, None),
        "is_default": Column("boolean", False, "false"),
        "created_at": NOW,
    },
    "budgets": {
        "id": UUID_KEY,
        # Issue 23: who made it (NULL once their account is gone); ledger_id its ledger.
        "user_id": Column("uuid", True, None),
        "ledger_id": Column("uuid", False, None),
        "month": Column("integer", False, None),
        "year": Column("integer", False, None),
        "created_at": NOW,
        "updated_at": NOW,
    },
    "budget_limits": {
        "id": UUID_KEY,
        "budget_id": Column("uuid", False, None),
        "category_id": Column("uuid", False, None),
        "limit_amount": MONEY,
    },
    "transactions": {
        "id": UUID_KEY,
        # Issue 23: who made it (NULL once their account is gone); ledger_id its ledger.
        "user_id": Column("uuid", True, None),
        "ledger_id": Column("uuid", False, None),
        "category_id": Column("uuid", False, None),
        "type": Column("transaction_type", False, None),
        "amount": MONEY,
        "description": Column("text", True, None),
        "date": Column("date", False, None),
        "created_at": NOW,
        "recurring_id": Column("uuid", True, None),
        # Issue 24: a shared ledger's expense: who paid it and the split as asked.
        "paid_by": Column("uuid", True, None),
        "split": Column("jsonb", True, None),
    },
    "recurring_transactions": {
        "id": UUID_KEY,
        # Issue 23: who made it (NULL once their account is gone); ledger_id its ledger.
        "user_id": Column("uuid", True, None),
        "ledger_id": Column("uuid", False, None),
        "category_id": Column("uuid", False, None),
        "type": Column("transaction_type", False, None),
        "amount": MONEY,
        "description": Column("text", True, None),
        "frequency": Column("recurring_frequency", False, None),
        "start_date": Column("date", False, None),
        "end_date": Column("date", True, None),
        "next_date": Column("date", True, None),
        "created_at": NOW,
        "updated_at": NOW,
        "paid_by": Column("uuid", True, None),
        "split": Column("jsonb", True, None),
    },
    "recurring_occurrences": {
        "recurring_id": Column("uuid", False, None),
        "date": Column("date", False, None),
    },
    "goals": {
        "id": UUID_KEY,
        # Issue 23: who made it (NULL once their account is gone); ledger_id its ledger.
        "user_id": Column("uuid", True, None),
        "ledger_id": Column("uuid", False, None),
        "name": Column("text", False, None),
        "target_amount": MONEY,
        "current_amount": Column("numeric(12,2)", False, "0"),
        "deadline": Column("date", True, None),
        "created_at": NOW,
        "updated_at": NOW,
    },
    "outbox_events": {
        "id": Column("uuid", False, None),
        "type": Column("text", False, None),
        "payload": Column("jsonb", False, None),
        "occurred_at": Column("timestamp with time zone", False, None),
        "created_at": NOW,
        "published_at": Column("timestamp with time zone", True, None),
        "attempts": Column("integer", False, "0"),
        "last_error": Column("text", True, None),
    },
    # The periods each periodic job has done (api_app/jobs).
    "job_runs": {
        "job": Column("text", False, None),
        "period": Column("text", False, None),
        "finished_at": NOW,
    },
    "bot_commands": {
        "id": Column("uuid", False, None),
        "user_id": Column("uuid", False, None),
        "chat_id": Column("text", False, None),
        "name": Column("text", False, None),
        "transaction_id": Column("uuid", True, None),
        "choice": Column("jsonb", True, None),
        "chosen_by": Column("uuid", True, None),
        "reply": Column("jsonb", False, None),
        "created_at": NOW,
    },
    # Rows each account's requests wrote today, against its daily quota (api_app/quotas.py).
    "daily_row_counts": {
        "user_id": Column("uuid", False, None),
        "day": Column("date", False, None),
        "rows": Column("integer", False, None),
    },
    # Issue 23: households. A ledger holds the budgeting rows; its members share it.
    "ledgers": {
        "id": UUID_KEY,
        "name": Column("text", False, None),
        "kind": Column("text", False, None),
        "personal_user_id": Column("uuid", True, None),
        "version": Column("integer", False, "1"),
        "created_at": NOW,
        # Issue 24: how its expenses are split when they say nothing (NULL: not at all).
        "default_split": Column("jsonb", True, None),
    },
    "ledger_members": {
        "ledger_id": Column("uuid", False, None),
        "user_id": Column("uuid", False, None),
        "role": LEDGER_ROLE_CHECKED,
        "joined_at": NOW,
    },
    "ledger_invitations": {
        "id": UUID_KEY,
        "ledger_id": Column("uuid", False, None),
        "code_digest": Column("text", False, None),
        "role": LEDGER_ROLE_CHECKED,
        "created_by": Column("uuid", True, None),
        "created_at": NOW,
        "expires_at": Column("timestamp with time zone", False, None),
        "used_at": Column("timestamp with time zone", True, None),
        "used_by": Column("uuid", True, None),
    },
    # Issue 24: the shares of split expenses, and repayments between a ledger's members.
    "transaction_shares": {
        "transaction_id": Column("uuid", False, None),
        "user_id": USER_ID,
        "ledger_id": Column("uuid", False, None),
        "amount": MONEY,
    },
    "settlements": {
        "id": UUID_KEY,
        "ledger_id": Column("uuid", False, None),
        "from_user_id": USER_ID,
        "to_user_id": USER_ID,
        "amount": MONEY,
        "date": Column("date", False, None),
        "created_by": Column("uuid", True, None),
        "created_at": NOW,
    },
    # Each member's net, kept by triggers (api migration 0013), and the uncommitted changes to
    # it that only their own transaction sees. Unbounded numeric: a sum must never overflow.
    "ledger_balances": {
        "ledger_id": Column("uuid", False, None),
        "user_id": USER_ID,
        "net": Column("numeric", False, None),
    },
    "ledger_balance_changes": {
        "ledger_id": Column("uuid", False, None),
        "user_id": USER_ID,
        "change": Column("numeric", False, None),
    },
}

API_UNIQUE = {
    "users": {("email",)},
    "refresh_tokens": {("token",)},
    "categories": {("ledger_id", "name")},
    "budgets": {("ledger_id", "month", "year")},
    "budget_limits": {("budget_id", "category_id")},
    "transactions": set(),
    "goals": set(),
    "outbox_events": set(),
    "job_runs": set(),  # its primary key is (job, period)
    "bot_commands": set(),
    "daily_row_counts": set(),  # its primary key is the user
    "recurring_transactions": set(),
    "recurring_occurrences": set(),
    "ledgers": {("personal_user_id",)},
    "ledger_members": set(),  # its primary key is (ledger, user)
    "ledger_invitations": {("code_digest",)},
    "transaction_shares": set(),  # its primary key is (transaction, user)
    "settlements": set(),
    "ledger_balances": set(),  # its primary key is (ledger, user)
    "ledger_balance_changes": set(),
}

API_INDEXES = {
    "users": {"users_bot_ledger_id_idx": ("bot_ledger_id",)},
    "refresh_tokens": {"refresh_tokens_user_id_idx": ("user_id",)},
    "categories": {"categories_user_id_idx": ("user_id",)},
    "budgets": {"budgets_user_id_idx": ("user_id",)},
    "budget_limits": {},
    "transactions": {
        "transactions_ledger_id_date_idx": ("ledger_id", "date"),
        "transactions_user_id_date_idx": ("user_id", "date"),
        "transactions_category_id_idx": ("category_id",),
        "transactions_recurring_id_idx": ("recurring_id",),
        # Partial (split expenses), with the amount: what each member paid, for the balances.
        "transactions_split_paid_by_idx": ("ledger_id", "paid_by", "amount"),
    },
    "recurring_transactions": {
        "recurring_transactions_ledger_id_idx": ("ledger_id",),
        "recurring_transactions_user_id_idx": ("user_id",),
        "recurring_transactions_category_id_idx": ("category_id",),
        "recurring_transactions_next_date_idx": ("next_date",),
    },
    "recurring_occurrences": {},
    "goals": {"goals_ledger_id_idx": ("ledger_id",), "goals_user_id_idx": ("user_id",)},
    # Partial: only the rows the relay still has to publish.
    "outbox_events": {"outbox_events_unpublished_idx": ("created_at",)},
    "job_runs": {},
    "bot_commands": {
        "bot_commands_user_id_chat_id_created_at_idx": ("user_id", "chat_id", "created_at")
    },
    "daily_row_counts": {},
    "ledgers": {},
    "ledger_members": {"ledger_members_user_id_idx": ("user_id",)},
    "ledger_invitations": {"ledger_invitations_ledger_id_idx": ("ledger_id",)},
    "transaction_shares": {
        "transaction_shares_ledger_id_user_id_idx": ("ledger_id", "user_id", "amount")
    },
    "settlements": {"settlements_ledger_id_date_idx": ("ledger_id", "date")},
    "ledger_balances": {},
    "ledger_balance_changes": {},
}

# Issue 23: a row's maker (user_id) is SET NULL when their account goes, so a shared ledger keeps
# the row; the ledger's cascade removes a personal ledger's rows with its account. The
# specification's transactions.user_id had no foreign key: it has SET NULL now too.
API_FOREIGN_KEYS = {
    "users": {("bot_ledger_id", "ledgers", "SET NULL")},
    "refresh_tokens": {("user_id", "users", "CASCADE")},
    "categories": {("user_id", "users", "SET NULL"), ("ledger_id", "ledgers", "CASCADE")},
    "budgets": {("user_id", "users", "SET NULL"), ("ledger_id", "ledgers", "CASCADE")},
    "budget_limits": {
        ("budget_id", "budgets", "CASCADE"),
        ("category_id", "categories", "CASCADE"),
    },
    "transactions": {
        ("category_id", "categories", "CASCADE"),
        ("recurring_id", "recurring_transactions", "SET NULL"),
        ("user_id", "users", "SET NULL"),
        ("ledger_id", "ledgers", "CASCADE"),
    },
    "goals": {("user_id", "users", "SET NULL"), ("ledger_id", "ledgers", "CASCADE")},
    "outbox_events": set(),
    "job_runs": set(),
    "bot_commands": {
        ("user_id", "users", "CASCADE"),
        ("transaction_id", "transactions", "SET NULL"),
    },
    "recurring_transactions": {
        ("user_id", "users", "SET NULL"),
        ("ledger_id", "ledgers", "CASCADE"),
        ("category_id", "categories", "CASCADE"),
    },
    "recurring_occurrences": {("recurring_id", "recurring_transactions", "CASCADE")},
    "daily_row_counts": {("user_id", "users", "CASCADE")},
    "ledgers": {("personal_user_id", "users", "CASCADE")},
    "ledger_members": {("ledger_id", "ledgers", "CASCADE"), ("user_id", "users", "CASCADE")},
    "ledger_invitations": {
        ("ledger_id", "ledgers", "CASCADE"),
        ("created_by", "users", "SET NULL"),
        ("used_by", "users", "SET NULL"),
    },
    # The people in shares and settlements keep no foreign key: a departed account's balance
    # must stay (api_app.models.split).
    "transaction_shares": {
        ("transaction_id", "transactions", "CASCADE"),
        ("ledger_id", "ledgers", "CASCADE"),
    },
    "settlements": {("ledger_id", "ledgers", "CASCADE"), ("created_by", "users", "SET NULL")},
    # A ledger's deletion takes its nets along.
    "ledger_balances": {("ledger_id", "ledgers", "CASCADE")},
    # Rows of a ledger deleted in the same transaction are dropped at commit instead.
    "ledger_balance_changes": set(),
}

NOTIFY_COLUMNS = {
    "notification_settings": {
        "id": UUID_KEY,
        "user_id": USER_ID,
        "telegram_chat_id": Column("text", True, None),
        "notify_limit_exceeded": Column("boolean", False, "true"),
        "notify_goal_reached": Column("boolean", False, "true"),
        # Beyond the specification (issue 9): the warning threshold and the monthly digest.
        "warn_at_percent": Column("integer", True, "80"),
        "notify_monthly_digest": Column("boolean", False, "false"),
        # Issue 24: a shared ledger's digest adds who owes whom.
        "digest_balances": Column("boolean", False, "true"),
        # Issue 14: the masked email the bot names when it links a chat.
        "email_hint": Column("text", True, None),
        # Issue 25: the alerts' language (the person's choice and when, else their Telegram's).
        "language": Column("text", True, None),
        "currency": Column("text", True, None),
        "locale_chosen_at": Column("timestamp with time zone", True, None),
        "telegram_language": Column("text", True, None),
        "created_at": NOW,
        "updated_at": NOW,
    },
    "telegram_link_codes": {
        "id": UUID_KEY,
        "user_id": USER_ID,
        # Issue 23: a group's link names its ledger.
        "ledger_id": Column("uuid", True, None),
        "code_digest": Column("text", False, None),
        "expires_at": Column("timestamp with time zone", False, None),
        "used_at": Column("timestamp with time zone", True, None),
        "created_at": NOW,
    },
    "deleted_users": {
        "user_id": USER_ID,
        "deleted_at": NOW,
    },
    # Issue 23: notify_app's copy of each ledger's members (from ledger.* events) and its group.
    "ledgers": {
        "ledger_id": Column("uuid", False, None),
        "name": Column("text", False, None),
        "kind": Column("text", False, None),
        "version": Column("bigint", False, None),
        "group_chat_id": Column("text", True, None),
        "group_language": Column("text", True, None),
        "group_currency": Column("text", True, None),
        "linked_by": Column("uuid", True, None),
        "linked_at": Column("timestamp with time zone", True, None),
        "deleted_at": Column("timestamp with time zone", True, None),
        "updated_at": NOW,
    },
    "ledger_members": {
        "ledger_id": Column("uuid", False, None),
        "user_id": USER_ID,
        "role": Column("text", False, None),
    },
    "token_epochs": {
        "user_id": USER_ID,
        "epoch": Column("integer", False, None),
        "updated_at": NOW,
    },
    "deliveries": {
        "id": UUID_KEY,
        "event_id": Column("uuid", False, None),
        "event_type": Column("text", False, None),
        "channel": Column("text", False, None),
        "user_id": USER_ID,
        "status": Column("text", False, None),
        "reason": Column("text", True, None),
        "chat_id": Column("text", True, None),
        "text": Column("text", False, None),
        "attempts": Column("integer", False, "0"),
        "last_error": Column("text", True, None),
        "transient_failures": Column("integer", False, "0"),
        "rate_limit_waits": Column("integer", False, "0"),
        "due_at": NOW,
        "lease_expires_at": Column("timestamp with time zone", True, None),
        "created_at": NOW,
        "updated_at": NOW,
        "sent_at": Column("timestamp with time zone", True, None),
        "buttons": Column("jsonb", True, None),
        "chart": Column("jsonb", True, None),
    },
}


@pytest.fixture
def migrated(api: Flask, notify: Flask, test_databases: ServiceDatabases) -> ServiceDatabases:
    return test_databases


def test_budget_api_holds_exactly_the_specified_tables(migrated: ServiceDatabases) -> None:
    assert catalog.tables(migrated.api_url) == {*API_COLUMNS, "alembic_version"}


def test_budget_notifications_holds_exactly_its_own_tables(migrated: ServiceDatabases) -> None:
    assert catalog.tables(migrated.notify_url) == {*NOTIFY_COLUMNS, "alembic_version"}


@pytest.mark.parametrize("table", sorted(API_COLUMNS))
def test_api_columns_types_nullability_and_defaults(migrated: ServiceDatabases, table: str) -> None:
    assert catalog.columns(migrated.api_url, table) == API_COLUMNS[table]


@pytest.mark.parametrize("table", sorted(API_COLUMNS))
def test_api_unique_constraints_indexes_and_cascades(
    migrated: ServiceDatabases, table: str
) -> None:
    assert catalog.unique_column_sets(migrated.api_url, table) == API_UNIQUE[table]
    assert catalog.indexes(migrated.api_url, table) == API_INDEXES[table]
    assert catalog.foreign_keys(migrated.api_url, table) == API_FOREIGN_KEYS[table]


def test_transaction_type_is_a_postgres_enum(migrated: ServiceDatabases) -> None:
    assert catalog.enum_labels(migrated.api_url, "transaction_type") == ["INCOME", "EXPENSE"]


def test_notification_settings_columns(migrated: ServiceDatabases) -> None:
    url = migrated.notify_url
    assert catalog.columns(url, "notification_settings") == NOTIFY_COLUMNS["notification_settings"]
    # One account per chat (issue 22 item 1).
    assert catalog.unique_column_sets(url, "notification_settings") == {
        ("user_id",),
        ("telegram_chat_id",),
    }
    assert catalog.foreign_keys(url, "notification_settings") == set()


def test_ledgers_one_group_each_and_members_go_with_their_ledger(
    migrated: ServiceDatabases,
) -> None:
    url = migrated.notify_url
    for table in ("ledgers", "ledger_members"):
        assert catalog.columns(url, table) == NOTIFY_COLUMNS[table]
    assert catalog.unique_column_sets(url, "ledgers") == {("group_chat_id",)}
    assert catalog.foreign_keys(url, "ledger_members") == {("ledger_id", "ledgers", "CASCADE")}
    assert catalog.indexes(url, "ledger_members") == {"ledger_members_user_id_idx": ("user_id",)}


def test_deliveries_are_unique_per_event_and_channel(migrated: ServiceDatabases) -> None:
    url = migrated.notify_url
    assert catalog.columns(url, "deliveries") == NOTIFY_COLUMNS["deliveries"]
    assert catalog.unique_column_sets(url, "deliveries") == {("event_id", "channel")}
    assert catalog.indexes(url, "deliveries") == {
        "deliveries_user_id_created_at_idx": ("user_id", "created_at"),
        "deliveries_pending_due_at_idx": ("due_at",),
    }
    assert catalog.foreign_keys(url, "deliveries") == set()
