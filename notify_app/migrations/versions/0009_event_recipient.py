"""event_recipient(): an event's user locked, then their tombstone and settings, in one call

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30 19:10:00

"""

from alembic import op

# revision identifiers, used by Alembic.
revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Every event takes its user's lock and then reads the user's tombstone and settings. As two
    # statements that is two round trips; as one SELECT it would read with a snapshot taken
    # before the lock was granted and miss a user.deleted committed meanwhile. In a VOLATILE
    # function each statement takes a fresh snapshot, so the read after the PERFORM sees
    # everything committed before the lock was ours: one round trip, same guarantee.
    op.execute(
        """
        CREATE FUNCTION event_recipient(event_user_id uuid)
        RETURNS TABLE (
            forgotten boolean,
            has_settings boolean,
            telegram_chat_id text,
            notify_limit_exceeded boolean,
            notify_goal_reached boolean,
            warn_at_percent integer,
            notify_monthly_digest boolean
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
                       settings.notify_monthly_digest
                FROM (VALUES (1)) AS one (row)
                LEFT JOIN notification_settings AS settings
                       ON settings.user_id = event_user_id;
        END
        $$
        """
    )


def downgrade() -> None:
    op.execute("DROP FUNCTION event_recipient(uuid)")
