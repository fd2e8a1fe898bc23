"""Who owes whom in a ledger: each person's net, read from ledger_balances.

A net is what the person paid for split expenses, minus their shares of them, plus what they
repaid others (settlements from them), minus what was repaid to them. Positive: owed to them.
Every split expense adds its amount once as paid and once, in shares, as owed, and every
settlement once each way, so the nets add up to zero exactly. Database triggers keep each
member's net in ledger_balances as the entries change (api migration 0013), so the balances read
one row per person however long the ledger's history; the changes the current transaction has
not yet committed are added from ledger_balance_changes, where only it sees them.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import BindParameter, Select, and_, bindparam, func, literal, select, union_all
from sqlalchemy.orm import Session

from api_app.models import (
    LedgerBalance,
    LedgerMember,
    Settlement,
    Transaction,
    TransactionShare,
    User,
    ledger_balance_changes,
)
from api_app.money import CENT
from api_app.splits.arithmetic import Transfer, settle_up


def _entries() -> Select[tuple[uuid.UUID, Decimal]]:
    ledger_id: BindParameter[uuid.UUID] = bindparam("ledger_id")
    return union_all(
        select(Transaction.paid_by.label("user_id"), Transaction.amount.label("amount")).where(
            Transaction.ledger_id == ledger_id, Transaction.split.is_not(None)
        ),
        select(TransactionShare.user_id, -TransactionShare.amount).where(
            TransactionShare.ledger_id == ledger_id
        ),
        select(Settlement.from_user_id, Settlement.amount).where(Settlement.ledger_id == ledger_id),
        select(Settlement.to_user_id, -Settlement.amount).where(Settlement.ledger_id == ledger_id),
    )  # type: ignore[return-value]


def _kept_nets() -> Select[tuple[uuid.UUID, Decimal]]:
    ledger_id: BindParameter[uuid.UUID] = bindparam("ledger_id")
    uncommitted = ledger_balance_changes.c
    return union_all(
        select(LedgerBalance.user_id, LedgerBalance.net.label("net")).where(
            LedgerBalance.ledger_id == ledger_id
        ),
        select(uncommitted.user_id, uncommitted.change).where(uncommitted.ledger_id == ledger_id),
    )  # type: ignore[return-value]


# Every entry, for whether a person ever had one; the nets are kept (_KEPT).
_ENTRIES = _entries().subquery("entries")
_KEPT = _kept_nets().subquery("kept")
_NETS = (
    select(_KEPT.c.user_id, func.sum(_KEPT.c.net).label("net"))
    .group_by(_KEPT.c.user_id)
    .subquery("nets")
)
_MEMBERS = (
    select(LedgerMember.user_id, LedgerMember.role, LedgerMember.joined_at)
    .where(LedgerMember.ledger_id == bindparam("ledger_id"))
    .subquery("members")
)
_PERSON = func.coalesce(_MEMBERS.c.user_id, _NETS.c.user_id)
# Every member (with 0 when they have no entry) and everyone else with an entry: a former member.
BALANCES = (
    select(
        _PERSON.label("user_id"),
        func.coalesce(_NETS.c.net, literal(0)).label("net"),
        _MEMBERS.c.role,
        User.display_name,
        User.email,
    )
    .select_from(_MEMBERS)
    .join(_NETS, _MEMBERS.c.user_id == _NETS.c.user_id, full=True)
    .outerjoin(User, User.id == _PERSON)
    .order_by(_MEMBERS.c.joined_at.nulls_last(), _PERSON)
)
NET_OF = select(func.coalesce(func.sum(_KEPT.c.net), literal(0))).where(
    _KEPT.c.user_id == bindparam("user_id")
)


@dataclass(frozen=True)
class Balance:
    user_id: uuid.UUID
    net: Decimal
    # None for a former member (left, removed, or their account deleted).
    role: str | None
    display_name: str | None
    email: str | None

    @property
    def former(self) -> bool:
        return self.role is None

    @property
    def name(self) -> str:
        return self.display_name or (self.email or "").split("@")[0] or "someone"


@dataclass(frozen=True)
class Balances:
    """A ledger's members and former members with a balance, and how they settle up."""

    balances: list[Balance]
    settle_up: list[Transfer]

    def of(self, user_id: uuid.UUID) -> Balance | None:
        return next((b for b in self.balances if b.user_id == user_id), None)


def balances_in(session: Session, ledger_id: uuid.UUID) -> Balances:
    """Every member's net (0 included), every former member whose net is not 0, and the fewest
    transfers that settle them all."""
    rows = session.execute(BALANCES, {"ledger_id": ledger_id}).all()
    balances = [
        Balance(row.user_id, Decimal(row.net).quantize(CENT), row.role, row.display_name, row.email)
        for row in rows
        if row.role is not None or row.net != 0
    ]
    transfers = settle_up({balance.user_id: balance.net for balance in balances})
    return Balances(balances, transfers)


def net_of(session: Session, ledger_id: uuid.UUID, user_id: uuid.UUID) -> Decimal:
    net = session.scalar(NET_OF, {"ledger_id": ledger_id, "user_id": user_id})
    return Decimal(net or 0).quantize(CENT)


def has_entries(session: Session, ledger_id: uuid.UUID, user_id: uuid.UUID) -> bool:
    """Whether the person ever paid, owed or settled in the ledger (a former member)."""
    found = session.scalar(
        select(literal(1))
        .select_from(_ENTRIES)
        .where(and_(_ENTRIES.c.user_id == bindparam("user_id")))
        .limit(1),
        {"ledger_id": ledger_id, "user_id": user_id},
    )
    return found is not None


def signed_money(amount: Decimal) -> str:
    """ "+30.00" owed to them, "-30.00" they owe, "0.00" even."""
    text = f"{amount.quantize(CENT)}"
    return f"+{text}" if amount > 0 else text
