"""Each member's net per ledger kept by triggers (ledger_balances), so the balances read one row
per member whatever the ledger's history; backfilled from the entries.

Statement triggers on transactions, transaction_shares and settlements note every change of a net
into ledger_balance_changes (only the writing transaction ever sees its rows); a deferred trigger
adds them to ledger_balances at commit, summed per person and in (ledger_id, user_id) order. A
transaction so takes its locks on ledger_balances last and in one order: two concurrent writers
cannot deadlock on them, whatever order their statements touched people in. Every path that
writes the entries (the API, imports, recurring rules, the bot, cascades) keeps the nets right,
with nothing for the application to remember.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06 10:45:00.000000

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

# The signed entries of each table, as (ledger_id, user_id, amount) read from `{rows}`: what
# a payer paid for a split expense, a share owed, a repayment made (+) and received (-).
ENTRIES = {
    "transactions": (
        "SELECT ledger_id, paid_by AS user_id, amount FROM {rows} WHERE split IS NOT NULL"
    ),
    "transaction_shares": "SELECT ledger_id, user_id, -amount AS amount FROM {rows}",
    "settlements": (
        "SELECT ledger_id, from_user_id AS user_id, amount FROM {rows}"
        " UNION ALL SELECT ledger_id, to_user_id, -amount FROM {rows}"
    ),
}

NOTE_CHANGES = """
CREATE FUNCTION {table}_note_balance_changes() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO ledger_balance_changes (ledger_id, user_id, change)
        SELECT ledger_id, user_id, sum(amount) FROM ({new}) AS entries
        GROUP BY ledger_id, user_id HAVING sum(amount) <> 0;
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO ledger_balance_changes (ledger_id, user_id, change)
        SELECT ledger_id, user_id, -sum(amount) FROM ({old}) AS entries
        GROUP BY ledger_id, user_id HAVING sum(amount) <> 0;
    ELSE
        INSERT INTO ledger_balance_changes (ledger_id, user_id, change)
        SELECT ledger_id, user_id, sum(amount)
        FROM ({new} UNION ALL SELECT ledger_id, user_id, -amount FROM ({old}) AS was) AS entries
        GROUP BY ledger_id, user_id HAVING sum(amount) <> 0;
    END IF;
    RETURN NULL;
END
$$
"""

# At commit: this transaction's changes (no other transaction's rows are visible) summed per
# person, added in one order. A deleted ledger's changes are dropped: its nets went with it.
APPLY_CHANGES = """
CREATE FUNCTION ledger_balances_apply_changes() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    WITH taken AS (
        DELETE FROM ledger_balance_changes RETURNING ledger_id, user_id, change
    ), summed AS (
        SELECT ledger_id, user_id, sum(change) AS change FROM taken
        GROUP BY ledger_id, user_id HAVING sum(change) <> 0
    )
    INSERT INTO ledger_balances (ledger_id, user_id, net)
    SELECT ledger_id, user_id, change FROM summed
    WHERE EXISTS (SELECT FROM ledgers WHERE ledgers.id = summed.ledger_id)
    ORDER BY ledger_id, user_id
    ON CONFLICT (ledger_id, user_id) DO UPDATE SET net = ledger_balances.net + excluded.net;
    RETURN NULL;
END
$$
"""


def upgrade() -> None:
    op.create_table(
        "ledger_balances",
        sa.Column("ledger_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        # Unbounded: a sum of many amounts must never overflow and fail the write that adds one.
        sa.Column("net", sa.Numeric(), nullable=False),
        sa.ForeignKeyConstraint(
            ["ledger_id"],
            ["ledgers.id"],
            name=op.f("ledger_balances_ledger_id_fkey"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("ledger_id", "user_id", name=op.f("ledger_balances_pkey")),
    )
    # Rows live only inside the transaction that wrote them: nothing to log or to replicate.
    op.create_table(
        "ledger_balance_changes",
        sa.Column("ledger_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("change", sa.Numeric(), nullable=False),
        prefixes=["UNLOGGED"],
    )
    op.execute(APPLY_CHANGES)
    op.execute(
        "CREATE CONSTRAINT TRIGGER ledger_balance_changes_apply"
        " AFTER INSERT ON ledger_balance_changes DEFERRABLE INITIALLY DEFERRED"
        " FOR EACH ROW EXECUTE FUNCTION ledger_balances_apply_changes()"
    )
    # Triggers before the backfill: their lock on each table holds writers off until this
    # migration commits, so no entry is counted twice or missed.
    for table, entries in ENTRIES.items():
        new, old = entries.format(rows="new_rows"), entries.format(rows="old_rows")
        op.execute(NOTE_CHANGES.format(table=table, new=new, old=old))
        for event, referencing in (
            ("INSERT", "NEW TABLE AS new_rows"),
            ("UPDATE", "OLD TABLE AS old_rows NEW TABLE AS new_rows"),
            ("DELETE", "OLD TABLE AS old_rows"),
        ):
            op.execute(
                f"CREATE TRIGGER {table}_{event.lower()}_balances AFTER {event} ON {table}"
                f" REFERENCING {referencing} FOR EACH STATEMENT"
                f" EXECUTE FUNCTION {table}_note_balance_changes()"
            )
    everything = " UNION ALL ".join(
        entries.format(rows=table) for table, entries in ENTRIES.items()
    )
    backfill = f"SELECT ledger_id, user_id, sum(amount) FROM ({everything}) AS entries"  # noqa: S608 - constants
    op.execute(
        f"INSERT INTO ledger_balances (ledger_id, user_id, net) {backfill}"
        " GROUP BY ledger_id, user_id HAVING sum(amount) <> 0"
    )


def downgrade() -> None:
    for table in ENTRIES:
        for event in ("insert", "update", "delete"):
            op.execute(f"DROP TRIGGER {table}_{event}_balances ON {table}")
        op.execute(f"DROP FUNCTION {table}_note_balance_changes()")
    op.drop_table("ledger_balance_changes")
    op.execute("DROP FUNCTION ledger_balances_apply_changes()")
    op.drop_table("ledger_balances")
