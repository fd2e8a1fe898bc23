"""Splits and settling up: transactions.paid_by and .split with transaction_shares (the shares
computed when the expense was written), recurring rules' own paid_by and split,
ledgers.default_split, and settlements (repayments between a ledger's members)

Every existing row keeps NULLs: nothing was split before, so every balance starts at zero.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06 10:00:00.000000

"""

from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql


# revision identifiers, used by Alembic.
revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("ledgers", sa.Column("default_split", postgresql.JSONB(), nullable=True))
    for table in ("transactions", "recurring_transactions"):
        op.add_column(table, sa.Column("paid_by", sa.Uuid(), nullable=True))
        op.add_column(table, sa.Column("split", postgresql.JSONB(), nullable=True))
    op.create_check_constraint(
        op.f("transactions_split_paid_by_check"),
        "transactions",
        "split IS NULL OR paid_by IS NOT NULL",
    )
    op.create_index(
        "transactions_split_paid_by_idx",
        "transactions",
        ["ledger_id", "paid_by"],
        postgresql_include=["amount"],
        postgresql_where=sa.text("split IS NOT NULL"),
    )
    op.create_table(
        "transaction_shares",
        sa.Column("transaction_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("ledger_id", sa.Uuid(), nullable=False),
        sa.Column("amount", sa.Numeric(12, 2), nullable=False),
        sa.CheckConstraint("amount >= 0", name=op.f("transaction_shares_amount_check")),
        sa.ForeignKeyConstraint(
            ["transaction_id"],
            ["transactions.id"],
            name=op.f("transaction_shares_transaction_id_fkey"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["ledger_id"],
            ["ledgers.id"],
            name=op.f("transaction_shares_ledger_id_fkey"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("transaction_id", "user_id", name=op.f("transaction_shares_pkey")),
    )
    op.create_index(
        "transaction_shares_ledger_id_user_id_idx",
        "transaction_shares",
        ["ledger_id", "user_id"],
        postgresql_include=["amount"],
    )
    op.create_table(
        "settlements",
        sa.Column("id", sa.Uuid(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("ledger_id", sa.Uuid(), nullable=False),
        sa.Column("from_user_id", sa.Uuid(), nullable=False),
        sa.Column("to_user_id", sa.Uuid(), nullable=False),
        sa.Column("amount", sa.Numeric(12, 2), nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("created_by", sa.Uuid(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint("amount > 0", name=op.f("settlements_amount_check")),
        sa.CheckConstraint("from_user_id <> to_user_id", name=op.f("settlements_two_people_check")),
        sa.ForeignKeyConstraint(
            ["ledger_id"],
            ["ledgers.id"],
            name=op.f("settlements_ledger_id_fkey"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["created_by"],
            ["users.id"],
            name=op.f("settlements_created_by_fkey"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("settlements_pkey")),
    )
    op.create_index("settlements_ledger_id_date_idx", "settlements", ["ledger_id", "date"])


def downgrade() -> None:
    op.drop_index("settlements_ledger_id_date_idx", table_name="settlements")
    op.drop_table("settlements")
    op.drop_index("transaction_shares_ledger_id_user_id_idx", table_name="transaction_shares")
    op.drop_table("transaction_shares")
    op.drop_index("transactions_split_paid_by_idx", table_name="transactions")
    op.drop_constraint(op.f("transactions_split_paid_by_check"), "transactions", type_="check")
    for table in ("recurring_transactions", "transactions"):
        op.drop_column(table, "split")
        op.drop_column(table, "paid_by")
    op.drop_column("ledgers", "default_split")
