"""Use cases on recurring transactions, and the periodic job that records their occurrences.

An occurrence is recorded exactly once: recording one inserts (rule id, date) into
recurring_occurrences with ON CONFLICT DO NOTHING, and only the dates that insert returns become
transactions. Creating or changing a rule records at once every occurrence from its start date up
to the user's today; `record_due_occurrences` records the later ones, whenever and however often
it runs. Recorded expenses go through the same limit and warning detection as any expense, one
check per category-month, so a catch-up over several months alerts once per month at most.

Locks, always in this order: the category (FOR KEY SHARE, so it cannot be deleted meanwhile),
then the rule (FOR UPDATE): a request changing a rule and the job never record the same rule at
the same time, and the job skips a rule that is busy (SKIP LOCKED) rather than wait for it.
"""

from __future__ import annotations

import itertools
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any, Final

from sqlalchemy import Select, select
from sqlalchemy.dialects.postgresql import insert

from api_app.blueprint import abort
from api_app.categories.service import lock_own_category
from api_app.crossings.limits import CategoryMonth
from api_app.extensions import db
from api_app.models import (
    Category,
    Frequency,
    RecurringOccurrence,
    RecurringTransaction,
    Transaction,
    TransactionType,
    User,
)
from api_app.recurring.schedule import next_occurrence, occurrences
from api_app.unit_of_work import UnitOfWork
from api_app.users.timezones import today_in

# Occurrences a request may record at once: a weekly rule started 19 years ago is about this.
MAX_OCCURRENCES_AT_ONCE: Final = 1000
# Rules whose ids the job reads per query.
BATCH_SIZE: Final = 200
# The zone whose date is furthest ahead (UTC+14): no user's today is later than its today.
FURTHEST_AHEAD_ZONE: Final = "Pacific/Kiritimati"


def rules_of(user_id: uuid.UUID) -> Select[tuple[RecurringTransaction]]:
    """The user's rules, the next to fall first, ended ones last."""
    return (
        select(RecurringTransaction)
        .where(RecurringTransaction.user_id == user_id)
        .order_by(
            RecurringTransaction.next_date.asc().nulls_last(),
            RecurringTransaction.created_at,
            RecurringTransaction.id,
        )
    )


def get_rule(user_id: uuid.UUID, rule_id: uuid.UUID) -> RecurringTransaction:
    return _find(user_id, rule_id, lock=False)


def create_rule(
    user_id: uuid.UUID,
    today: date,
    *,
    category_id: uuid.UUID,
    type: TransactionType,
    amount: Decimal,
    frequency: Frequency,
    start_date: date,
    end_date: date | None = None,
    description: str | None = None,
) -> RecurringTransaction:
    """Create the rule and record its occurrences from start_date up to `today`."""
    lock_own_category(user_id, category_id, field="category_id")
    rule = RecurringTransaction(
        user_id=user_id,
        category_id=category_id,
        type=type,
        amount=amount,
        description=description,
        frequency=frequency,
        start_date=start_date,
        end_date=end_date,
    )
    _check_dates(rule)
    db.session.add(rule)
    db.session.flush()
    _record_up_to(rule, today, since=rule.start_date, at_most=MAX_OCCURRENCES_AT_ONCE)
    db.session.commit()
    return rule


def update_rule(
    user_id: uuid.UUID, rule_id: uuid.UUID, today: date, changes: dict[str, Any]
) -> RecurringTransaction:
    """Apply the changes, then record every occurrence of the changed rule from its start date up
    to `today` that was not recorded before. Recorded transactions keep what they were."""
    if "category_id" in changes:
        lock_own_category(user_id, changes["category_id"], field="category_id")
    rule = _find(user_id, rule_id, lock=True)
    for attribute, value in changes.items():
        setattr(rule, attribute, value)
    _check_dates(rule)
    db.session.flush()
    _record_up_to(rule, today, since=rule.start_date, at_most=MAX_OCCURRENCES_AT_ONCE)
    db.session.commit()
    return rule


def delete_rule(user_id: uuid.UUID, rule_id: uuid.UUID) -> None:
    """Delete the rule; the transactions it recorded stay, no longer linked to it."""
    rule = _find(user_id, rule_id, lock=True)
    db.session.delete(rule)
    db.session.commit()


@dataclass(frozen=True)
class RunReport:
    rules: int
    transactions: int


def record_due_occurrences(now: datetime | None = None) -> RunReport:
    """Record, for every rule, the occurrences due up to its user's today at `now` (by default:
    now). One transaction per rule: a run that stops half-way keeps what it did. Safe to run
    twice, late, or in several processes at once."""
    moment = now if now is not None else datetime.now(UTC)
    horizon = today_in(FURTHEST_AHEAD_ZONE, moment)
    rules = recorded = 0
    after: uuid.UUID | None = None
    while True:
        query = (
            select(RecurringTransaction.id, RecurringTransaction.category_id)
            .where(RecurringTransaction.next_date <= horizon)
            .order_by(RecurringTransaction.id)
            .limit(BATCH_SIZE)
        )
        if after is not None:
            query = query.where(RecurringTransaction.id > after)
        batch = db.session.execute(query).tuples().all()
        db.session.commit()
        if not batch:
            return RunReport(rules=rules, transactions=recorded)
        for rule_id, category_id in batch:
            made = _record_due(rule_id, category_id, moment)
            rules += made > 0
            recorded += made
        after = batch[-1][0]


def _record_due(rule_id: uuid.UUID, category_id: uuid.UUID, moment: datetime) -> int:
    """Record one rule's due occurrences in a transaction of its own; how many were recorded."""
    category = db.session.scalar(
        select(Category.id).where(Category.id == category_id).with_for_update(key_share=True)
    )
    row = db.session.execute(
        select(RecurringTransaction, User.timezone)
        .join(User, User.id == RecurringTransaction.user_id)
        .where(RecurringTransaction.id == rule_id)
        .with_for_update(of=RecurringTransaction, skip_locked=True)
        .execution_options(populate_existing=True)
    ).one_or_none()
    # Gone, busy with a request or another run, or moved to another category since it was read:
    # a later run sees it as it is then.
    if category is None or row is None or row[0].category_id != category_id:
        db.session.rollback()
        return 0
    rule, zone = row
    today = today_in(zone, moment)
    if rule.next_date is None or rule.next_date > today:
        db.session.rollback()
        return 0
    made = _record_up_to(rule, today, since=rule.next_date, at_most=None)
    db.session.commit()
    return made


def _record_up_to(
    rule: RecurringTransaction, today: date, *, since: date, at_most: int | None
) -> int:
    """Record the rule's occurrences from `since` through `today` (and its end date) that are
    not recorded yet, and move next_date past today. Returns how many were recorded."""
    through = today if rule.end_date is None else min(today, rule.end_date)
    due = list(
        itertools.islice(
            occurrences(rule.start_date, rule.frequency, since=since, through=through),
            None if at_most is None else at_most + 1,
        )
    )
    if at_most is not None and len(due) > at_most:
        db.session.rollback()
        abort(
            422,
            message="start_date is too far back",
            errors={
                "json": {
                    "start_date": [
                        f"From this date up to today the rule would record more than {at_most}"
                        " transactions at once; start it later."
                    ]
                }
            },
        )
    made = _record(rule, due)
    rule.next_date = next_occurrence(
        rule.start_date, rule.frequency, rule.end_date, after=max(today, since - timedelta(1))
    )
    return made


def _record(rule: RecurringTransaction, days: list[date]) -> int:
    if not days:
        return 0
    new_days = sorted(
        db.session.scalars(
            insert(RecurringOccurrence)
            .values([{"recurring_id": rule.id, "date": day} for day in days])
            .on_conflict_do_nothing()
            .returning(RecurringOccurrence.date)
        )
    )
    recorded = [
        Transaction(
            user_id=rule.user_id,
            category_id=rule.category_id,
            type=rule.type,
            amount=rule.amount,
            date=day,
            description=rule.description,
            recurring_id=rule.id,
        )
        for day in new_days
    ]

    def write() -> dict[CategoryMonth, uuid.UUID]:
        db.session.add_all(recorded)
        db.session.flush()
        return {CategoryMonth.of(row.category_id, row.date): row.id for row in recorded}

    if rule.type is not TransactionType.EXPENSE:
        write()
        return len(new_days)
    # One check per category-month: a catch-up over a month alerts once, like one expense. The
    # caller commits (and holds the category).
    added: dict[CategoryMonth, Decimal] = {}
    for day in new_days:
        key = CategoryMonth.of(rule.category_id, day)
        added[key] = added.get(key, Decimal(0)) + rule.amount
    UnitOfWork(rule.user_id).limits.add_expenses(added, write)
    return len(new_days)


def _check_dates(rule: RecurringTransaction) -> None:
    if rule.end_date is not None and rule.end_date < rule.start_date:
        db.session.rollback()
        abort(
            422,
            message="end_date is before start_date",
            errors={"json": {"end_date": ["Must not be before start_date."]}},
        )


def _find(user_id: uuid.UUID, rule_id: uuid.UUID, *, lock: bool) -> RecurringTransaction:
    query = select(RecurringTransaction).where(
        RecurringTransaction.id == rule_id, RecurringTransaction.user_id == user_id
    )
    rule = db.session.scalar(query.with_for_update() if lock else query)
    if rule is None:
        abort(404, message="recurring transaction not found")
    return rule
