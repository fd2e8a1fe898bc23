"""Deliveries: the delivery log, sending through Telegram, and the history/test endpoints."""
