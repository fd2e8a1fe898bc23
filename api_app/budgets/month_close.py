"""Closing a month: one budget.month_closed event (the monthly digest) per user with
transactions dated in it.

Idempotent per user and month: the event's id is derived from both (uuid5), recorded with
INSERT ... ON CONFLICT DO NOTHING, so closing a month again records nothing new. Once the relay
has purged the published rows, a late re-run records the same ids again; notify_app's delivery
log (unique per event id) then sends nothing twice.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select

from api_app.budgets.spending import month_bounds
from api_app.budgets.summary import monthly_summary
from api_app.events import ClosedCategory, budget_month_closed, month_closed_event_id, recorded_ids
from api_app.extensions import db
from api_app.models import Transaction, User
from api_app.unit_of_work import UnitOfWork

# Users whose already-recorded events are looked up in one query.
BATCH_SIZE = 500


@dataclass(frozen=True)
class CloseReport:
    users: int
    # Events recorded by this run; the others were recorded before.
    emitted: int


def previous_month(today: date) -> tuple[int, int]:
    return (today.year - 1, 12) if today.month == 1 else (today.year, today.month - 1)


def close_month(year: int, month: int) -> CloseReport:
    """Record the digest event of every user with transactions in the month that has none yet.

    One transaction per user: a run that stops half-way keeps what it did, and the next run
    does the rest.
    """
    users = _users_active_in(year, month)
    emitted = 0
    for start in range(0, len(users), BATCH_SIZE):
        pending = {
            month_closed_event_id(user_id, year, month): user_id
            for user_id in users[start : start + BATCH_SIZE]
        }
        for event_id in recorded_ids(list(pending)):
            del pending[event_id]
        db.session.commit()
        emitted += sum(_close_for(user_id, year, month) for user_id in pending.values())
    return CloseReport(users=len(users), emitted=emitted)


def _users_active_in(year: int, month: int) -> list[uuid.UUID]:
    first, following = month_bounds(year, month)
    user_ids = db.session.scalars(
        select(Transaction.user_id)
        .where(Transaction.date >= first, Transaction.date < following)
        .distinct()
        .order_by(Transaction.user_id)
    ).all()
    db.session.commit()
    return list(user_ids)


def _close_for(user_id: uuid.UUID, year: int, month: int) -> bool:
    with UnitOfWork(user_id) as uow:
        # The user row is held FOR KEY SHARE: deleting the account waits for this commit, so
        # the user.deleted event is recorded after the digest, not before it.
        user = select(User.id).where(User.id == user_id).with_for_update(key_share=True)
        if uow.session.scalar(user) is None:
            return False
        summary = monthly_summary(user_id, year, month)
        return uow.record_once(
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
