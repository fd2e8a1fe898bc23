"""Closing a month: one budget.month_closed event (the monthly digest) per user with
transactions dated in it, once the month has ended in the user's time zone.

Idempotent per user and month: the event's id is derived from both (uuid5), recorded with
INSERT ... ON CONFLICT DO NOTHING, so closing a month again records nothing new. Once the relay
has purged the published rows, a late re-run records the same ids again; notify_app's delivery
log (unique per event id) then sends nothing twice. A user whose month is still running in their
zone (west of UTC, early on the 1st) is left for a later run: run it hourly on the 1st.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime

from sqlalchemy import select

from api_app.budgets.summary import monthly_summary
from api_app.events import ClosedCategory, budget_month_closed, month_closed_event_id, recorded_ids
from api_app.models import Ledger, Transaction, User
from api_app.months import month_bounds
from api_app.unit_of_work import UnitOfWork
from api_app.users.timezones import today_in
from event_contract import LEDGER_PERSONAL

# Users whose already-recorded events are looked up in one query.
BATCH_SIZE = 500


@dataclass(frozen=True)
class CloseReport:
    users: int
    # Events recorded by this run; the others were recorded before (or wait for a later run).
    emitted: int
    # Users whose month has not ended yet in their time zone.
    waiting: int = 0


def previous_month(today: date) -> tuple[int, int]:
    return (today.year - 1, 12) if today.month == 1 else (today.year, today.month - 1)


def close_month(year: int, month: int, now: datetime | None = None) -> CloseReport:
    """Record the digest event of every user with transactions in the month that has none yet
    and whose month has ended, at `now` (by default: now), in their time zone.

    One transaction per user: a run that stops half-way keeps what it did, and the next run
    does the rest.
    """
    moment = now if now is not None else datetime.now(UTC)
    users = _users_active_in(year, month)
    emitted = waiting = 0
    for start in range(0, len(users), BATCH_SIZE):
        pending = {
            month_closed_event_id(user_id, year, month): (user_id, ledger_id)
            for user_id, ledger_id in users[start : start + BATCH_SIZE]
        }
        with UnitOfWork() as uow:
            for event_id in recorded_ids(uow.session, list(pending)):
                del pending[event_id]
        for user_id, ledger_id in pending.values():
            outcome = _close_for(user_id, ledger_id, year, month, moment)
            emitted += outcome == "closed"
            waiting += outcome == "waiting"
    return CloseReport(users=len(users), emitted=emitted, waiting=waiting)


def _users_active_in(year: int, month: int) -> list[tuple[uuid.UUID, uuid.UUID]]:
    """(user, their personal ledger) for every personal ledger with transactions in the month."""
    first, following = month_bounds(year, month)
    with UnitOfWork() as uow:
        rows = uow.session.execute(
            select(Ledger.personal_user_id, Ledger.id)
            .join(Transaction, Transaction.ledger_id == Ledger.id)
            .where(
                Ledger.kind == LEDGER_PERSONAL,
                Transaction.date >= first,
                Transaction.date < following,
            )
            .distinct()
            .order_by(Ledger.personal_user_id)
        ).all()
    return [(user_id, ledger_id) for user_id, ledger_id in rows if user_id is not None]


def _close_for(
    user_id: uuid.UUID, ledger_id: uuid.UUID, year: int, month: int, now: datetime
) -> str:
    """ "closed" when this call recorded the digest, "waiting" when the month is still running in
    the user's zone, "skipped" otherwise (recorded before, or the account is gone)."""
    with UnitOfWork(user_id) as uow:
        # The user row is held FOR KEY SHARE: deleting the account waits for this commit, so
        # the user.deleted event is recorded after the digest, not before it.
        user = (
            select(User.timezone)
            .where(User.id == user_id)
            .with_for_update(read=True, key_share=True)
        )
        zone = uow.session.scalar(user)
        if zone is None:
            return "skipped"
        if today_in(zone, now) < month_bounds(year, month)[1]:
            return "waiting"
        summary = monthly_summary(ledger_id, year, month)
        added = uow.record_once(
            budget_month_closed(
                user_id=user_id,
                year=year,
                month=month,
                income=summary.income,
                expense=summary.expense,
                categories=[
                    ClosedCategory(category.name, category.limit, category.spent)
                    for category in summary.categories
                ],
            )
        )
    return "closed" if added else "skipped"
