"""notification_settings.digest_balances: whether a shared ledger's month-end digest adds who
owes whom (issue 24; on by default); event_recipient() returns it

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06 10:10:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

_FUNCTION = """
CREATE FUNCTION event_recipient(event_user_id uuid)
RETURNS TABLE (
    forgotten boolean,
    has_settings boolean,
    telegram_chat_id text,
    notify_limit_exceeded boolean,
    notify_goal_reached boolean,
    warn_at_percent integer,
    notify_monthly_digest boolean,
    language text,
    telegram_language text,
    currency text{extra}
)
LANGUAGE plpgsql VOLATILE
AS $$
BEGIN
    -- The key of notify_app.auth.lock_user: hashtext of the id as text.
    PERFORM pg_advisory_xact_lock(hashtext(event_user_id::text));
    RETURN QUERY
        SELECT EXISTS (
                   SELECT FROM deleted_users AS deleted
                   WHERE deleted.user_id = event_user_id
               ),
               settings.user_id IS NOT NULL,
               settings.telegram_chat_id,
               settings.notify_limit_exceeded,
               settings.notify_goal_reached,
               settings.warn_at_percent,
               settings.notify_monthly_digest,
               settings.language,
               settings.telegram_language,
               settings.currency{extra_columns}
        FROM (VALUES (1)) AS one (row)
        LEFT JOIN notification_settings AS settings
               ON settings.user_id = event_user_id;
END
$$
"""


def upgrade() -> None:
    op.add_column(
        "notification_settings",
        sa.Column("digest_balances", sa.Boolean(), server_default=sa.true(), nullable=False),
    )
    # The returned columns change, so the function (migration 0011's) is made anew.
    op.execute("DROP FUNCTION event_recipient(uuid)")
    op.execute(
        _FUNCTION.format(
            extra=",\n    digest_balances boolean",
            extra_columns=",\n               settings.digest_balances",
        )
    )


def downgrade() -> None:
    op.execute("DROP FUNCTION event_recipient(uuid)")
    op.execute(_FUNCTION.format(extra="", extra_columns=""))
    op.drop_column("notification_settings", "digest_balances")
