"""ledgers and ledger_members: notify_app's copy of each ledger's members (households), with
the group chat linked to it; telegram_link_codes.ledger_id for the group's link

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06 09:20:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ledgers",
        sa.Column("ledger_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column("group_chat_id", sa.Text(), nullable=True),
        sa.Column("group_language", sa.Text(), nullable=True),
        sa.Column("group_currency", sa.Text(), nullable=True),
        sa.Column("linked_by", sa.Uuid(), nullable=True),
        sa.Column("linked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("ledger_id", name=op.f("ledgers_pkey")),
        sa.UniqueConstraint("group_chat_id", name="ledgers_group_chat_id_key"),
        sa.CheckConstraint("kind IN ('personal', 'shared')", name=op.f("ledgers_kind_check")),
    )
    op.create_table(
        "ledger_members",
        sa.Column("ledger_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("role", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["ledger_id"],
            ["ledgers.ledger_id"],
            name=op.f("ledger_members_ledger_id_fkey"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("ledger_id", "user_id", name=op.f("ledger_members_pkey")),
        sa.CheckConstraint(
            "role IN ('owner', 'member', 'viewer')", name=op.f("ledger_members_role_check")
        ),
    )
    op.create_index(op.f("ledger_members_user_id_idx"), "ledger_members", ["user_id"])
    # A group's link code names its ledger; a private chat's has none.
    op.add_column("telegram_link_codes", sa.Column("ledger_id", sa.Uuid(), nullable=True))


def downgrade() -> None:
    op.drop_column("telegram_link_codes", "ledger_id")
    op.drop_index("ledger_members_user_id_idx", table_name="ledger_members")
    op.drop_table("ledger_members")
    op.drop_table("ledgers")
