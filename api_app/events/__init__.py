"""Events for notify_app: the transactional outbox, its fast path and its relay.

A use case that emits an event calls `record_event(<builder>(...))` inside its transaction and
commits as usual; the event is published right after the commit, or by the relay later.
"""

from __future__ import annotations

from flask import Flask

from api_app.events.builders import (
    budget_limit_exceeded,
    goal_reached,
    user_deleted,
    user_registered,
)
from api_app.events.cli import outbox_cli
from api_app.events.fast_path import PUBLISHER_EXTENSION, install_fast_path
from api_app.events.outbox import record_event
from api_app.events.publisher import EventPublisher

__all__ = [
    "budget_limit_exceeded",
    "goal_reached",
    "init_app",
    "record_event",
    "user_deleted",
    "user_registered",
]


def init_app(app: Flask) -> None:
    app.extensions[PUBLISHER_EXTENSION] = EventPublisher(
        app.config["BROKER_URL"], timeout_seconds=app.config["OUTBOX_PUBLISH_TIMEOUT_SECONDS"]
    )
    install_fast_path()
    app.cli.add_command(outbox_cli)
