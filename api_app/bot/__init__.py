"""The Telegram bot's commands, carried out for the user they come from (see event_contract's
BotCommand). notify_app owns the chat; api_app records, undoes and sums, and answers with a
bot.reply event through the outbox."""
