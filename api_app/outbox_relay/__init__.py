"""The outbox relay, `flask --app api_app outbox relay|status`: publishes what the fast path
left behind. Above the unit of work (its purge is one), where api_app.events, which the unit
records into, cannot be."""

from api_app.outbox_relay.cli import outbox_cli

__all__ = ["outbox_cli"]
