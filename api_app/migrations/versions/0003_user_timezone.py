"""users.timezone: each user's IANA time zone, UTC by default

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30 14:50:00.000000

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "users",
        sa.Column("timezone", sa.Text(), server_default=sa.text("'UTC'"), nullable=False),
    )


def downgrade() -> None:
    op.drop_column("users", "timezone")
