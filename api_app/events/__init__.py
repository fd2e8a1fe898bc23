"""Events for notify_app: the transactional outbox and its fast path (its relay, which purges
in a unit of work, is api_app.outbox_relay).

A use case records an event through its unit of work (api_app.unit_of_work), which adds it to
the outbox inside its transaction; the event is published right after the commit, or by the
relay later. This package knows nothing of budgets or goals: the crossings that emit events are
detected in api_app.crossings, which builds them from the contract's payload types; the
builders here are for the events whose id or values api_app derives (the monthly digest).
"""

from __future__ import annotations

from flask import Flask

from api_app.events.builders import (
    budget_month_closed,
    household_month_closed_event_id,
    month_closed_event_id,
)
from api_app.events.fast_path import PUBLISHER_EXTENSION, install_fast_path
from api_app.events.outbox import recorded_ids
from api_app.events.publisher import EventPublisher

__all__ = [
    "budget_month_closed",
    "household_month_closed_event_id",
    "init_app",
    "month_closed_event_id",
    "recorded_ids",
]


def init_app(app: Flask) -> None:
    app.extensions[PUBLISHER_EXTENSION] = EventPublisher(
        app.config["BROKER_URL"], timeout_seconds=app.config["OUTBOX_PUBLISH_TIMEOUT_SECONDS"]
    )
    install_fast_path()
