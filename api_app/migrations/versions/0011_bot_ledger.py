"""users.bot_ledger_id: the ledger a person's private /spent records into (None: personal)

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06 10:00:00.000000

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("users", sa.Column("bot_ledger_id", sa.Uuid(), nullable=True))
    # A ledger deleted (or left: the bot checks membership) leaves the person's personal one.
    op.create_foreign_key(
        op.f("users_bot_ledger_id_fkey"),
        "users",
        "ledgers",
        ["bot_ledger_id"],
        ["id"],
        ondelete="SET NULL",
    )
    op.create_index("users_bot_ledger_id_idx", "users", ["bot_ledger_id"])


def downgrade() -> None:
    op.drop_index("users_bot_ledger_id_idx", table_name="users")
    op.drop_constraint(op.f("users_bot_ledger_id_fkey"), "users", type_="foreignkey")
    op.drop_column("users", "bot_ledger_id")
