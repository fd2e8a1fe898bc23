"""Per-user rate limits of notify_app: test messages, Telegram links, and every write.

Each would otherwise let one account fill the shared queue (everyone's alerts arrive late) or
grow tables without bound (a down Redis also stops the test message itself, which needs the
broker). How they are counted and answered: service_kit.rate_limits.
"""

from __future__ import annotations

from flask import Flask

from service_kit import rate_limits
from service_kit.rate_limits import config_value, signed_in_user

LIMIT_SETTINGS = (
    "WRITE_RATE_LIMIT_PER_USER",
    "TEST_MESSAGE_RATE_LIMIT",
    "TELEGRAM_LINK_RATE_LIMIT",
)

limiter = rate_limits.new_limiter(signed_in_user)


def init_rate_limits(app: Flask) -> None:
    rate_limits.init_rate_limits(app, limiter, LIMIT_SETTINGS)


# Apply these after the access token was verified (notify_app.access.protected does).
per_user_writes = rate_limits.per_user_writes(limiter)
test_messages = limiter.shared_limit(
    config_value("TEST_MESSAGE_RATE_LIMIT"), scope="test-messages", key_func=signed_in_user
)
telegram_links = limiter.shared_limit(
    config_value("TELEGRAM_LINK_RATE_LIMIT"), scope="telegram-links", key_func=signed_in_user
)
