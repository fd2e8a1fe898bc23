"""Use cases on categories; each write is one unit of work."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import ColumnElement, Select, exists, or_, select, update
from sqlalchemy.exc import IntegrityError

from api_app.changes import UNSET, Unset
from api_app.domain_errors import ConflictError, InvalidError, NotFoundError
from api_app.extensions import db
from api_app.ledgers.membership import memberships_of
from api_app.models import BudgetLimit, Category, RecurringTransaction, Transaction
from api_app.unit_of_work import UnitOfWork
from service_kit.pagination import ListOrder

NAME_TAKEN = "categories_ledger_id_name_key"
CATEGORY_ORDER = ListOrder((Category.name, Category.id), descending=False)


@dataclass(frozen=True)
class NewCategory:
    name: str
    icon: str | None = None
    # None: the person's personal ledger.
    ledger_id: uuid.UUID | None = None


@dataclass(frozen=True)
class CategoryChanges:
    """A PATCH: the fields given, UNSET for the others."""

    name: str | Unset = UNSET
    icon: str | Unset | None = UNSET


def categories_of(
    user_id: uuid.UUID, ledger_id: uuid.UUID | None = None
) -> Select[tuple[Category]]:
    """The categories of a ledger of the person's (None: their personal one)."""
    ledger_id = memberships_of(user_id).reading(ledger_id)
    return (
        select(Category).where(Category.ledger_id == ledger_id).order_by(*CATEGORY_ORDER.clauses())
    )


def get_category(user_id: uuid.UUID, category_id: uuid.UUID) -> Category:
    """A category of any of the person's ledgers."""
    category = db.session.scalar(
        select(Category).where(
            Category.id == category_id,
            Category.ledger_id.in_(memberships_of(user_id).readable),
        )
    )
    if category is None:
        raise NotFoundError("category not found")
    return category


def create_category(user_id: uuid.UUID, new: NewCategory) -> Category:
    ledger_id = memberships_of(user_id).writing(new.ledger_id)
    with UnitOfWork(user_id) as uow:
        category = Category(ledger_id=ledger_id, user_id=user_id, name=new.name, icon=new.icon)
        uow.session.add(category)
        _flush_unless_name_taken(uow, category.name)
    return category


def update_category(
    user_id: uuid.UUID, category_id: uuid.UUID, changes: CategoryChanges
) -> Category:
    with UnitOfWork(user_id) as uow:
        category = get_category(user_id, category_id)
        memberships_of(user_id).check_writer(category.ledger_id)
        if not isinstance(changes.name, Unset):
            category.name = changes.name
        if not isinstance(changes.icon, Unset):
            category.icon = changes.icon
        _flush_unless_name_taken(uow, category.name)
    return category


def delete_category(
    user_id: uuid.UUID, category_id: uuid.UUID, reassign_to: uuid.UUID | None
) -> None:
    """Delete a category that nothing depends on, or move its transactions and recurring
    transactions to reassign_to first.

    Its budget limits go with it (ON DELETE CASCADE). Both categories are locked in id order, so
    two deletions reassigning to each other queue up instead of deadlocking.
    """
    if reassign_to == category_id:
        raise InvalidError.on(
            "reassign_to",
            "Must differ from the category being deleted.",
            "reassign_to must be another category",
        )
    memberships = memberships_of(user_id)
    with UnitOfWork(user_id) as uow:
        wanted = [category_id] if reassign_to is None else [category_id, reassign_to]
        locked = {
            category.id: category
            for category in uow.session.scalars(
                select(Category)
                .where(Category.id.in_(wanted), Category.ledger_id.in_(memberships.readable))
                .order_by(Category.id)
                .with_for_update()
            )
        }
        category = locked.get(category_id)
        if category is None:
            raise NotFoundError("category not found")
        memberships.check_writer(category.ledger_id)
        if reassign_to is not None:
            # Transactions stay in their ledger: only a category of the same one will do.
            target = locked.get(reassign_to)
            if target is None or target.ledger_id != category.ledger_id:
                raise NotFoundError.on(
                    "reassign_to", "No such category.", "category to reassign to not found"
                )
            uow.limits(category.ledger_id).move_expenses(category_id, reassign_to)
            uow.session.execute(
                update(RecurringTransaction)
                .where(RecurringTransaction.category_id == category_id)
                .values(category_id=reassign_to)
                .execution_options(synchronize_session=False)
            )
        elif uow.session.scalar(select(_has_dependents(category_id))):
            raise ConflictError(
                "the category has transactions, recurring transactions or budget limits; delete"
                " it with ?reassign_to=<another category id> to move its transactions there"
            )
        uow.session.delete(category)


def _has_dependents(category_id: uuid.UUID) -> ColumnElement[bool]:
    return or_(
        exists().where(Transaction.category_id == category_id),
        exists().where(BudgetLimit.category_id == category_id),
        exists().where(RecurringTransaction.category_id == category_id),
    )


def _flush_unless_name_taken(uow: UnitOfWork, name: str) -> None:
    try:
        uow.session.flush()
    except IntegrityError as error:
        if NAME_TAKEN in str(error.orig):
            raise ConflictError.on(
                "name",
                "Already used by another of your categories.",
                f"you already have a category named {name!r}",
            ) from None
        raise
