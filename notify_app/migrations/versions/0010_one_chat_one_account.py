"""One account per Telegram chat: unlink chats no deep link vouches for, then a unique index

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06 07:45:00

"""

from alembic import op


# revision identifiers, used by Alembic.
revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Chat ids typed into the old PATCH (before the deep link) were never proven to be the
    # user's. Link codes never recorded the chat that used them, so the evidence there is, is
    # per user: a used code of theirs still on file (used codes are purged hourly). In doubt,
    # unlink: linking again is one tap for the owner, a wrong link hands their alerts and their
    # bot to someone else (docs/architecture.md, "One chat, one account").
    op.execute(
        """
        UPDATE notification_settings AS settings
        SET telegram_chat_id = NULL, updated_at = now()
        WHERE telegram_chat_id IS NOT NULL
          AND NOT EXISTS (
              SELECT FROM telegram_link_codes AS code
              WHERE code.user_id = settings.user_id AND code.used_at IS NOT NULL
          )
        """
    )
    # A chat still on several accounts: which one its owner meant cannot be told, so none.
    op.execute(
        """
        UPDATE notification_settings
        SET telegram_chat_id = NULL, updated_at = now()
        WHERE telegram_chat_id IN (
            SELECT telegram_chat_id FROM notification_settings
            WHERE telegram_chat_id IS NOT NULL
            GROUP BY telegram_chat_id HAVING count(*) > 1
        )
        """
    )
    op.create_unique_constraint(
        "notification_settings_telegram_chat_id_key", "notification_settings", ["telegram_chat_id"]
    )


def downgrade() -> None:
    # The unlinked chats stay unlinked: nothing records what they were.
    op.drop_constraint(
        "notification_settings_telegram_chat_id_key", "notification_settings", type_="unique"
    )
