"""A user's notification settings: where to send Telegram messages, and which ones."""
