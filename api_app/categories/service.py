"""Use cases on categories; each write is one database transaction, committed here."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import ColumnElement, Integer, Select, exists, func, or_, select, update
from sqlalchemy.exc import IntegrityError

from api_app.blueprint import abort
from api_app.events import CategoryMonth, watch_limits
from api_app.extensions import db
from api_app.models import BudgetLimit, Category, Transaction
from api_app.pagination import ListOrder

NAME_TAKEN = "categories_user_id_name_key"
CATEGORY_ORDER = ListOrder((Category.name, Category.id), descending=False)


def categories_of(user_id: uuid.UUID) -> Select[tuple[Category]]:
    return select(Category).where(Category.user_id == user_id).order_by(*CATEGORY_ORDER.clauses())


def get_category(user_id: uuid.UUID, category_id: uuid.UUID) -> Category:
    category = db.session.scalar(
        select(Category).where(Category.id == category_id, Category.user_id == user_id)
    )
    if category is None:
        abort(404, message="category not found")
    return category


def lock_own_category(
    user_id: uuid.UUID, category_id: uuid.UUID, field: str | None = None
) -> Category:
    """The user's category that a new or changed row is about to reference, or 404.

    `field` names the request body field that gave the id, for the error's details.

    FOR KEY SHARE: the category cannot be deleted until this transaction ends, so a deletion that
    checks for dependent rows sees the row this transaction adds (and refuses), or came first and
    this lookup finds nothing.
    """
    category = db.session.scalar(
        select(Category)
        .where(Category.id == category_id, Category.user_id == user_id)
        .with_for_update(key_share=True)
    )
    if category is None:
        errors = None if field is None else {"json": {field: ["No such category."]}}
        abort(404, message="category not found", errors=errors)
    return category


def create_category(user_id: uuid.UUID, name: str, icon: str | None) -> Category:
    category = Category(user_id=user_id, name=name, icon=icon)
    db.session.add(category)
    _commit_unless_name_taken(name)
    return category


def update_category(
    user_id: uuid.UUID, category_id: uuid.UUID, changes: dict[str, Any]
) -> Category:
    category = get_category(user_id, category_id)
    for attribute, value in changes.items():
        setattr(category, attribute, value)
    _commit_unless_name_taken(category.name)
    return category


def delete_category(
    user_id: uuid.UUID, category_id: uuid.UUID, reassign_to: uuid.UUID | None
) -> None:
    """Delete a category that nothing depends on, or move its transactions to reassign_to first.

    Its budget limits go with it (ON DELETE CASCADE). Both categories are locked in id order, so
    two deletions reassigning to each other queue up instead of deadlocking.
    """
    if reassign_to == category_id:
        abort(
            422,
            message="reassign_to must be another category",
            errors={"query": {"reassign_to": ["Must differ from the category being deleted."]}},
        )
    wanted = [category_id] if reassign_to is None else [category_id, reassign_to]
    locked = {
        category.id: category
        for category in db.session.scalars(
            select(Category)
            .where(Category.id.in_(wanted), Category.user_id == user_id)
            .order_by(Category.id)
            .with_for_update()
        )
    }
    category = locked.get(category_id)
    if category is None:
        abort(404, message="category not found")
    if reassign_to is not None:
        if reassign_to not in locked:
            abort(
                404,
                message="category to reassign to not found",
                errors={"query": {"reassign_to": ["No such category."]}},
            )
        # The moved expenses can push reassign_to over its limit in any month they fall in.
        months = db.session.execute(
            select(
                func.extract("year", Transaction.date).cast(Integer),
                func.extract("month", Transaction.date).cast(Integer),
            )
            .where(Transaction.category_id == category_id)
            .distinct()
        ).all()
        limits = watch_limits(
            user_id, *(CategoryMonth(reassign_to, year, month) for year, month in months)
        )
        db.session.execute(
            update(Transaction)
            .where(Transaction.category_id == category_id)
            .values(category_id=reassign_to)
        )
        limits.emit_crossings(transaction_id=None)
    elif db.session.scalar(select(_has_dependents(category_id))):
        abort(
            409,
            message="the category has transactions or budget limits; delete it with "
            "?reassign_to=<another category id> to move its transactions there",
        )
    db.session.delete(category)
    db.session.commit()


def _has_dependents(category_id: uuid.UUID) -> ColumnElement[bool]:
    return or_(
        exists().where(Transaction.category_id == category_id),
        exists().where(BudgetLimit.category_id == category_id),
    )


def _commit_unless_name_taken(name: str) -> None:
    try:
        db.session.commit()
    except IntegrityError as error:
        db.session.rollback()
        if NAME_TAKEN in str(error.orig):
            abort(
                409,
                message=f"you already have a category named {name!r}",
                errors={"json": {"name": ["Already used by another of your categories."]}},
            )
        raise
