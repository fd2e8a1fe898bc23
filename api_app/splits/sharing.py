"""Which split an expense of a shared ledger takes, and its shares: checked against the ledger's
members inside the writing unit of work, so a member who left a moment ago cannot be given a
share.

A split as asked is kept as JSON, {"method", "among": [{"user_id", "value"}]}, values as
strings (None for an equal split), so the shares can be computed again when the amount changes.
An expense that names no split takes the ledger's default: `equal` is kept as the equal split
among the owners and members of that moment, so a later member does not change old expenses.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import bindparam, delete, insert, select
from sqlalchemy.orm import Session

from api_app.domain_errors import InvalidError
from api_app.models import Ledger, LedgerMember, TransactionShare, TransactionType
from api_app.splits.arithmetic import InvalidSplitError, Portion, Share, SplitMethod, split
from event_contract import ROLE_MEMBER, ROLE_OWNER

PERSONAL_NOT_SPLIT = "a personal ledger's expenses are not split: they are yours alone"
INCOME_NOT_SPLIT = "only an expense is split, not an income"
# Who an equal default split is among: those who spend from the ledger, not those who only read.
SPENDERS = frozenset({ROLE_OWNER, ROLE_MEMBER})


@dataclass(frozen=True)
class SplitRequest:
    """A split as asked: `among` in the order given."""

    method: SplitMethod
    among: tuple[Portion, ...]

    def as_json(self) -> dict[str, Any]:
        return {
            "method": str(self.method),
            "among": [
                {
                    "user_id": str(portion.user_id),
                    "value": None if portion.value is None else str(portion.value),
                }
                for portion in self.among
            ],
        }

    @classmethod
    def from_json(cls, stored: Mapping[str, Any]) -> SplitRequest:
        return cls(
            SplitMethod(stored["method"]),
            tuple(
                Portion(
                    uuid.UUID(portion["user_id"]),
                    None if portion.get("value") is None else Decimal(portion["value"]),
                )
                for portion in stored.get("among", ())
            ),
        )


@dataclass(frozen=True)
class DefaultSplit:
    """A ledger's default: None (the household pays), `equal` among its spenders of the day
    (`among` empty), or fixed shares or percents."""

    method: SplitMethod
    among: tuple[Portion, ...] = ()

    def as_json(self) -> dict[str, Any]:
        return SplitRequest(self.method, self.among).as_json()


@dataclass(frozen=True)
class AppliedSplit:
    """What an expense is written with: who paid, the split (None: nobody owes) and shares."""

    paid_by: uuid.UUID | None
    split: SplitRequest | None
    shares: tuple[Share, ...]

    @property
    def split_json(self) -> dict[str, Any] | None:
        return None if self.split is None else self.split.as_json()


NOT_SPLIT = AppliedSplit(None, None, ())

_LEDGER = (
    select(LedgerMember.user_id, LedgerMember.role, Ledger.default_split)
    .join(Ledger, Ledger.id == LedgerMember.ledger_id)
    .where(LedgerMember.ledger_id == bindparam("ledger_id"))
    .order_by(LedgerMember.user_id)
)


def apply_split(
    session: Session,
    *,
    ledger_id: uuid.UUID,
    shared: bool,
    type: TransactionType,
    amount: Decimal,
    recorder: uuid.UUID,
    paid_by: uuid.UUID | None,
    asked: SplitRequest | None,
    use_default: bool,
) -> AppliedSplit:
    """The split an expense is written with. `asked`: the split given (None: none);
    `use_default`: none was given, so the ledger's default applies. InvalidError naming the
    field at fault."""
    if not shared:
        if asked is not None:
            raise InvalidError.on("split", PERSONAL_NOT_SPLIT, PERSONAL_NOT_SPLIT)
        if paid_by is not None:
            raise InvalidError.on("paid_by", PERSONAL_NOT_SPLIT, PERSONAL_NOT_SPLIT)
        return NOT_SPLIT
    if type is not TransactionType.EXPENSE:
        if asked is not None:
            raise InvalidError.on("split", INCOME_NOT_SPLIT, INCOME_NOT_SPLIT)
        return NOT_SPLIT
    roles, default = _ledger_of(session, ledger_id)
    if use_default:
        asked = default
    payer = recorder if paid_by is None else paid_by
    if payer not in roles:
        problem = "Not a member of this ledger."
        raise InvalidError.on("paid_by", problem, f"paid_by: {payer} is not a member")
    if asked is None:
        return AppliedSplit(payer, None, ())
    field = "default_split" if use_default else "split"
    for portion in asked.among:
        if portion.user_id not in roles:
            message = f"{portion.user_id} is not a member of this ledger"
            if use_default:
                message += ": the ledger's default split names them; change it"
            raise InvalidError(message, fields={(field, "among"): message})
    shares = compute_shares(amount, asked, field)
    return AppliedSplit(payer, asked, tuple(shares))


def _ledger_of(
    session: Session, ledger_id: uuid.UUID
) -> tuple[dict[uuid.UUID, str], SplitRequest | None]:
    """The ledger's members (id -> role) and its default split as it applies now."""
    rows = session.execute(_LEDGER, {"ledger_id": ledger_id}).all()
    roles = {row.user_id: row.role for row in rows}
    default = None if not rows else parse_default(rows[0].default_split)
    if default is None:
        return roles, None
    if default.method is SplitMethod.EQUAL:
        spenders = [user_id for user_id, role in roles.items() if role in SPENDERS]
        return roles, SplitRequest(SplitMethod.EQUAL, tuple(Portion(uid) for uid in spenders))
    return roles, SplitRequest(default.method, default.among)


def default_split_of(session: Session, ledger_id: uuid.UUID) -> SplitRequest | None:
    """The ledger's default split as it applies now, checked against its members (InvalidError
    naming default_split when it names someone who has left)."""
    roles, default = _ledger_of(session, ledger_id)
    for portion in () if default is None else default.among:
        if portion.user_id not in roles:
            message = f"{portion.user_id} is not a member of this ledger: the ledger's default"
            message += " split names them; change it"
            raise InvalidError(message, fields={("default_split", "among"): message})
    return default


def compute_shares(amount: Decimal, asked: SplitRequest, field: str = "split") -> list[Share]:
    try:
        return split(amount, asked.method, asked.among)
    except InvalidSplitError as invalid:
        message = str(invalid)
        part = "amount" if invalid.field == "amount" else invalid.field
        path = (part,) if part == "amount" else (field, part)
        raise InvalidError(message, fields={path: message}) from invalid


def parse_default(stored: Mapping[str, Any] | None) -> DefaultSplit | None:
    if stored is None:
        return None
    request = SplitRequest.from_json(stored)
    return DefaultSplit(request.method, request.among)


def check_default(default: DefaultSplit | None, members: Sequence[uuid.UUID]) -> None:
    """A ledger's default split must name members and, for percents, add up to 100."""
    if default is None or default.method is SplitMethod.EQUAL:
        if default is not None and default.among:
            message = "an equal default split is among every member: name nobody"
            raise InvalidError(message, fields={("default_split", "among"): message})
        return
    if default.method is SplitMethod.AMOUNTS:
        message = "a default split takes shares or percents, not amounts"
        raise InvalidError(message, fields={("default_split", "method"): message})
    for portion in default.among:
        if portion.user_id not in members:
            message = f"{portion.user_id} is not a member of this ledger"
            raise InvalidError(message, fields={("default_split", "among"): message})
    # Any amount shows whether the values hold together (percents add up to 100, ...).
    compute_shares(Decimal("100.00"), SplitRequest(default.method, default.among), "default_split")


INSERT_SHARES = insert(TransactionShare)
DELETE_SHARES = delete(TransactionShare).where(
    TransactionShare.transaction_id == bindparam("transaction_id")
)


def write_many_shares(
    session: Session,
    *,
    ledger_id: uuid.UUID,
    shares: Mapping[uuid.UUID, Sequence[Share]],
) -> None:
    """Store the shares of many new expenses (transaction id -> shares) in one statement."""
    rows = [
        {
            "transaction_id": transaction_id,
            "ledger_id": ledger_id,
            "user_id": share.user_id,
            "amount": share.amount,
        }
        for transaction_id, of_one in shares.items()
        for share in of_one
        if share.amount != 0
    ]
    if rows:
        session.execute(INSERT_SHARES, rows)


def write_shares(
    session: Session,
    *,
    ledger_id: uuid.UUID,
    transaction_id: uuid.UUID,
    shares: Sequence[Share],
    replace: bool,
) -> list[TransactionShare]:
    """Store an expense's shares (`replace`: instead of those it had). A member left out with
    0 keeps no row: a share of nothing owes nothing."""
    if replace:
        session.execute(DELETE_SHARES, {"transaction_id": transaction_id})
    kept = [share for share in shares if share.amount != 0]
    if kept:
        session.execute(
            INSERT_SHARES,
            [
                {
                    "transaction_id": transaction_id,
                    "ledger_id": ledger_id,
                    "user_id": share.user_id,
                    "amount": share.amount,
                }
                for share in kept
            ],
        )
    return [
        TransactionShare(
            transaction_id=transaction_id,
            ledger_id=ledger_id,
            user_id=share.user_id,
            amount=share.amount,
        )
        for share in sorted(kept, key=lambda share: share.user_id)
    ]
