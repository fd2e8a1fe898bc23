"""deleted_users: tombstones, so late events cannot bring a deleted account's data back

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25 18:50:00

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "deleted_users",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column(
            "deleted_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("user_id", name=op.f("deleted_users_pkey")),
    )


def downgrade() -> None:
    op.drop_table("deleted_users")
