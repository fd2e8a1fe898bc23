"""Events for notify_app: the transactional outbox and its fast path (its relay, which purges
in a unit of work, is api_app.outbox_relay).

A use case records an event through its unit of work (api_app.unit_of_work), which adds it to
the outbox inside its transaction; the event is published right after the commit, or by the
relay later. This package knows nothing of budgets or goals: the crossings that emit events are
detected in api_app.crossings, which builds them with the builders here.
"""

from __future__ import annotations

from flask import Flask

from api_app.events.builders import (
    budget_limit_exceeded,
    budget_month_closed,
    budget_threshold_reached,
    goal_reached,
    household_month_closed_event_id,
    ledger_deleted,
    ledger_membership_changed,
    month_closed_event_id,
    user_deleted,
    user_locale_changed,
    user_registered,
    user_sessions_revoked,
)
from api_app.events.fast_path import PUBLISHER_EXTENSION, install_fast_path
from api_app.events.outbox import recorded_ids
from api_app.events.publisher import EventPublisher
from event_contract import ClosedCategory

__all__ = [
    "ClosedCategory",
    "budget_limit_exceeded",
    "budget_month_closed",
    "budget_threshold_reached",
    "goal_reached",
    "household_month_closed_event_id",
    "init_app",
    "ledger_deleted",
    "ledger_membership_changed",
    "month_closed_event_id",
    "recorded_ids",
    "user_deleted",
    "user_locale_changed",
    "user_registered",
    "user_sessions_revoked",
]


def init_app(app: Flask) -> None:
    app.extensions[PUBLISHER_EXTENSION] = EventPublisher(
        app.config["BROKER_URL"], timeout_seconds=app.config["OUTBOX_PUBLISH_TIMEOUT_SECONDS"]
    )
    install_fast_path()
