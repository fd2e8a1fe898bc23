"""deliveries: due_at and a lease, so the sweep can hand a crashed worker's send to another

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30 15:00:00

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "deliveries",
        sa.Column("transient_failures", sa.Integer(), server_default="0", nullable=False),
    )
    op.add_column(
        "deliveries",
        sa.Column("rate_limit_waits", sa.Integer(), server_default="0", nullable=False),
    )
    op.add_column(
        "deliveries",
        sa.Column(
            "due_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
    )
    op.add_column(
        "deliveries", sa.Column("lease_expires_at", sa.DateTime(timezone=True), nullable=True)
    )
    op.create_index(
        "deliveries_pending_due_at_idx",
        "deliveries",
        ["due_at"],
        postgresql_where=sa.text("status = 'pending'"),
    )


def downgrade() -> None:
    op.drop_index("deliveries_pending_due_at_idx", table_name="deliveries")
    op.drop_column("deliveries", "lease_expires_at")
    op.drop_column("deliveries", "due_at")
    op.drop_column("deliveries", "rate_limit_waits")
    op.drop_column("deliveries", "transient_failures")
