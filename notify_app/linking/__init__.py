"""Linking a Telegram chat to a user with the bot's /start deep link, and unlinking with /stop."""
