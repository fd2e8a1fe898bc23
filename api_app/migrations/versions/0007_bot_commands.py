"""bot_commands: the Telegram bot's commands carried out, with their replies

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30 15:30:00

"""

from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql


# revision identifiers, used by Alembic.
revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "bot_commands",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("chat_id", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("transaction_id", sa.Uuid(), nullable=True),
        sa.Column("choice", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("chosen_by", sa.Uuid(), nullable=True),
        sa.Column("reply", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["transaction_id"],
            ["transactions.id"],
            name=op.f("bot_commands_transaction_id_fkey"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("bot_commands_user_id_fkey"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("bot_commands_pkey")),
    )
    op.create_index(
        op.f("bot_commands_user_id_chat_id_created_at_idx"),
        "bot_commands",
        ["user_id", "chat_id", "created_at"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index(op.f("bot_commands_user_id_chat_id_created_at_idx"), table_name="bot_commands")
    op.drop_table("bot_commands")
