"""The fast path: a commit that recorded events publishes them right after it.

Chosen over an explicit `publish_pending(ids)` in every service function because wiring a use
case is then one call, `record_event`, and publishing cannot be forgotten, nor done before the
commit: it hangs on SQLAlchemy's after_commit, which fires only once the database has
committed, and a rollback drops the recorded ids with the rows. Failures are logged and
swallowed: the change is committed, the request must succeed, and the relay publishes what is
left.
"""

from __future__ import annotations

import logging
import uuid

from flask import current_app, has_app_context
from sqlalchemy import event
from sqlalchemy.orm import Session

from api_app.events.outbox import RECORDED_IDS_KEY, publish_pending
from api_app.events.publisher import EventPublisher
from api_app.extensions import db

logger = logging.getLogger(__name__)

PUBLISHER_EXTENSION = "event_publisher"


def install_fast_path() -> None:
    """Listen on api_app's session factory (not on every SQLAlchemy session of the process)."""
    if not event.contains(db.session, "after_commit", _publish_after_commit):
        event.listen(db.session, "after_commit", _publish_after_commit)
        event.listen(db.session, "after_rollback", _forget_recorded_ids)


def _forget_recorded_ids(session: Session) -> None:
    session.info.pop(RECORDED_IDS_KEY, None)


def _publish_after_commit(session: Session) -> None:
    recorded: set[uuid.UUID] | None = session.info.pop(RECORDED_IDS_KEY, None)
    if not recorded or not has_app_context():
        return
    publisher: EventPublisher = current_app.extensions[PUBLISHER_EXTENSION]
    try:
        # The committing session cannot run SQL inside after_commit: a session of its own claims
        # the rows, exactly like the relay does.
        with Session(db.engine) as publishing_session:
            report = publish_pending(
                publishing_session, publisher, limit=len(recorded), ids=recorded
            )
    except Exception:
        # Never fail a request whose change is already committed; the relay will publish.
        logger.warning("fast-path publish failed; the outbox relay will retry", exc_info=True)
        return
    if report.broker_failed:
        logger.warning("the broker refused an event; the outbox relay will publish it")
