"""telegram link codes

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25 17:05:40.809271

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "telegram_link_codes",
        sa.Column("id", sa.Uuid(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("code_digest", sa.Text(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("telegram_link_codes_pkey")),
        sa.UniqueConstraint("code_digest", name=op.f("telegram_link_codes_code_digest_key")),
    )
    op.create_index("telegram_link_codes_user_id_idx", "telegram_link_codes", ["user_id"])


def downgrade() -> None:
    op.drop_index("telegram_link_codes_user_id_idx", table_name="telegram_link_codes")
    op.drop_table("telegram_link_codes")
