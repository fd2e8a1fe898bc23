"""Use cases on recurring transactions, and the periodic job that records their occurrences.

An occurrence is recorded exactly once: recording one inserts (rule id, date) into
recurring_occurrences with ON CONFLICT DO NOTHING, and only the dates that insert returns become
transactions. Creating or changing a rule records at once every occurrence from its start date up
to the user's today; `record_due_occurrences` records the later ones, whenever and however often
it runs. Recorded transactions go through the unit of work's spending path like any other
(api_app.crossings.limits): one check per category-month for all the occurrences recorded at
once, so a catch-up over several weeks alerts at most once per month.

Locks, always in this order: the category (FOR NO KEY UPDATE, so it cannot be deleted meanwhile
and its months' spending changes one at a time, as in api_app.crossings.limits),
then the rule (FOR UPDATE): a request changing a rule and the job never record the same rule at
the same time, and the job skips a rule that is busy (SKIP LOCKED) rather than wait for it.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Final

from sqlalchemy import Select, func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from api_app.changes import UNSET, Unset, given
from api_app.domain_errors import ConflictError, InvalidError, NotFoundError
from api_app.extensions import db
from api_app.ledgers.membership import memberships_of
from api_app.models import (
    Category,
    Frequency,
    LedgerMember,
    RecurringOccurrence,
    RecurringTransaction,
    TransactionType,
    User,
)
from api_app.recurring.schedule import next_occurrence, occurrences
from api_app.splits.sharing import (
    NOT_SPLIT,
    AppliedSplit,
    SplitRequest,
    apply_split,
    write_many_shares,
)
from api_app.unit_of_work import UnitOfWork
from api_app.users.timezones import today_in
from event_contract import LEDGER_SHARED, ROLE_OWNER
from service_kit.pagination import ListOrder

RULE_ORDER = ListOrder((RecurringTransaction.created_at, RecurringTransaction.id), descending=True)
# Occurrences a request may record at once: a weekly rule started 19 years ago is about this.
MAX_OCCURRENCES_AT_ONCE: Final = 1000
# Rules whose ids the job reads per query.
BATCH_SIZE: Final = 200
# The zone whose date is furthest ahead (UTC+14): no user's today is later than its today.
FURTHEST_AHEAD_ZONE: Final = "Pacific/Kiritimati"
# The owner of a rule's ledger (the oldest, should there be several).
_OWNER = (
    select(LedgerMember.user_id)
    .where(
        LedgerMember.ledger_id == RecurringTransaction.ledger_id,
        LedgerMember.role == ROLE_OWNER,
    )
    .order_by(LedgerMember.joined_at)
    .limit(1)
    .scalar_subquery()
)


@dataclass(frozen=True)
class NewRule:
    category_id: uuid.UUID
    type: TransactionType
    amount: Decimal
    frequency: Frequency
    start_date: date
    end_date: date | None = None
    description: str | None = None
    # None: the person's personal ledger.
    ledger_id: uuid.UUID | None = None
    # A shared ledger's expense rule: who pays (None: its maker) and its own split (None: the
    # ledger's default at each occurrence).
    paid_by: uuid.UUID | None = None
    split: SplitRequest | None = None


@dataclass(frozen=True)
class RuleChanges:
    """A PATCH: the fields given, UNSET for the others."""

    category_id: uuid.UUID | Unset = UNSET
    type: TransactionType | Unset = UNSET
    amount: Decimal | Unset = UNSET
    frequency: Frequency | Unset = UNSET
    start_date: date | Unset = UNSET
    end_date: date | Unset | None = UNSET
    description: str | Unset | None = UNSET
    paid_by: uuid.UUID | Unset | None = UNSET
    split: SplitRequest | Unset | None = UNSET


def rules_of(
    user_id: uuid.UUID, ledger_id: uuid.UUID | None = None
) -> Select[tuple[RecurringTransaction]]:
    """The rules of a ledger of the person's (None: their personal one), newest first."""
    return (
        select(RecurringTransaction)
        .where(RecurringTransaction.ledger_id == memberships_of(user_id).reading(ledger_id))
        .order_by(*RULE_ORDER.clauses())
    )


def get_rule(user_id: uuid.UUID, rule_id: uuid.UUID) -> RecurringTransaction:
    return _find(db.session(), user_id, rule_id, lock=False)


def create_rule(user_id: uuid.UUID, today: date, new: NewRule) -> RecurringTransaction:
    """Create the rule and record its occurrences from start_date up to `today`."""
    ledger_id = memberships_of(user_id).writing(new.ledger_id)
    with UnitOfWork(user_id) as uow:
        _lock_categories(uow.session, ledger_id, [new.category_id])
        rule = RecurringTransaction(
            ledger_id=ledger_id,
            user_id=user_id,
            category_id=new.category_id,
            type=new.type,
            amount=new.amount,
            description=new.description,
            frequency=new.frequency,
            start_date=new.start_date,
            end_date=new.end_date,
            paid_by=new.paid_by,
            split=None if new.split is None else new.split.as_json(),
        )
        _check_split(uow, rule)
        _check_dates(rule)
        uow.session.add(rule)
        uow.session.flush()
        recorded = _record_up_to(
            uow, rule, today, since=rule.start_date, at_most=MAX_OCCURRENCES_AT_ONCE
        )
        # The rule counts too: it writes a row a period from now on (the daily job's rows,
        # which are not counted: the rule was).
        uow.count_rows_written(1 + recorded)
    return rule


def update_rule(
    user_id: uuid.UUID, rule_id: uuid.UUID, today: date, changes: RuleChanges
) -> RecurringTransaction:
    """Apply the changes, then record every occurrence of the changed rule from its start date up
    to `today` that was not recorded before. Recorded transactions keep what they were."""
    with UnitOfWork(user_id) as uow:
        seen = _find(uow.session, user_id, rule_id, lock=False)
        memberships_of(user_id).check_writer(seen.ledger_id)
        category_before = seen.category_id
        _lock_categories(
            uow.session,
            seen.ledger_id,
            [
                category_before,
                *([] if isinstance(changes.category_id, Unset) else [changes.category_id]),
            ],
        )
        rule = _find(uow.session, user_id, rule_id, lock=True)
        if rule.category_id != category_before:
            raise ConflictError("the recurring transaction was changed meanwhile; try again")
        for attribute, value in given(changes).items():
            setattr(rule, attribute, value.as_json() if isinstance(value, SplitRequest) else value)
        _check_split(uow, rule)
        _check_dates(rule)
        uow.session.flush()
        uow.count_rows_written(
            _record_up_to(uow, rule, today, since=rule.start_date, at_most=MAX_OCCURRENCES_AT_ONCE)
        )
    return rule


def delete_rule(user_id: uuid.UUID, rule_id: uuid.UUID) -> None:
    """Delete the rule; the transactions it recorded stay, no longer linked to it."""
    with UnitOfWork(user_id) as uow:
        rule = _find(uow.session, user_id, rule_id, lock=True)
        memberships_of(user_id).check_writer(rule.ledger_id)
        uow.session.delete(rule)


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
            select(
                RecurringTransaction.id,
                # Who records it: its maker, or the ledger's owner once the maker's account
                # is gone.
                func.coalesce(RecurringTransaction.user_id, _OWNER),
                RecurringTransaction.category_id,
            )
            .where(RecurringTransaction.next_date <= horizon)
            .order_by(RecurringTransaction.id)
            .limit(BATCH_SIZE)
        )
        if after is not None:
            query = query.where(RecurringTransaction.id > after)
        with UnitOfWork() as uow:
            batch = uow.session.execute(query).tuples().all()
        if not batch:
            return RunReport(rules=rules, transactions=recorded)
        for rule_id, user_id, category_id in batch:
            made = _record_due(rule_id, user_id, category_id, moment)
            rules += made > 0
            recorded += made
        after = batch[-1][0]


def _record_due(
    rule_id: uuid.UUID, user_id: uuid.UUID, category_id: uuid.UUID, moment: datetime
) -> int:
    """Record one rule's due occurrences in a unit of work of its own; how many were recorded."""
    with UnitOfWork(user_id) as uow:
        category = uow.session.scalar(
            select(Category.id).where(Category.id == category_id).with_for_update(key_share=True)
        )
        row = uow.session.execute(
            select(RecurringTransaction, User.timezone)
            .join(User, User.id == user_id)
            .where(RecurringTransaction.id == rule_id)
            .with_for_update(of=RecurringTransaction, skip_locked=True)
            .execution_options(populate_existing=True)
        ).one_or_none()
        # Gone, busy with a request or another run, or moved to another category since it was
        # read: a later run sees it as it is then.
        if category is None or row is None or row[0].category_id != category_id:
            return 0
        rule, zone = row
        today = today_in(zone, moment)
        if rule.next_date is None or rule.next_date > today:
            return 0
        return _record_up_to(uow, rule, today, since=rule.next_date, at_most=None)


def _record_up_to(
    uow: UnitOfWork,
    rule: RecurringTransaction,
    today: date,
    *,
    since: date,
    at_most: int | None,
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
        raise InvalidError.on(
            "start_date",
            f"From this date up to today the rule would record more than {at_most} transactions"
            " at once; start it later.",
            "start_date is too far back",
        )
    new_days: list[date] = []
    if due:
        new_days = sorted(
            uow.session.scalars(
                insert(RecurringOccurrence)
                .values([{"recurring_id": rule.id, "date": day} for day in due])
                .on_conflict_do_nothing()
                .returning(RecurringOccurrence.date)
            )
        )
    applied = _split_of_occurrences(uow, rule) if new_days else NOT_SPLIT
    written = uow.limits(rule.ledger_id).insert_transactions(
        [
            {
                "ledger_id": rule.ledger_id,
                "user_id": rule.user_id,
                "category_id": rule.category_id,
                "type": rule.type,
                "amount": rule.amount,
                "date": day,
                "description": rule.description,
                "recurring_id": rule.id,
                "paid_by": applied.paid_by,
                "split": applied.split_json,
            }
            for day in new_days
        ]
    )
    if applied.shares:
        write_many_shares(
            uow.session,
            ledger_id=rule.ledger_id,
            shares={row._mapping["id"]: applied.shares for row in written},
        )
    rule.next_date = next_occurrence(
        rule.start_date, rule.frequency, rule.end_date, after=max(today, since - timedelta(1))
    )
    return len(new_days)


def _check_split(uow: UnitOfWork, rule: RecurringTransaction) -> None:
    """A rule's own paid_by and split must hold now (members, values adding up): 422 else."""
    if rule.paid_by is None and rule.split is None:
        return
    assert uow.user_id is not None  # a request's unit
    membership = memberships_of(uow.user_id).by_ledger[rule.ledger_id]
    apply_split(
        uow.session,
        ledger_id=rule.ledger_id,
        shared=membership.kind == LEDGER_SHARED,
        type=rule.type,
        amount=rule.amount,
        recorder=rule.user_id or uow.user_id,
        paid_by=rule.paid_by,
        asked=None if rule.split is None else SplitRequest.from_json(rule.split),
        use_default=False,
    )


def _split_of_occurrences(uow: UnitOfWork, rule: RecurringTransaction) -> AppliedSplit:
    """How the occurrences recorded now are split: the rule's own split, else the ledger's
    default, among the members of today. When that no longer holds (someone it names has left
    since), they are recorded unsplit rather than not at all: the household sees them and can
    split them by hand."""
    assert uow.user_id is not None  # UnitOfWork(recorder)
    membership = memberships_of(uow.user_id).by_ledger.get(rule.ledger_id)
    if membership is None or membership.kind != LEDGER_SHARED:
        return NOT_SPLIT
    if rule.type is not TransactionType.EXPENSE:
        return NOT_SPLIT
    recorder = rule.user_id or uow.user_id
    if rule.split is None and rule.paid_by is None and not membership.splits_by_default:
        return AppliedSplit(recorder, None, ())
    try:
        return apply_split(
            uow.session,
            ledger_id=rule.ledger_id,
            shared=True,
            type=rule.type,
            amount=rule.amount,
            recorder=recorder,
            paid_by=rule.paid_by,
            asked=None if rule.split is None else SplitRequest.from_json(rule.split),
            use_default=rule.split is None,
        )
    except InvalidError:
        return AppliedSplit(recorder, None, ())


def _lock_categories(session: Session, ledger_id: uuid.UUID, ids: Iterable[uuid.UUID]) -> None:
    """The ledger's categories a rule references, FOR NO KEY UPDATE (in id order, as deleting a
    category locks them): NotFoundError for one that is not the ledger's."""
    wanted = sorted(set(ids))
    found = set(
        session.scalars(
            select(Category.id)
            .where(Category.id.in_(wanted), Category.ledger_id == ledger_id)
            .order_by(Category.id)
            .with_for_update(key_share=True)
        )
    )
    if found != set(wanted):
        raise NotFoundError.on("category_id", "No such category.", "category not found")


def _check_dates(rule: RecurringTransaction) -> None:
    if rule.end_date is not None and rule.end_date < rule.start_date:
        raise InvalidError.on(
            "end_date", "Must not be before start_date.", "end_date is before start_date"
        )


def _find(
    session: Session, user_id: uuid.UUID, rule_id: uuid.UUID, *, lock: bool
) -> RecurringTransaction:
    query = select(RecurringTransaction).where(
        RecurringTransaction.id == rule_id,
        RecurringTransaction.ledger_id.in_(memberships_of(user_id).readable),
    )
    if lock:
        query = query.with_for_update().execution_options(populate_existing=True)
    rule = session.scalar(query)
    if rule is None:
        raise NotFoundError("recurring transaction not found")
    return rule
