"""Use cases of who owes whom: a ledger's balances, and the settlements (repayments) recorded
between its members; each write is one unit of work.

Any member (a viewer too) reads the balances and settlements; an owner or member records or
deletes a settlement. A settlement is between two people who are members or former members
(someone with entries in the ledger, whose balance is still shown until settled).
"""

from __future__ import annotations

import datetime
import uuid
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import Select, delete, select
from sqlalchemy.orm import Session

from api_app.domain_errors import InvalidError, NotFoundError
from api_app.extensions import db
from api_app.ledgers.membership import Memberships, memberships_of
from api_app.models import LedgerMember, Settlement
from api_app.splits.balances import Balances, balances_in, has_entries
from api_app.unit_of_work import UnitOfWork
from service_kit.pagination import ListOrder

LEDGER_NOT_FOUND = "ledger not found"
SETTLEMENT_NOT_FOUND = "settlement not found"
# Newest date first, then newest recorded; the id makes the order total (keyset cursors).
SETTLEMENT_ORDER = ListOrder(
    (Settlement.date, Settlement.created_at, Settlement.id), descending=True
)


@dataclass(frozen=True)
class NewSettlement:
    from_user_id: uuid.UUID
    to_user_id: uuid.UUID
    amount: Decimal
    date: datetime.date


def balances_of(user_id: uuid.UUID, ledger_id: uuid.UUID) -> Balances:
    _member_of(memberships_of(user_id), ledger_id)
    return balances_in(db.session(), ledger_id)


def settlements_of(user_id: uuid.UUID, ledger_id: uuid.UUID) -> Select[tuple[Settlement]]:
    _member_of(memberships_of(user_id), ledger_id)
    return (
        select(Settlement)
        .where(Settlement.ledger_id == ledger_id)
        .order_by(*SETTLEMENT_ORDER.clauses())
    )


def get_settlement(
    user_id: uuid.UUID, ledger_id: uuid.UUID, settlement_id: uuid.UUID
) -> Settlement:
    _member_of(memberships_of(user_id), ledger_id)
    return _find(db.session(), ledger_id, settlement_id)


def record_settlement(user_id: uuid.UUID, ledger_id: uuid.UUID, new: NewSettlement) -> Settlement:
    """`from` paid `to` back `amount`: from's net rises by it, to's falls by it."""
    memberships = memberships_of(user_id)
    _member_of(memberships, ledger_id)
    memberships.check_writer(ledger_id)
    if new.from_user_id == new.to_user_id:
        problem = "Must not be the same person as from_user_id."
        raise InvalidError.on("to_user_id", problem, "a settlement is between two people")
    with UnitOfWork(user_id) as uow:
        for field, person in (("from_user_id", new.from_user_id), ("to_user_id", new.to_user_id)):
            if not _is_or_was_member(uow.session, ledger_id, person):
                problem = "Not a member or former member of this ledger."
                raise InvalidError.on(field, problem, f"{field}: {problem.lower()}")
        settlement = Settlement(
            ledger_id=ledger_id,
            from_user_id=new.from_user_id,
            to_user_id=new.to_user_id,
            amount=new.amount,
            date=new.date,
            created_by=user_id,
        )
        uow.session.add(settlement)
        uow.count_rows_written(1)
        uow.session.flush()
    return settlement


def delete_settlement(user_id: uuid.UUID, ledger_id: uuid.UUID, settlement_id: uuid.UUID) -> None:
    memberships = memberships_of(user_id)
    _member_of(memberships, ledger_id)
    memberships.check_writer(ledger_id)
    with UnitOfWork(user_id) as uow:
        deleted = uow.session.scalar(
            delete(Settlement)
            .where(Settlement.id == settlement_id, Settlement.ledger_id == ledger_id)
            .returning(Settlement.id)
        )
        if deleted is None:
            raise NotFoundError(SETTLEMENT_NOT_FOUND)


def _member_of(memberships: Memberships, ledger_id: uuid.UUID) -> None:
    if memberships.role(ledger_id) is None:
        raise NotFoundError(LEDGER_NOT_FOUND)


def _is_or_was_member(session: Session, ledger_id: uuid.UUID, user_id: uuid.UUID) -> bool:
    if session.get(LedgerMember, (ledger_id, user_id)) is not None:
        return True
    return has_entries(session, ledger_id, user_id)


def _find(session: Session, ledger_id: uuid.UUID, settlement_id: uuid.UUID) -> Settlement:
    settlement = session.scalar(
        select(Settlement).where(Settlement.id == settlement_id, Settlement.ledger_id == ledger_id)
    )
    if settlement is None:
        raise NotFoundError(SETTLEMENT_NOT_FOUND)
    return settlement
