"""notification_settings.email_hint for the bot's "linked" reply; token_epochs for revocation

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30 14:45:00

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("notification_settings", sa.Column("email_hint", sa.Text(), nullable=True))
    op.create_table(
        "token_epochs",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("epoch", sa.Integer(), nullable=False),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("user_id", name=op.f("token_epochs_pkey")),
    )


def downgrade() -> None:
    op.drop_table("token_epochs")
    op.drop_column("notification_settings", "email_hint")
