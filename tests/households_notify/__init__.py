"""Issue 23, notify_app's side: ledgers learned from events, group chats, household alerts."""
