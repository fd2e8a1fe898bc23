"""Events for notify_app: the transactional outbox, its fast path and its relay.

A use case that emits an event calls `record_event(<builder>(...))` inside its transaction and
commits as usual; the event is published right after the commit, or by the relay later. Limit
crossings (warning thresholds included) and reached goals are detected by `watch_limits` and
`lock_goal`+`watch_goal` (see detection.py), which record their events themselves.
"""

from __future__ import annotations

from flask import Flask

from api_app.events.builders import (
    ClosedCategory,
    budget_limit_exceeded,
    budget_month_closed,
    budget_threshold_reached,
    goal_reached,
    month_closed_event_id,
    user_deleted,
    user_registered,
    user_sessions_revoked,
)
from api_app.events.cli import outbox_cli
from api_app.events.detection import CategoryMonth, lock_goal, watch_goal, watch_limits
from api_app.events.fast_path import PUBLISHER_EXTENSION, install_fast_path
from api_app.events.outbox import record_event, record_event_once, recorded_ids
from api_app.events.publisher import EventPublisher

__all__ = [
    "CategoryMonth",
    "ClosedCategory",
    "budget_limit_exceeded",
    "budget_month_closed",
    "budget_threshold_reached",
    "goal_reached",
    "init_app",
    "lock_goal",
    "month_closed_event_id",
    "record_event",
    "record_event_once",
    "recorded_ids",
    "user_deleted",
    "user_registered",
    "user_sessions_revoked",
    "watch_goal",
    "watch_limits",
]


def init_app(app: Flask) -> None:
    app.extensions[PUBLISHER_EXTENSION] = EventPublisher(
        app.config["BROKER_URL"], timeout_seconds=app.config["OUTBOX_PUBLISH_TIMEOUT_SECONDS"]
    )
    install_fast_path()
    app.cli.add_command(outbox_cli)
