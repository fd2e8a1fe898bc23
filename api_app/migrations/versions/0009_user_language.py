"""users.language and users.currency: the language a person chose for the bot and the alerts
("en", "ru") and the currency their amounts are shown in (ISO 4217)

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06 07:50:00.000000

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # NULL: none chosen, the Telegram language of the chat's user decides, else English.
    op.add_column("users", sa.Column("language", sa.Text(), nullable=True))
    # NULL: the language's own (Russian: RUB; English: plain amounts).
    op.add_column("users", sa.Column("currency", sa.Text(), nullable=True))


def downgrade() -> None:
    op.drop_column("users", "currency")
    op.drop_column("users", "language")
