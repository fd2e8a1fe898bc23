"""The transactional outbox: events are rows of budget_api until the broker has accepted them.

`record_event` adds the row to the transaction of a unit of work (`UnitOfWork.record`, the only
way in), so an event exists if and only if the change it describes was committed.
`publish_pending` hands unpublished rows to the broker; the fast path calls it right after a
commit for that commit's events, the relay for everything left over. Both claim rows with FOR
UPDATE SKIP LOCKED, so any number of them can run at once without publishing a row twice (short
of a crash between the broker's answer and the commit, which the worker's delivery log absorbs:
the event id is the deduplication key downstream).

The claim is the one transaction in api_app that no unit of work ends: the fast path runs it
inside a unit's commit (SQLAlchemy's after_commit), and this module lies below the unit of work,
which records into it. tests/test_architecture.py names it.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from api_app.events.publisher import EventPublisher, PublishError
from api_app.models import OutboxEvent
from event_contract import Event
from service_kit.request_ids import current_request_id

# Ids recorded in the session's current transaction, for the fast path after its commit.
RECORDED_IDS_KEY = "outbox_recorded_event_ids"

logger = logging.getLogger(__name__)


def record_event(session: Session, event: Event) -> None:
    """Add `event` to the outbox in `session`'s transaction, which the unit of work commits.

    Nothing is published before that commit: the row is invisible to the relay until then, and
    the fast path runs only after it (see api_app.events.fast_path).
    """
    if event.request_id is None:
        event = event.caused_by(current_request_id())
    session.add(
        OutboxEvent(
            id=event.id,
            type=event.type,
            payload=event.to_message(),
            occurred_at=event.occurred_at,
        )
    )
    session.info.setdefault(RECORDED_IDS_KEY, set()).add(event.id)
    # The event's own request id and user: one grep finds it here, in the outbox and the worker.
    logger.info(
        "recorded %s event %s",
        event.type,
        event.id,
        extra={"request_id": event.request_id, "user_id": str(event.user_id)},
    )


def record_event_once(session: Session, event: Event) -> bool:
    """Like `record_event`, for an event whose id is derived from what it is about (a month's
    close): if the outbox already has that id, nothing is added. True when it was added.

    One INSERT ... ON CONFLICT DO NOTHING, so two concurrent callers cannot both add it.
    """
    if event.request_id is None:
        event = event.caused_by(current_request_id())
    added = session.scalar(
        insert(OutboxEvent)
        .values(
            id=event.id,
            type=event.type,
            payload=event.to_message(),
            occurred_at=event.occurred_at,
        )
        .on_conflict_do_nothing(index_elements=[OutboxEvent.id])
        .returning(OutboxEvent.id)
    )
    if added is None:
        return False
    session.info.setdefault(RECORDED_IDS_KEY, set()).add(event.id)
    return True


def recorded_ids(session: Session, ids: Collection[uuid.UUID]) -> set[uuid.UUID]:
    """Those of `ids` that the outbox holds (published or not, until purged)."""
    if not ids:
        return set()
    return set(session.scalars(select(OutboxEvent.id).where(OutboxEvent.id.in_(ids))))


@dataclass(frozen=True)
class PublishReport:
    published: int
    # The broker refused one: it is probably down, so the rest of the batch was left alone.
    broker_failed: bool


def publish_pending(
    session: Session,
    publisher: EventPublisher,
    *,
    limit: int,
    ids: Collection[uuid.UUID] | None = None,
) -> PublishReport:
    """Publish up to `limit` unpublished events (only those in `ids`, if given), oldest first.

    Runs one transaction on `session`, which must not be in one already. Rows another publisher
    holds are skipped, not waited for. A row is marked published only after the broker accepted
    its message; the first refusal ends the batch, since the broker is then most likely down
    and every further row would only wait out the same timeout.
    """
    claim = (
        select(OutboxEvent)
        .where(OutboxEvent.published_at.is_(None))
        .order_by(OutboxEvent.created_at, OutboxEvent.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    if ids is not None:
        claim = claim.where(OutboxEvent.id.in_(ids))
    published = 0
    with session.begin():
        for row in session.scalars(claim):
            row.attempts += 1
            try:
                publisher.publish(row.payload)
            except PublishError as error:
                row.last_error = str(error)
                return PublishReport(published=published, broker_failed=True)
            row.published_at = datetime.now(UTC)
            row.last_error = None
            published += 1
    return PublishReport(published=published, broker_failed=False)


def purge_published(session: Session, *, retention: timedelta) -> int:
    """Delete events published longer than `retention` ago, in the caller's unit of work;
    return how many."""
    cutoff = datetime.now(UTC) - retention
    purged = session.scalars(
        delete(OutboxEvent).where(OutboxEvent.published_at < cutoff).returning(OutboxEvent.id)
    ).all()
    return len(purged)


@dataclass(frozen=True)
class OutboxStatus:
    unpublished: int
    published: int
    oldest_unpublished_at: datetime | None


def outbox_status(session: Session) -> OutboxStatus:
    unpublished_rows = OutboxEvent.published_at.is_(None)
    row = session.execute(
        select(
            func.count().filter(unpublished_rows),
            func.count().filter(~unpublished_rows),
            func.min(OutboxEvent.created_at).filter(unpublished_rows),
        )
    ).one()
    return OutboxStatus(unpublished=row[0], published=row[1], oldest_unpublished_at=row[2])
