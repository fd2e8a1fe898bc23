"""users.token_epoch (instant revocation of access tokens); refresh_tokens.consumed_at (grace)

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30 14:50:00.000000

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "users",
        sa.Column("token_epoch", sa.Integer(), server_default=sa.text("0"), nullable=False),
    )
    op.add_column(
        "refresh_tokens",
        sa.Column("consumed_at", sa.DateTime(timezone=True), nullable=True),
    )


def downgrade() -> None:
    op.drop_column("refresh_tokens", "consumed_at")
    op.drop_column("users", "token_epoch")
