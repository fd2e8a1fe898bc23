"""notification_settings: the language and currency alerts are written in; event_recipient()
returns them

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06 07:40:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0011"
down_revision = "0010"
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
    notify_monthly_digest boolean{extra}
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
               settings.notify_monthly_digest{extra_columns}
        FROM (VALUES (1)) AS one (row)
        LEFT JOIN notification_settings AS settings
               ON settings.user_id = event_user_id;
END
$$
"""


def upgrade() -> None:
    # The person's own choice (user.registered, user.locale_changed) ...
    op.add_column("notification_settings", sa.Column("language", sa.Text(), nullable=True))
    op.add_column(
        "notification_settings",
        sa.Column("locale_chosen_at", sa.DateTime(timezone=True), nullable=True),
    )
    # The ISO 4217 code of the amounts (user.locale_changed); NULL: the language's own.
    op.add_column("notification_settings", sa.Column("currency", sa.Text(), nullable=True))
    # ... else the Telegram language of whoever linked the chat (/start).
    op.add_column("notification_settings", sa.Column("telegram_language", sa.Text(), nullable=True))
    # The returned columns change, so the function (migration 0009's) is made anew.
    op.execute("DROP FUNCTION event_recipient(uuid)")
    op.execute(
        _FUNCTION.format(
            extra=",\n    language text,\n    telegram_language text,\n    currency text",
            extra_columns=(
                ",\n               settings.language,"
                "\n               settings.telegram_language,"
                "\n               settings.currency"
            ),
        )
    )


def downgrade() -> None:
    op.execute("DROP FUNCTION event_recipient(uuid)")
    op.execute(_FUNCTION.format(extra="", extra_columns=""))
    op.drop_column("notification_settings", "currency")
    op.drop_column("notification_settings", "telegram_language")
    op.drop_column("notification_settings", "locale_chosen_at")
    op.drop_column("notification_settings", "language")
