"""The bot's conversation: which update is a command, who sent it, and where it goes.

notify_app knows the chat and its user; what a command does with transactions is api_app's,
reached through the broker only (event_contract.BotCommand), and answered by a bot.reply event
that the worker sends like any notification.
"""
