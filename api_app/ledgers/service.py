"""Use cases on ledgers, their members and invitations; each write is one unit of work.

Every change of a ledger's name or members locks its row and raises its `version` (one UPDATE),
so concurrent changes of one ledger queue up, and records ledger.membership_changed with the
whole ledger as it is now (its members and their roles) and that version: notify_app keeps the
newest snapshot whatever order they reach it in. Deleting a ledger records ledger.deleted.

A ledger always has exactly one owner: giving `owner` to someone hands ownership over (the giver
becomes a member), and the owner cannot leave while others remain. Invitations name `member`
or `viewer`. A personal ledger is its person's alone: it cannot be shared, left or deleted.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from sqlalchemy import and_, delete, func, select, update
from sqlalchemy.orm import Session, aliased

from api_app.changes import UNSET, Unset
from api_app.domain_errors import ConflictError, ForbiddenError, InvalidError, NotFoundError
from api_app.extensions import db
from api_app.ledgers.creation import create_ledger as insert_ledger
from api_app.models import Ledger, LedgerInvitation, LedgerMember, User
from api_app.splits.balances import net_of, signed_money
from api_app.splits.sharing import PERSONAL_NOT_SPLIT, DefaultSplit, check_default
from api_app.unit_of_work import UnitOfWork
from event_contract import (
    LEDGER_PERSONAL,
    LEDGER_SHARED,
    ROLE_MEMBER,
    ROLE_OWNER,
    ROLE_VIEWER,
    Event,
    LedgerDeleted,
    LedgerMembershipChanged,
)

# The contract's (member, role) pair, not the row of api_app.models of the same name.
from event_contract import LedgerMember as MemberRole

INVITATION_LIFETIME: Final = timedelta(days=7)
# Roles an invitation may give: ownership is handed over, never shared.
INVITED_ROLES: Final = frozenset({ROLE_MEMBER, ROLE_VIEWER})
# One message for every code that does not let anyone in, so a guess learns nothing.
NO_INVITATION: Final = "no such invitation, or it was used or has expired"
LEDGER_NOT_FOUND: Final = "ledger not found"
OWNER_ONLY: Final = "only the ledger's owner may do this"
PERSONAL_IS_PRIVATE: Final = "a personal ledger is its person's alone"


@dataclass(frozen=True)
class LedgerView:
    """A ledger as one of its members sees it."""

    id: uuid.UUID
    name: str
    kind: str
    role: str
    member_count: int
    # How its expenses are split when they say nothing (api_app.splits); None: not at all.
    default_split: dict[str, Any] | None = None


@dataclass(frozen=True)
class MemberView:
    user_id: uuid.UUID
    email: str
    display_name: str | None
    role: str
    joined_at: datetime


@dataclass(frozen=True)
class Membership:
    """A person's place in a ledger (what joining answers)."""

    ledger_id: uuid.UUID
    ledger_name: str
    user_id: uuid.UUID
    role: str
    joined_at: datetime


@dataclass(frozen=True)
class IssuedInvitation:
    """The code is shown once, here; only its digest is kept."""

    ledger_id: uuid.UUID
    code: str
    role: str
    expires_at: datetime


# -- reading ---------------------------------------------------------------------------------

_MEMBER_COUNT = (
    select(func.count())
    .where(LedgerMember.ledger_id == Ledger.id)
    .correlate(Ledger)
    .scalar_subquery()
)
_LEDGER_VIEW = (
    Ledger.id,
    Ledger.name,
    Ledger.kind,
    LedgerMember.role,
    _MEMBER_COUNT,
    Ledger.default_split,
)


def ledgers_of(user_id: uuid.UUID) -> list[LedgerView]:
    """The person's ledgers: the personal one first, then the shared ones by name."""
    rows = db.session.execute(
        select(*_LEDGER_VIEW)
        .join(LedgerMember, LedgerMember.ledger_id == Ledger.id)
        .where(LedgerMember.user_id == user_id)
        .order_by(Ledger.kind != LEDGER_PERSONAL, Ledger.name, Ledger.id)
    ).tuples()
    return [LedgerView(*row) for row in rows]


def get_ledger(user_id: uuid.UUID, ledger_id: uuid.UUID) -> LedgerView:
    row = db.session.execute(
        select(*_LEDGER_VIEW)
        .join(LedgerMember, LedgerMember.ledger_id == Ledger.id)
        .where(LedgerMember.user_id == user_id, Ledger.id == ledger_id)
    ).one_or_none()
    if row is None:
        raise NotFoundError(LEDGER_NOT_FOUND)
    return LedgerView(*row)


def members_of(user_id: uuid.UUID, ledger_id: uuid.UUID) -> list[MemberView]:
    """The ledger's members, the owner first, then by when they joined; NotFound unless the
    person is one of them."""
    caller = aliased(LedgerMember)
    rows = db.session.execute(
        select(
            LedgerMember.user_id,
            User.email,
            User.display_name,
            LedgerMember.role,
            LedgerMember.joined_at,
        )
        .join(User, User.id == LedgerMember.user_id)
        .join(
            caller,
            and_(caller.ledger_id == LedgerMember.ledger_id, caller.user_id == user_id),
        )
        .where(LedgerMember.ledger_id == ledger_id)
        .order_by(LedgerMember.role != ROLE_OWNER, LedgerMember.joined_at, LedgerMember.user_id)
    ).tuples()
    members = [MemberView(*row) for row in rows]
    if not members:
        raise NotFoundError(LEDGER_NOT_FOUND)
    return members


# -- the ledger ------------------------------------------------------------------------------


def create_shared_ledger(user_id: uuid.UUID, name: str, language: str) -> LedgerView:
    """A shared ledger owned by its maker, with the default categories named in `language`."""
    with UnitOfWork(user_id) as uow:
        ledger_id = insert_ledger(
            uow.session, name=name, kind=LEDGER_SHARED, owner_id=user_id, language=language
        )
        uow.record(
            Event(
                user_id=user_id,
                payload=LedgerMembershipChanged(
                    ledger_id=ledger_id,
                    name=name,
                    kind=LEDGER_SHARED,
                    version=1,
                    members=(MemberRole(user_id=user_id, role=ROLE_OWNER),),
                ),
            )
        )
    return LedgerView(ledger_id, name, LEDGER_SHARED, ROLE_OWNER, 1, None)


def change_ledger(
    user_id: uuid.UUID,
    ledger_id: uuid.UUID,
    *,
    name: str | Unset = UNSET,
    default_split: DefaultSplit | Unset | None = UNSET,
) -> LedgerView:
    """The owner renames a ledger (notify_app is told) or sets its default split."""
    with UnitOfWork(user_id) as uow:
        ledger, role = _lock(
            uow.session, user_id, ledger_id, raise_version=not isinstance(name, Unset)
        )
        _require_owner(role)
        member_ids = list(
            uow.session.scalars(
                select(LedgerMember.user_id).where(LedgerMember.ledger_id == ledger.id)
            )
        )
        if not isinstance(default_split, Unset):
            if default_split is not None and ledger.kind == LEDGER_PERSONAL:
                raise InvalidError.on("default_split", PERSONAL_NOT_SPLIT, PERSONAL_NOT_SPLIT)
            check_default(default_split, member_ids)
            ledger.default_split = None if default_split is None else default_split.as_json()
        if not isinstance(name, Unset):
            ledger.name = name
            _record_snapshot(uow, user_id, ledger)
        uow.session.flush()
    return LedgerView(
        ledger.id, ledger.name, ledger.kind, role, len(member_ids), ledger.default_split
    )


def delete_ledger(user_id: uuid.UUID, ledger_id: uuid.UUID) -> None:
    """The owner deletes a shared ledger with everything in it (the foreign keys cascade)."""
    with UnitOfWork(user_id) as uow:
        ledger, role = _lock(uow.session, user_id, ledger_id)
        _require_owner(role)
        if ledger.kind == LEDGER_PERSONAL:
            raise ConflictError("a personal ledger cannot be deleted")
        _delete(uow, user_id, ledger)


# -- invitations -----------------------------------------------------------------------------


def invite(user_id: uuid.UUID, ledger_id: uuid.UUID, role: str) -> IssuedInvitation:
    """A single-use code that lets whoever holds it join as `role` within a week."""
    with UnitOfWork(user_id) as uow:
        ledger, caller_role = _lock(uow.session, user_id, ledger_id, raise_version=False)
        _require_owner(caller_role)
        if ledger.kind == LEDGER_PERSONAL:
            raise ConflictError(f"{PERSONAL_IS_PRIVATE}: create a shared ledger to invite others")
        code = secrets.token_urlsafe(18)
        expires_at = datetime.now(UTC) + INVITATION_LIFETIME
        uow.session.add(
            LedgerInvitation(
                ledger_id=ledger.id,
                code_digest=invitation_digest(code),
                role=role,
                created_by=user_id,
                expires_at=expires_at,
            )
        )
    return IssuedInvitation(ledger_id, code, role, expires_at)


def join(user_id: uuid.UUID, code: str) -> Membership:
    """Use an invitation's code: its ledger gains the person with the invitation's role."""
    with UnitOfWork(user_id) as uow:
        invitation = uow.session.scalar(
            select(LedgerInvitation)
            .where(
                LedgerInvitation.code_digest == invitation_digest(code),
                LedgerInvitation.used_at.is_(None),
                LedgerInvitation.expires_at > func.now(),
            )
            .with_for_update()
        )
        if invitation is None:
            raise NotFoundError(NO_INVITATION)
        ledger = uow.session.scalar(
            select(Ledger).where(Ledger.id == invitation.ledger_id).with_for_update()
        )
        assert ledger is not None  # the invitation's row holds the ledger's key
        member = uow.session.get(LedgerMember, (ledger.id, user_id))
        if member is not None:
            raise ConflictError("you are a member of this ledger already")
        joiner_name = uow.session.scalar(select(User.display_name).where(User.id == user_id))
        if joiner_name is not None:
            _check_name_free_in(uow.session, ledger.id, user_id, joiner_name)
        invitation.used_at = datetime.now(UTC)
        invitation.used_by = user_id
        ledger.version += 1
        member = LedgerMember(ledger_id=ledger.id, user_id=user_id, role=invitation.role)
        uow.session.add(member)
        uow.session.flush()
        _record_snapshot(uow, user_id, ledger)
        return Membership(ledger.id, ledger.name, user_id, member.role, member.joined_at)


def check_name_free(session: Session, user_id: uuid.UUID, display_name: str) -> None:
    """ConflictError when someone who shares a ledger with the person is called `display_name`
    (in any letter case): the bot names members by it (`/spent 60 food for Ben`)."""
    mine = aliased(LedgerMember)
    theirs = aliased(LedgerMember)
    taken = session.scalar(
        select(User.id)
        .join(theirs, theirs.user_id == User.id)
        .join(mine, and_(mine.ledger_id == theirs.ledger_id, mine.user_id == user_id))
        .where(User.id != user_id, func.lower(User.display_name) == display_name.lower())
        .limit(1)
    )
    if taken is not None:
        raise ConflictError.on(
            "display_name",
            "Someone in a ledger you share is called that already.",
            f"someone in a ledger you share is called {display_name} already",
        )


def _check_name_free_in(
    session: Session, ledger_id: uuid.UUID, user_id: uuid.UUID, display_name: str
) -> None:
    taken = session.scalar(
        select(User.id)
        .join(LedgerMember, LedgerMember.user_id == User.id)
        .where(
            LedgerMember.ledger_id == ledger_id,
            User.id != user_id,
            func.lower(User.display_name) == display_name.lower(),
        )
        .limit(1)
    )
    if taken is not None:
        raise ConflictError(
            f"someone in this ledger is called {display_name} already: change your display"
            " name (PATCH /api/users/me) before joining"
        )


def invitation_digest(code: str) -> str:
    return hashlib.sha256(code.encode()).hexdigest()


# -- members ---------------------------------------------------------------------------------


def change_role(
    user_id: uuid.UUID, ledger_id: uuid.UUID, member_id: uuid.UUID, role: str
) -> MemberView:
    """The owner sets a member's role; giving `owner` hands ownership over."""
    with UnitOfWork(user_id) as uow:
        ledger, caller_role = _lock(uow.session, user_id, ledger_id)
        _require_owner(caller_role)
        member = _member(uow.session, ledger.id, member_id)
        if member.user_id == user_id:
            if role != ROLE_OWNER:
                raise ConflictError(
                    "a ledger needs its owner: give `owner` to another member first"
                )
        elif role == ROLE_OWNER:
            if ledger.kind == LEDGER_PERSONAL:  # pragma: no cover - no one else is a member
                raise ConflictError(PERSONAL_IS_PRIVATE)
            uow.session.execute(
                update(LedgerMember)
                .where(LedgerMember.ledger_id == ledger.id, LedgerMember.user_id == user_id)
                .values(role=ROLE_MEMBER)
                .execution_options(synchronize_session=False)
            )
            member.role = ROLE_OWNER
        else:
            member.role = role
        uow.session.flush()
        _record_snapshot(uow, user_id, ledger)
        email, display_name = uow.session.execute(
            select(User.email, User.display_name).where(User.id == member.user_id)
        ).one()
        return MemberView(member.user_id, email, display_name, member.role, member.joined_at)


def remove_member(user_id: uuid.UUID, ledger_id: uuid.UUID, member_id: uuid.UUID) -> None:
    """The owner removes anyone; anyone removes themselves. The owner leaves only once alone,
    and then the ledger goes with them."""
    with UnitOfWork(user_id) as uow:
        ledger, caller_role = _lock(uow.session, user_id, ledger_id)
        if member_id != user_id:
            _require_owner(caller_role)
        member = _member(uow.session, ledger.id, member_id)
        if member_id == user_id and ledger.kind == LEDGER_SHARED:
            # Leaving owing (or owed) would leave the others to sort it out: settle first. The
            # owner may still remove them; their balance then shows as a former member's.
            net = net_of(uow.session, ledger.id, member_id)
            if net != 0:
                raise ConflictError(
                    f"your balance in this ledger is {signed_money(net)}: settle up before"
                    " leaving (or the owner may remove you)"
                )
        if member.role == ROLE_OWNER:
            if ledger.kind == LEDGER_PERSONAL:
                raise ConflictError(f"{PERSONAL_IS_PRIVATE}: it cannot be left")
            others = uow.session.scalar(
                select(func.count())
                .select_from(LedgerMember)
                .where(LedgerMember.ledger_id == ledger.id, LedgerMember.user_id != member_id)
            )
            if others:
                raise ConflictError(
                    "the owner cannot leave while others remain: give `owner` to another"
                    " member first"
                )
            _delete(uow, user_id, ledger)
            return
        uow.session.delete(member)
        uow.session.flush()
        _record_snapshot(uow, user_id, ledger)


def leave_every_ledger(uow: UnitOfWork, user_id: uuid.UUID) -> None:
    """Before an account is deleted: it leaves its shared ledgers, each told to notify_app. A
    ledger it owns passes to the member who joined first (a viewer only when no member is
    left), or goes with it when it was alone. Its personal ledger goes with the account."""
    ledger_ids = uow.session.scalars(
        select(LedgerMember.ledger_id)
        .join(Ledger, Ledger.id == LedgerMember.ledger_id)
        .where(LedgerMember.user_id == user_id, Ledger.kind == LEDGER_SHARED)
        .order_by(LedgerMember.ledger_id)
    ).all()
    for ledger_id in ledger_ids:
        ledger, role = _lock(uow.session, user_id, ledger_id)
        heir = None
        if role == ROLE_OWNER:
            heir = uow.session.scalar(
                select(LedgerMember)
                .where(LedgerMember.ledger_id == ledger.id, LedgerMember.user_id != user_id)
                .order_by(LedgerMember.role == ROLE_VIEWER, LedgerMember.joined_at)
                .limit(1)
            )
            if heir is None:
                _delete(uow, user_id, ledger)
                continue
            heir.role = ROLE_OWNER
        uow.session.execute(
            delete(LedgerMember).where(
                LedgerMember.ledger_id == ledger.id, LedgerMember.user_id == user_id
            )
        )
        uow.session.flush()
        _record_snapshot(uow, user_id, ledger)


# -- the steps -------------------------------------------------------------------------------


def _lock(
    session: Session, user_id: uuid.UUID, ledger_id: uuid.UUID, *, raise_version: bool = True
) -> tuple[Ledger, str]:
    """The ledger, locked, with the person's role in it (read under the lock, so it is the role
    this change is judged by); its version raised. NotFound unless they are a member."""
    row = session.execute(
        select(Ledger, LedgerMember.role)
        .join(
            LedgerMember,
            and_(LedgerMember.ledger_id == Ledger.id, LedgerMember.user_id == user_id),
        )
        .where(Ledger.id == ledger_id)
        .with_for_update(of=Ledger)
    ).one_or_none()
    if row is None:
        raise NotFoundError(LEDGER_NOT_FOUND)
    ledger, role = row
    if raise_version:
        ledger.version += 1
    return ledger, role


def _require_owner(role: str) -> None:
    if role != ROLE_OWNER:
        raise ForbiddenError(OWNER_ONLY)


def _member(session: Session, ledger_id: uuid.UUID, member_id: uuid.UUID) -> LedgerMember:
    member = session.get(LedgerMember, (ledger_id, member_id), with_for_update=True)
    if member is None:
        raise NotFoundError("no such member of this ledger")
    return member


def _record_snapshot(uow: UnitOfWork, user_id: uuid.UUID, ledger: Ledger) -> list[LedgerMember]:
    """ledger.membership_changed: the ledger as this change leaves it, at its raised version."""
    uow.session.flush()
    members = list(
        uow.session.scalars(
            select(LedgerMember)
            .where(LedgerMember.ledger_id == ledger.id)
            .order_by(LedgerMember.joined_at, LedgerMember.user_id)
        )
    )
    uow.record(
        Event(
            user_id=user_id,
            payload=LedgerMembershipChanged(
                ledger_id=ledger.id,
                name=ledger.name,
                kind=ledger.kind,
                version=ledger.version,
                members=tuple(
                    MemberRole(user_id=member.user_id, role=member.role) for member in members
                ),
            ),
        )
    )
    return members


def _delete(uow: UnitOfWork, user_id: uuid.UUID, ledger: Ledger) -> None:
    """The ledger and everything in it; ledger.deleted at a version above every snapshot."""
    uow.session.flush()
    uow.session.execute(delete(Ledger).where(Ledger.id == ledger.id))
    uow.record(
        Event(user_id=user_id, payload=LedgerDeleted(ledger_id=ledger.id, version=ledger.version))
    )
