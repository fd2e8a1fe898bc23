"""recurring_transactions and recurring_occurrences; transactions.recurring_id

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30 14:40:23.255540

"""

from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql


# revision identifiers, used by Alembic.
revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

FREQUENCY = postgresql.ENUM("weekly", "monthly", "yearly", name="recurring_frequency")


def upgrade() -> None:
    FREQUENCY.create(op.get_bind())
    op.create_table(
        "recurring_transactions",
        sa.Column("id", sa.Uuid(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("category_id", sa.Uuid(), nullable=False),
        sa.Column(
            "type",
            postgresql.ENUM("INCOME", "EXPENSE", name="transaction_type", create_type=False),
            nullable=False,
        ),
        sa.Column("amount", sa.Numeric(precision=12, scale=2), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column(
            "frequency",
            postgresql.ENUM(name="recurring_frequency", create_type=False),
            nullable=False,
        ),
        sa.Column("start_date", sa.Date(), nullable=False),
        sa.Column("end_date", sa.Date(), nullable=True),
        sa.Column("next_date", sa.Date(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "end_date >= start_date", name=op.f("recurring_transactions_end_after_start_check")
        ),
        sa.ForeignKeyConstraint(
            ["category_id"],
            ["categories.id"],
            name=op.f("recurring_transactions_category_id_fkey"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("recurring_transactions_user_id_fkey"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("recurring_transactions_pkey")),
    )
    for column in ("category_id", "next_date", "user_id"):
        op.create_index(
            op.f(f"recurring_transactions_{column}_idx"), "recurring_transactions", [column]
        )
    op.create_table(
        "recurring_occurrences",
        sa.Column("recurring_id", sa.Uuid(), nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.ForeignKeyConstraint(
            ["recurring_id"],
            ["recurring_transactions.id"],
            name=op.f("recurring_occurrences_recurring_id_fkey"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("recurring_id", "date", name=op.f("recurring_occurrences_pkey")),
    )
    op.add_column("transactions", sa.Column("recurring_id", sa.Uuid(), nullable=True))
    op.create_index(op.f("transactions_recurring_id_idx"), "transactions", ["recurring_id"])
    op.create_foreign_key(
        op.f("transactions_recurring_id_fkey"),
        "transactions",
        "recurring_transactions",
        ["recurring_id"],
        ["id"],
        ondelete="SET NULL",
    )


def downgrade() -> None:
    op.drop_constraint(op.f("transactions_recurring_id_fkey"), "transactions", type_="foreignkey")
    op.drop_index(op.f("transactions_recurring_id_idx"), table_name="transactions")
    op.drop_column("transactions", "recurring_id")
    op.drop_table("recurring_occurrences")
    op.drop_table("recurring_transactions")
    FREQUENCY.drop(op.get_bind())
