"""Limit crossings: every change to a category-month's spending or limit goes through here.

A category's expenses of a month are over a level p of its limit when spent * 100 > limit * p
(see api_app.events.levels); one change emits at most one event per category-month:
budget.limit_exceeded if it crossed the limit, else budget.threshold_reached for the highest
warning threshold it crossed.

Every path has the same three steps, inside the unit of work's transaction:

1. **lock** the budget limit rows of the category-months the change touches (in sorted order,
   so concurrent changes never deadlock), together with the category a new row references
   (FOR NO KEY UPDATE: it cannot be deleted under us, it must be the ledger's, and every change to
   the category's months waits for this one's commit, even where no limit row exists yet to
   lock: a limit created at the same moment as an expense would otherwise judge a sum without it);
2. **read the before-state and apply the change**: the month's spending is summed once, by a
   statement that starts after the locks are held, so it sees every committed change. For a
   transaction written with INSERT/UPDATE/DELETE, the sum rides on the write's own RETURNING
   clause, which sees the table as it was before the write: one round trip for both;
3. **derive the after-state** from the before-state and the change itself (spent + what was
   added - what was removed, or the new limit), compare, and record the event.

No second lock and no second sum: the locks make the before-state final until commit.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import cache
from typing import Any

from sqlalchemy import (
    Delete,
    Insert,
    Integer,
    Label,
    Row,
    RowMapping,
    Update,
    bindparam,
    func,
    insert,
    inspect,
    select,
    true,
    tuple_,
    update,
)
from sqlalchemy.orm import Session

from api_app.crossings.audience import Recorded, addressed
from api_app.domain_errors import NotFoundError
from api_app.events.levels import LIMIT_LEVEL, Spending, crossed_levels
from api_app.models import Budget, BudgetLimit, Category, Transaction, TransactionType
from api_app.money import CENT
from api_app.months import month_bounds
from event_contract import BudgetLimitExceeded, BudgetThresholdReached, Event

Write = Insert | Update | Delete


@dataclass(frozen=True, order=True)
class CategoryMonth:
    category_id: uuid.UUID
    year: int
    month: int

    @classmethod
    def of(cls, category_id: uuid.UUID, day: date) -> CategoryMonth:
        return cls(category_id, day.year, day.month)

    def bounds(self) -> tuple[date, date]:
        """The first day of the month and the first day of the next one."""
        return month_bounds(self.year, self.month)


# The statements of the hot paths are built once, with bind parameters: SQLAlchemy then derives
# each one's cache key once, not on every request.


def _spent_before(index: int) -> Label[Any]:
    """A category-month's expenses as the statement that carries it sees them (before its own
    write): an index range on transactions(ledger_id, date). Parameters suffixed with `index`."""
    return (
        select(func.coalesce(func.sum(Transaction.amount), 0))
        .where(
            Transaction.ledger_id == bindparam(f"spent_ledger_{index}"),
            Transaction.date >= bindparam(f"spent_first_{index}"),
            Transaction.date < bindparam(f"spent_following_{index}"),
            Transaction.type == TransactionType.EXPENSE,
            Transaction.category_id == bindparam(f"spent_category_{index}"),
        )
        .scalar_subquery()
        .label(f"spent_before_{index}")
    )


# A transaction's write touches at most two category-months: the one it leaves, the one it joins.
SPENT_BEFORE = (_spent_before(0), _spent_before(1))


@cache
def _returning_spent(write: Write, count: int) -> Write:
    """`write` that also returns the first `count` SPENT_BEFORE sums (built once per pair)."""
    return write.returning(*SPENT_BEFORE[:count]) if count else write


def _spent_parameters(index: int, ledger_id: uuid.UUID, key: CategoryMonth) -> dict[str, Any]:
    first, following = key.bounds()
    return {
        f"spent_ledger_{index}": ledger_id,
        f"spent_first_{index}": first,
        f"spent_following_{index}": following,
        f"spent_category_{index}": key.category_id,
    }


# Step 1 for a key whose category the change references: a materialised CTE takes the category
# FOR NO KEY UPDATE first, then a lateral subquery its limit FOR UPDATE (absent: NULLs); no row when
# the category is not the ledger's.
_OWN_CATEGORY = (
    select(Category.id, Category.name)
    .where(Category.id == bindparam("category_id"), Category.ledger_id == bindparam("ledger_id"))
    .with_for_update(key_share=True)
    .cte("category")
    .prefix_with("MATERIALIZED")
)
_ITS_LIMIT = (
    select(Budget.id.label("budget_id"), BudgetLimit.limit_amount)
    .join(Budget, Budget.id == BudgetLimit.budget_id)
    .where(
        BudgetLimit.category_id == _OWN_CATEGORY.c.id,
        Budget.ledger_id == bindparam("ledger_id"),
        Budget.year == bindparam("year"),
        Budget.month == bindparam("month"),
    )
    .with_for_update(of=BudgetLimit)
    .lateral("month_limit")
)
LOCK_CATEGORY_AND_LIMIT = (
    select(_OWN_CATEGORY.c.name, _ITS_LIMIT.c.budget_id, _ITS_LIMIT.c.limit_amount)
    .select_from(_OWN_CATEGORY)
    .outerjoin(_ITS_LIMIT, true())
)
# Step 1 for any other key: its limit FOR UPDATE, if it has one.
LOCK_LIMIT = (
    select(Category.name, Budget.id, BudgetLimit.limit_amount)
    .select_from(BudgetLimit)
    .join(Budget, Budget.id == BudgetLimit.budget_id)
    .join(Category, Category.id == BudgetLimit.category_id)
    .where(
        Budget.ledger_id == bindparam("ledger_id"),
        Budget.year == bindparam("year"),
        Budget.month == bindparam("month"),
        BudgetLimit.category_id == bindparam("category_id"),
    )
    .with_for_update(of=BudgetLimit)
)


# Many transactions in one statement, each returned whole, in the order of the parameters.
INSERT_MANY = insert(Transaction.__table__).returning(
    *inspect(Transaction).columns, sort_by_parameter_order=True
)


@dataclass(frozen=True)
class Expense:
    """What one transaction weighs on its category-month's spending: its amount if it is an
    expense, nothing if it is an income."""

    where: CategoryMonth
    amount: Decimal

    @classmethod
    def of(
        cls, category_id: uuid.UUID, kind: TransactionType, amount: Decimal, day: date
    ) -> Expense:
        weight = amount if kind == TransactionType.EXPENSE else Decimal(0)
        return cls(CategoryMonth.of(category_id, day), weight)


@dataclass(frozen=True)
class LockedLimit:
    budget_id: uuid.UUID
    category_name: str
    limit: Decimal


@dataclass(frozen=True)
class _Locked:
    category_name: str
    limit: LockedLimit | None


class LimitCrossings:
    """The crossing detection of one unit of work: the paths above, for one ledger, changed by
    one person (`user_id`)."""

    def __init__(
        self,
        session: Session,
        ledger_id: uuid.UUID,
        user_id: uuid.UUID,
        *,
        thresholds: Sequence[int],
        record: Callable[[Event], None],
    ) -> None:
        self._session = session
        self._ledger_id = ledger_id
        self._user_id = user_id
        self._thresholds = tuple(thresholds)
        self._record = record

    # -- transactions --------------------------------------------------------------------

    def write_expenses(
        self,
        write: Write,
        parameters: Mapping[str, Any] | None = None,
        *,
        removed: Sequence[Expense] = (),
        added: Sequence[Expense] = (),
        referenced_category: uuid.UUID | None = None,
    ) -> Row[Any]:
        """Run `write` with `parameters`: an INSERT, UPDATE or DELETE of one transaction with
        RETURNING (at least the transaction's id), which removes `removed` from spending and adds
        `added`; answer its row. `referenced_category` is the category the written row now points
        to: NotFoundError unless it is the ledger's. A `write` built once (with bind parameters)
        costs SQLAlchemy least.
        """
        keys = sorted({expense.where for expense in (*removed, *added)})
        limits = {
            key: locked.limit
            for key, locked in self._lock(keys, referenced_category).items()
            if locked.limit is not None
        }
        arguments = dict(parameters or {})
        for index, key in enumerate(limits):
            arguments.update(_spent_parameters(index, self._ledger_id, key))
        row = self._session.execute(_returning_spent(write, len(limits)), arguments).one()
        for index, (key, locked) in enumerate(limits.items()):
            before = Decimal(row._mapping[SPENT_BEFORE[index].name]).quantize(CENT)
            change = _total(added, key) - _total(removed, key)
            self._judge(
                key,
                locked,
                Spending(locked.limit, before),
                Spending(locked.limit, before + change),
                transaction_id=row._mapping["id"],
                recorded=self._recorded(row._mapping),
            )
        return row

    def insert_transactions(self, rows: Sequence[Mapping[str, Any]]) -> Sequence[Row[Any]]:
        """Insert many transactions of the ledger in one statement (`rows`: the column values of
        each, all with the same keys); answer their rows, in the same order. The categories they
        reference must be the ledger's, locked by the caller (FOR NO KEY UPDATE).

        Every category-month they add expenses to is locked and summed once before the insert
        and judged once after it: however many rows fall in one category-month, it emits at most
        one event, naming the last of them (an import or a catch-up alerts once per month).
        """
        if not rows:
            return []
        added = [
            Expense.of(row["category_id"], row["type"], row["amount"], row["date"]) for row in rows
        ]
        keys = sorted({expense.where for expense in added if expense.amount})
        limits: dict[CategoryMonth, LockedLimit] = {}
        for category_id in sorted({key.category_id for key in keys}):
            limits.update(
                self._lock_months(
                    category_id, [key for key in keys if key.category_id == category_id]
                )
            )
        totals = self._spent_by_month(sorted({key.category_id for key in limits}), list(limits))
        written = self._session.execute(INSERT_MANY, list(rows)).all()
        last: dict[CategoryMonth, Row[Any]] = {}
        for expense, row in zip(added, written, strict=True):
            if expense.amount:
                last[expense.where] = row
        for key, locked in limits.items():
            before = totals.get((key.category_id, key.year, key.month), Decimal(0))
            self._judge(
                key,
                locked,
                Spending(locked.limit, before),
                Spending(locked.limit, before + _total(added, key)),
                transaction_id=last[key]._mapping["id"],
                recorded=self._recorded(last[key]._mapping),
            )
        return written

    def move_expenses(self, from_category: uuid.UUID, to_category: uuid.UUID) -> None:
        """Move every transaction of `from_category` to `to_category` (both locked by the
        caller): the moved expenses can push `to_category` over its limit in any month.

        The moving rows are locked and their expenses summed by month first (one statement),
        then the limits of those months and `to_category`'s spending in them (one each): the
        after-state is that spending plus what moved."""
        moving = (
            select(Transaction.date, Transaction.type, Transaction.amount)
            .where(Transaction.category_id == from_category)
            .with_for_update()
            .cte("moving")
        )
        year = func.extract("year", moving.c.date).cast(Integer)
        month = func.extract("month", moving.c.date).cast(Integer)
        expense = func.coalesce(
            func.sum(moving.c.amount).filter(moving.c.type == TransactionType.EXPENSE), 0
        )
        moved = {
            CategoryMonth(to_category, row[0], row[1]): Decimal(row[2])
            for row in self._session.execute(select(year, month, expense).group_by(year, month))
        }
        limits = self._lock_months(to_category, sorted(moved))
        totals = self._spent_by_month([to_category], list(limits))
        self._session.execute(
            update(Transaction)
            .where(Transaction.category_id == from_category)
            .values(category_id=to_category)
            .execution_options(synchronize_session=False)
        )
        for key, locked in limits.items():
            before = totals.get((to_category, key.year, key.month), Decimal(0))
            self._judge(
                key,
                locked,
                Spending(locked.limit, before),
                Spending(locked.limit, before + moved[key]),
                transaction_id=None,
            )

    # -- limits --------------------------------------------------------------------------

    def set_limit(
        self,
        budget_id: uuid.UUID,
        key: CategoryMonth,
        amount: Decimal,
        write: Callable[[LockedLimit | None], object],
    ) -> None:
        """Set the limit of `key` in the budget `budget_id` (locked by the caller) to `amount`;
        `write(current)` stores it, `current` being the limit row's values before, None when
        there is none yet. NotFound unless the category is the ledger's."""
        locked = self._lock([key], key.category_id)[key]
        spent = self._spent_by_month([key.category_id], [key]).get(
            (key.category_id, key.year, key.month), Decimal(0)
        )
        write(locked.limit)
        before = None if locked.limit is None else Spending(locked.limit.limit, spent)
        self._judge(
            key,
            LockedLimit(budget_id, locked.category_name, amount),
            before,
            Spending(amount, spent),
            transaction_id=None,
        )

    def limits_created(
        self,
        budget_id: uuid.UUID,
        year: int,
        month: int,
        amounts: Mapping[uuid.UUID, Decimal],
        names: Mapping[uuid.UUID, str],
    ) -> None:
        """A new budget's limits (category id -> amount; `names` of the categories), set below
        what was already spent in its month, cross at once. The budget is new: nothing to lock
        but the categories, which the caller holds."""
        keys = sorted(CategoryMonth(category_id, year, month) for category_id in amounts)
        totals = self._spent_by_month(list(amounts), keys)
        for key in keys:
            spent = totals.get((key.category_id, year, month), Decimal(0))
            amount = amounts[key.category_id]
            self._judge(
                key,
                LockedLimit(budget_id, names[key.category_id], amount),
                None,
                Spending(amount, spent),
                transaction_id=None,
            )

    # -- the steps -------------------------------------------------------------------------

    def _lock(
        self, keys: Iterable[CategoryMonth], referenced_category: uuid.UUID | None
    ) -> dict[CategoryMonth, _Locked]:
        """Step 1, one statement per key in sorted order: its budget limit FOR UPDATE, and for
        the key of `referenced_category` first that category FOR NO KEY UPDATE (category before
        limit, the order in which deleting a category takes them). Keys whose category is not
        the ledger's are left out; NotFoundError if `referenced_category` is one of them."""
        locked: dict[CategoryMonth, _Locked] = {}
        for key in keys:
            arguments = {
                "ledger_id": self._ledger_id,
                "category_id": key.category_id,
                "year": key.year,
                "month": key.month,
            }
            if key.category_id == referenced_category:
                row = self._session.execute(LOCK_CATEGORY_AND_LIMIT, arguments).one_or_none()
                if row is None:
                    raise NotFoundError.on("category_id", "No such category.", "category not found")
            else:
                row = self._session.execute(LOCK_LIMIT, arguments).one_or_none()
                if row is None:
                    continue
            name, budget_id, limit_amount = row
            limit = None if budget_id is None else LockedLimit(budget_id, name, limit_amount)
            locked[key] = _Locked(name, limit)
        return locked

    def _lock_months(
        self, category_id: uuid.UUID, keys: Sequence[CategoryMonth]
    ) -> dict[CategoryMonth, LockedLimit]:
        """Step 1 for many months of one category the caller has locked already."""
        if not keys:
            return {}
        rows = self._session.execute(
            select(Budget.year, Budget.month, Budget.id, Category.name, BudgetLimit.limit_amount)
            .select_from(BudgetLimit)
            .join(Budget, Budget.id == BudgetLimit.budget_id)
            .join(Category, Category.id == BudgetLimit.category_id)
            .where(
                Budget.ledger_id == self._ledger_id,
                BudgetLimit.category_id == category_id,
                tuple_(Budget.year, Budget.month).in_([(key.year, key.month) for key in keys]),
            )
            .order_by(Budget.year, Budget.month)
            .with_for_update(of=BudgetLimit)
        ).all()
        return {
            CategoryMonth(category_id, year, month): LockedLimit(budget_id, name, limit)
            for year, month, budget_id, name, limit in rows
        }

    def _spent_by_month(
        self, category_ids: Sequence[uuid.UUID], keys: Sequence[CategoryMonth]
    ) -> dict[tuple[uuid.UUID, int, int], Decimal]:
        """Step 2 where no write can carry it: (category, year, month) -> expenses, for these
        categories in the months of `keys`, in one statement."""
        if not keys:
            return {}
        year = func.extract("year", Transaction.date).cast(Integer)
        month = func.extract("month", Transaction.date).cast(Integer)
        months = sorted({(key.year, key.month) for key in keys})
        first, following = month_bounds(*months[0])[0], month_bounds(*months[-1])[1]
        rows = self._session.execute(
            select(Transaction.category_id, year, month, func.sum(Transaction.amount))
            .where(
                Transaction.ledger_id == self._ledger_id,
                Transaction.type == TransactionType.EXPENSE,
                Transaction.category_id.in_(set(category_ids)),
                Transaction.date >= first,
                Transaction.date < following,
                tuple_(year, month).in_(months),
            )
            .group_by(Transaction.category_id, year, month)
        ).all()
        return {(row[0], row[1], row[2]): Decimal(row[3]).quantize(CENT) for row in rows}

    def _recorded(self, transaction: RowMapping) -> Recorded:
        """Who recorded the transaction that crossed (the row's maker; this unit's user when
        the row does not say), and what it was."""
        return Recorded(
            by=transaction.get("user_id") or self._user_id,
            amount=transaction.get("amount"),
            description=transaction.get("description"),
        )

    def _judge(
        self,
        key: CategoryMonth,
        locked: LockedLimit,
        before: Spending | None,
        after: Spending,
        *,
        transaction_id: uuid.UUID | None,
        recorded: Recorded | None = None,
    ) -> None:
        """Step 3: record the one event of this category-month, if the change crossed a level:
        for its person, or for each member of a shared ledger and its group
        (api_app.crossings.audience)."""
        crossed = crossed_levels(before, after, self._thresholds)
        if not crossed:
            return  # staying over (or under) every level emits nothing
        spending: dict[str, Any] = {
            "budget_id": locked.budget_id,
            "category_id": key.category_id,
            "category_name": locked.category_name,
            "year": key.year,
            "month": key.month,
            "limit": after.limit,
            "spent": after.spent,
            "transaction_id": transaction_id,
        }
        payload: BudgetLimitExceeded | BudgetThresholdReached
        if crossed[-1] == LIMIT_LEVEL:
            payload = BudgetLimitExceeded(**spending)
        else:
            # One event for the highest of the thresholds this change crossed (see the payload).
            payload = BudgetThresholdReached(
                **spending,
                percent=after.whole_percent,
                threshold=max(crossed),
                crossed_thresholds=tuple(crossed),
            )
        event = Event(user_id=self._user_id, payload=payload)
        for addressed_event in addressed(
            self._session, event, self._ledger_id, recorded or Recorded(by=self._user_id)
        ):
            self._record(addressed_event)


def _total(expenses: Iterable[Expense], key: CategoryMonth) -> Decimal:
    return sum((expense.amount for expense in expenses if expense.where == key), Decimal(0))
