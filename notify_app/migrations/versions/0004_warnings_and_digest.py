"""warnings and digest: notification_settings.warn_at_percent and notify_monthly_digest

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26 10:00:00.000000

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Existing rows take the defaults too: a warning at 80 %, no monthly digest.
    op.add_column(
        "notification_settings",
        sa.Column("warn_at_percent", sa.Integer(), server_default=sa.text("80"), nullable=True),
    )
    op.add_column(
        "notification_settings",
        sa.Column(
            "notify_monthly_digest",
            sa.Boolean(),
            server_default=sa.text("false"),
            nullable=False,
        ),
    )
    op.create_check_constraint(
        op.f("notification_settings_warn_at_percent_check"),
        "notification_settings",
        "warn_at_percent BETWEEN 1 AND 99",
    )


def downgrade() -> None:
    op.drop_constraint(
        op.f("notification_settings_warn_at_percent_check"), "notification_settings", type_="check"
    )
    op.drop_column("notification_settings", "notify_monthly_digest")
    op.drop_column("notification_settings", "warn_at_percent")
