"""job_runs: the periods a periodic job has done, so a repeated or late run does nothing

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30 15:10:00

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "job_runs",
        sa.Column("job", sa.Text(), nullable=False),
        sa.Column("period", sa.Text(), nullable=False),
        sa.Column(
            "finished_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("job", "period", name=op.f("job_runs_pkey")),
    )


def downgrade() -> None:
    op.drop_table("job_runs")
