"""Closing a month: one budget.month_closed event (the monthly digest) per user with
transactions dated in their personal ledger in it, once the month has ended in the user's time
zone; and for each shared ledger with transactions in it, once the month has ended in its
owner's zone, one per member at that moment and one for its group (api_app.crossings.audience),
each naming the ledger.

Idempotent per user and month: the event's id is derived from both (uuid5), recorded with
INSERT ... ON CONFLICT DO NOTHING, so closing a month again records nothing new. Once the relay
has purged the published rows, a late re-run records the same ids again; notify_app's delivery
log (unique per event id) then sends nothing twice. A user whose month is still running in their
zone (west of UTC, early on the 1st) is left for a later run: run it hourly on the 1st.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime

from sqlalchemy import select

from api_app.budgets.summary import monthly_summary
from api_app.crossings.audience import Recorded, addressed
from api_app.events import (
    budget_month_closed,
    household_month_closed_event_id,
    month_closed_event_id,
    recorded_ids,
)
from api_app.models import Ledger, LedgerMember, Transaction, User
from api_app.months import month_bounds
from api_app.splits.balances import balances_in
from api_app.unit_of_work import UnitOfWork
from api_app.users.timezones import today_in
from event_contract import (
    AUDIENCE_GROUP,
    LEDGER_PERSONAL,
    LEDGER_SHARED,
    ROLE_OWNER,
    BudgetMonthClosed,
    ClosedCategory,
    Event,
    LedgerBalances,
    MemberBalance,
    SettleUpTransfer,
)

# Users whose already-recorded events are looked up in one query.
BATCH_SIZE = 500


@dataclass(frozen=True)
class CloseReport:
    users: int
    # Events recorded by this run; the others were recorded before (or wait for a later run).
    emitted: int
    # Users whose month has not ended yet in their time zone.
    waiting: int = 0
    # Shared ledgers with transactions in the month, and those this run closed (their members'
    # and group's digests), and those whose month has not ended in their owner's zone.
    households: int = 0
    households_closed: int = 0
    households_waiting: int = 0


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
    households = _households_active_in(year, month)
    closed = households_waiting = 0
    for ledger_id in households:
        outcome = _close_shared(ledger_id, year, month, moment)
        closed += outcome == "closed"
        households_waiting += outcome == "waiting"
    return CloseReport(
        users=len(users),
        emitted=emitted,
        waiting=waiting,
        households=len(households),
        households_closed=closed,
        households_waiting=households_waiting,
    )


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


def _households_active_in(year: int, month: int) -> list[uuid.UUID]:
    """Every shared ledger with transactions in the month."""
    first, following = month_bounds(year, month)
    with UnitOfWork() as uow:
        ledger_ids = uow.session.scalars(
            select(Ledger.id)
            .join(Transaction, Transaction.ledger_id == Ledger.id)
            .where(
                Ledger.kind == LEDGER_SHARED,
                Transaction.date >= first,
                Transaction.date < following,
            )
            .distinct()
            .order_by(Ledger.id)
        ).all()
    return list(ledger_ids)


def _close_shared(ledger_id: uuid.UUID, year: int, month: int, now: datetime) -> str:
    """ "closed" when this call recorded the household's digests, "waiting" while the month
    runs in its owner's zone, "skipped" otherwise (recorded before, or the ledger is gone).
    Its events' ids derive from the ledger, the month and whom each is for, so closing it
    again records nothing new."""
    with UnitOfWork() as uow:
        owner = uow.session.execute(
            select(User.id, User.timezone)
            .join(LedgerMember, LedgerMember.user_id == User.id)
            .where(LedgerMember.ledger_id == ledger_id, LedgerMember.role == ROLE_OWNER)
            .with_for_update(read=True, key_share=True, of=User)
        ).one_or_none()
        if owner is None:
            return "skipped"
        owner_id, zone = owner
        if today_in(zone, now) < month_bounds(year, month)[1]:
            return "waiting"
        if recorded_ids(
            uow.session, [household_month_closed_event_id(ledger_id, None, year, month)]
        ):
            return "skipped"
        digest = _with_balances(uow, _digest(owner_id, ledger_id, year, month), ledger_id)
        for event in addressed(uow.session, digest, ledger_id, Recorded(by=None), personal=False):
            payload = event.payload
            assert isinstance(payload, BudgetMonthClosed)
            is_group = payload.ledger is not None and payload.ledger.audience == AUDIENCE_GROUP
            uow.record_once(
                replace(
                    event,
                    id=household_month_closed_event_id(
                        ledger_id, None if is_group else event.user_id, year, month
                    ),
                )
            )
    return "closed"


def _with_balances(uow: UnitOfWork, digest: Event, ledger_id: uuid.UUID) -> Event:
    """A shared ledger's digest adds who owes whom as the month is closed, and how they settle
    up, when someone owes someone (each member may turn it off in notify_app)."""
    balances = balances_in(uow.session, ledger_id)
    if all(balance.net == 0 for balance in balances.balances):
        return digest
    names = {balance.user_id: balance.name for balance in balances.balances}
    payload = digest.payload
    assert isinstance(payload, BudgetMonthClosed)
    return replace(
        digest,
        payload=replace(
            payload,
            balances=LedgerBalances(
                members=tuple(
                    MemberBalance(balance.name, balance.net, former_member=balance.former)
                    for balance in balances.balances
                    if balance.net != 0 or not balance.former
                ),
                settle_up=tuple(
                    SettleUpTransfer(
                        names[transfer.from_user_id], names[transfer.to_user_id], transfer.amount
                    )
                    for transfer in balances.settle_up
                ),
            ),
        ),
    )


def _digest(user_id: uuid.UUID, ledger_id: uuid.UUID, year: int, month: int) -> Event:
    summary = monthly_summary(ledger_id, year, month)
    return budget_month_closed(
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
        added = uow.record_once(_digest(user_id, ledger_id, year, month))
    return "closed" if added else "skipped"
