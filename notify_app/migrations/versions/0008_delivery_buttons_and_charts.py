"""deliveries: the bot's inline buttons and charts

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30 15:40:00

"""

from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql


# revision identifiers, used by Alembic.
revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "deliveries",
        sa.Column("buttons", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    )
    op.add_column(
        "deliveries",
        sa.Column("chart", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    )


def downgrade() -> None:
    op.drop_column("deliveries", "chart")
    op.drop_column("deliveries", "buttons")
