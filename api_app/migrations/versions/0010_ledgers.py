"""ledgers (households): every account's personal ledger, with all its rows moved into it;
ledger_members, ledger_invitations; users.display_name

Categories, budgets, transactions, recurring rules and goals get ledger_id (NOT NULL, ON DELETE
CASCADE); their user_id now says who made the row and becomes nullable, ON DELETE SET NULL, so a
shared ledger keeps a departed member's rows (a personal ledger goes with its account through
ledgers.personal_user_id). transactions.user_id gets the foreign key it lacked for that.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06 09:30:00.000000

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

# The tables that move into ledgers (transactions take their category's ledger).
OWNED = ("categories", "budgets", "recurring_transactions", "goals")
BUDGETING = (*OWNED, "transactions")


def upgrade() -> None:
    op.add_column("users", sa.Column("display_name", sa.Text(), nullable=True))
    op.create_table(
        "ledgers",
        sa.Column("id", sa.Uuid(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("personal_user_id", sa.Uuid(), nullable=True),
        sa.Column("version", sa.Integer(), server_default=sa.text("1"), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint("kind IN ('personal', 'shared')", name=op.f("ledgers_kind_check")),
        sa.CheckConstraint(
            "(kind = 'personal') = (personal_user_id IS NOT NULL)",
            name=op.f("ledgers_personal_user_check"),
        ),
        sa.ForeignKeyConstraint(
            ["personal_user_id"],
            ["users.id"],
            name=op.f("ledgers_personal_user_id_fkey"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("ledgers_pkey")),
        sa.UniqueConstraint("personal_user_id", name=op.f("ledgers_personal_user_id_key")),
    )
    op.create_table(
        "ledger_members",
        sa.Column("ledger_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("role", sa.Text(), nullable=False),
        sa.Column(
            "joined_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "role IN ('member', 'owner', 'viewer')", name=op.f("ledger_members_role_check")
        ),
        sa.ForeignKeyConstraint(
            ["ledger_id"],
            ["ledgers.id"],
            name=op.f("ledger_members_ledger_id_fkey"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("ledger_members_user_id_fkey"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("ledger_id", "user_id", name=op.f("ledger_members_pkey")),
    )
    op.create_index("ledger_members_user_id_idx", "ledger_members", ["user_id"])
    op.create_table(
        "ledger_invitations",
        sa.Column("id", sa.Uuid(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("ledger_id", sa.Uuid(), nullable=False),
        sa.Column("code_digest", sa.Text(), nullable=False),
        sa.Column("role", sa.Text(), nullable=False),
        sa.Column("created_by", sa.Uuid(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("used_by", sa.Uuid(), nullable=True),
        sa.CheckConstraint(
            "role IN ('member', 'owner', 'viewer')", name=op.f("ledger_invitations_role_check")
        ),
        sa.ForeignKeyConstraint(
            ["ledger_id"],
            ["ledgers.id"],
            name=op.f("ledger_invitations_ledger_id_fkey"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["created_by"],
            ["users.id"],
            name=op.f("ledger_invitations_created_by_fkey"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["used_by"],
            ["users.id"],
            name=op.f("ledger_invitations_used_by_fkey"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("ledger_invitations_pkey")),
        sa.UniqueConstraint("code_digest", name=op.f("ledger_invitations_code_digest_key")),
    )
    op.create_index("ledger_invitations_ledger_id_idx", "ledger_invitations", ["ledger_id"])

    # Every account's personal ledger, owned by it, and everything it had moved into it.
    op.execute(
        "INSERT INTO ledgers (name, kind, personal_user_id, created_at)"
        " SELECT 'Personal', 'personal', id, created_at FROM users"
    )
    op.execute(
        "INSERT INTO ledger_members (ledger_id, user_id, role, joined_at)"
        " SELECT id, personal_user_id, 'owner', created_at FROM ledgers"
    )
    for table in BUDGETING:
        op.add_column(table, sa.Column("ledger_id", sa.Uuid(), nullable=True))
    for table in OWNED:
        op.execute(
            f"UPDATE {table} SET ledger_id = ledgers.id FROM ledgers"  # noqa: S608 - a constant
            f" WHERE ledgers.personal_user_id = {table}.user_id"
        )
    # A transaction sits in its category's ledger, whatever its user_id (which had no key).
    op.execute(
        "UPDATE transactions SET ledger_id = categories.ledger_id FROM categories"
        " WHERE categories.id = transactions.category_id"
    )
    op.execute("UPDATE transactions SET user_id = NULL WHERE user_id NOT IN (SELECT id FROM users)")
    for table in BUDGETING:
        op.alter_column(table, "ledger_id", nullable=False)
        op.create_foreign_key(
            op.f(f"{table}_ledger_id_fkey"),
            table,
            "ledgers",
            ["ledger_id"],
            ["id"],
            ondelete="CASCADE",
        )
        op.alter_column(table, "user_id", nullable=True)
        if table != "transactions":
            op.drop_constraint(op.f(f"{table}_user_id_fkey"), table, type_="foreignkey")
        op.create_foreign_key(
            op.f(f"{table}_user_id_fkey"),
            table,
            "users",
            ["user_id"],
            ["id"],
            ondelete="SET NULL",
        )

    # What was unique per user is unique per ledger; the queries read by ledger.
    op.drop_constraint("categories_user_id_name_key", "categories", type_="unique")
    op.create_unique_constraint(
        "categories_ledger_id_name_key", "categories", ["ledger_id", "name"]
    )
    op.drop_constraint("budgets_user_id_month_year_key", "budgets", type_="unique")
    op.create_unique_constraint(
        "budgets_ledger_id_month_year_key", "budgets", ["ledger_id", "month", "year"]
    )
    op.create_index("transactions_ledger_id_date_idx", "transactions", ["ledger_id", "date"])
    op.create_index("goals_ledger_id_idx", "goals", ["ledger_id"])
    op.create_index("recurring_transactions_ledger_id_idx", "recurring_transactions", ["ledger_id"])


def downgrade() -> None:
    """Back to one set of rows per account: a shared ledger's rows, and rows whose maker is
    gone, cannot go back and are deleted."""
    op.execute("DELETE FROM ledgers WHERE kind = 'shared'")
    for table in BUDGETING:
        op.execute(f"DELETE FROM {table} WHERE user_id IS NULL")  # noqa: S608 - a constant
    op.drop_index("recurring_transactions_ledger_id_idx", table_name="recurring_transactions")
    op.drop_index("goals_ledger_id_idx", table_name="goals")
    op.drop_index("transactions_ledger_id_date_idx", table_name="transactions")
    op.drop_constraint("budgets_ledger_id_month_year_key", "budgets", type_="unique")
    op.create_unique_constraint(
        "budgets_user_id_month_year_key", "budgets", ["user_id", "month", "year"]
    )
    op.drop_constraint("categories_ledger_id_name_key", "categories", type_="unique")
    op.create_unique_constraint("categories_user_id_name_key", "categories", ["user_id", "name"])
    for table in BUDGETING:
        op.drop_constraint(op.f(f"{table}_user_id_fkey"), table, type_="foreignkey")
        if table != "transactions":
            op.create_foreign_key(
                op.f(f"{table}_user_id_fkey"),
                table,
                "users",
                ["user_id"],
                ["id"],
                ondelete="CASCADE",
            )
        op.alter_column(table, "user_id", nullable=False)
        op.drop_constraint(op.f(f"{table}_ledger_id_fkey"), table, type_="foreignkey")
        op.drop_column(table, "ledger_id")
    op.drop_index("ledger_invitations_ledger_id_idx", table_name="ledger_invitations")
    op.drop_table("ledger_invitations")
    op.drop_index("ledger_members_user_id_idx", table_name="ledger_members")
    op.drop_table("ledger_members")
    op.drop_table("ledgers")
    op.drop_column("users", "display_name")
