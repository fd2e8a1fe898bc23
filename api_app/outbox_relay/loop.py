"""The outbox relay: publishes whatever the fast path left behind (`--once` also purges old rows;
the running system purges them on Celery beat's schedule, see scheduler/).

`flask --app api_app outbox relay` runs it (make run and compose start one). Several relays may
run at once: each claims its rows with FOR UPDATE SKIP LOCKED.
"""

from __future__ import annotations

import logging
import signal
import threading
from dataclasses import dataclass
from types import FrameType

from flask import Flask
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from api_app.events.fast_path import PUBLISHER_EXTENSION
from api_app.events.outbox import publish_pending
from api_app.events.publisher import EventPublisher
from api_app.extensions import db
from api_app.jobs import purge_outbox

logger = logging.getLogger(__name__)


@dataclass
class RelaySummary:
    published: int = 0
    purged: int = 0
    # The last pass could not publish everything (broker or database unreachable).
    left_behind: bool = False


class StopSignal:
    """SIGTERM and SIGINT end the loop after the current batch, not in the middle of it."""

    def __init__(self) -> None:
        self.event = threading.Event()

    def install(self) -> None:
        for handled in (signal.SIGTERM, signal.SIGINT):
            signal.signal(handled, self._handle)

    def _handle(self, signal_number: int, _frame: FrameType | None) -> None:
        self.event.set()


def relay_pass(app: Flask, *, summary: RelaySummary) -> bool:
    """One batch; True when a full batch went out, so more may be waiting right now."""
    publisher: EventPublisher = app.extensions[PUBLISHER_EXTENSION]
    batch_size: int = app.config["OUTBOX_RELAY_BATCH_SIZE"]
    try:
        with Session(db.engine) as session:
            report = publish_pending(session, publisher, limit=batch_size)
    except SQLAlchemyError:
        logger.warning("outbox relay: database unavailable", exc_info=True)
        summary.left_behind = True
        return False
    summary.published += report.published
    summary.left_behind = report.broker_failed
    if report.broker_failed:
        logger.warning("outbox relay: the broker refused an event; retrying shortly")
        return False
    return report.published == batch_size


def purge_pass(summary: RelaySummary) -> None:
    try:
        summary.purged += purge_outbox()
    except SQLAlchemyError:
        logger.warning("outbox relay: purge failed, database unavailable", exc_info=True)


def run_relay(app: Flask, *, once: bool, stop: threading.Event) -> RelaySummary:
    """Relay until `stop` is set; with `once`, until nothing is left (or the broker refuses)."""
    interval: float = app.config["OUTBOX_RELAY_INTERVAL_SECONDS"]
    summary = RelaySummary()
    with app.app_context():
        while not stop.is_set():
            more_waiting = relay_pass(app, summary=summary)
            if more_waiting:
                continue
            if once:
                purge_pass(summary)
                break
            stop.wait(interval)
    return summary
