"""Whom a crossing's event is for: the person of a personal ledger, or a household.

A personal ledger's event goes to its one person exactly as before households (no ledger
context). A shared ledger's crossing becomes one event per member who is a member when the
change commits (their membership rows are held FOR KEY SHARE from here to the commit, so a
member removed meanwhile waits for it, and is still a member when it commits), each for that
member's private chat and settings (audience "member"), and one event for the ledger's group
chat (audience "group", its user who recorded the change, or the owner). Each names the ledger
and who recorded which expense.

Reading the members costs a statement, and only when a shared ledger's crossing happens; a
personal ledger's kind is known from the memberships the request read already.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from api_app.ledgers.membership import memberships_of
from api_app.models import Ledger, LedgerMember, User
from event_contract import AUDIENCE_GROUP, AUDIENCE_MEMBER, LEDGER_PERSONAL, Event, LedgerContext

# The shared ledger's members, held until commit, with what to call each.
_MEMBERS = (
    select(
        Ledger.name,
        Ledger.kind,
        LedgerMember.user_id,
        LedgerMember.role,
        User.display_name,
        User.email,
    )
    .join(LedgerMember, LedgerMember.ledger_id == Ledger.id)
    .join(User, User.id == LedgerMember.user_id)
    .where(Ledger.id == bindparam("ledger_id"))
    .order_by(LedgerMember.joined_at, LedgerMember.user_id)
    .with_for_update(read=True, key_share=True, of=LedgerMember)
)
_KIND = select(Ledger.kind).where(Ledger.id == bindparam("ledger_id"))
_NAME = select(User.display_name, User.email).where(User.id == bindparam("user_id"))


@dataclass(frozen=True)
class Recorded:
    """Who made the change that crossed, and the expense it wrote (None when changing a limit
    or a goal did)."""

    by: uuid.UUID | None
    amount: Decimal | None = None
    description: str | None = None


def display_name(name: str | None, email: str | None) -> str | None:
    """What the household calls a person: their display name, else their email's local part."""
    if name:
        return name
    return None if email is None else email.split("@", 1)[0]


def is_personal(session: Session, ledger_id: uuid.UUID, user_id: uuid.UUID | None) -> bool:
    if user_id is not None:
        membership = memberships_of(user_id).by_ledger.get(ledger_id)
        if membership is not None:
            return membership.kind == LEDGER_PERSONAL
    return session.scalar(_KIND, {"ledger_id": ledger_id}) == LEDGER_PERSONAL


def addressed(
    session: Session,
    event: Event,
    ledger_id: uuid.UUID,
    recorded: Recorded,
    *,
    personal: bool | None = None,
) -> list[Event]:
    """`event` (its user: the personal ledger's person) for everyone it is for. `personal`:
    the ledger's kind when the caller knows it."""
    if personal is None:
        personal = is_personal(session, ledger_id, recorded.by)
    if personal:
        return [event]
    rows = session.execute(_MEMBERS, {"ledger_id": ledger_id}).all()
    if not rows:
        return []
    ledger_name = rows[0].name
    names = {row.user_id: display_name(row.display_name, row.email) for row in rows}
    owner = next((row.user_id for row in rows if row.role == "owner"), rows[0].user_id)
    recorder_name = None
    if recorded.by is not None:
        recorder_name = names.get(recorded.by)
        if recorded.by not in names:  # a former member's recurring rule
            found = session.execute(_NAME, {"user_id": recorded.by}).one_or_none()
            recorder_name = None if found is None else display_name(*found)
    context = LedgerContext(
        ledger_id=ledger_id,
        ledger_name=ledger_name,
        recorded_by=recorded.by,
        recorded_by_name=recorder_name,
        transaction_amount=recorded.amount,
        transaction_description=recorded.description,
    )
    for_members = [
        Event(user_id=row.user_id, payload=_about(event, context, AUDIENCE_MEMBER)) for row in rows
    ]
    group_user = recorded.by if recorded.by is not None and recorded.by in names else owner
    for_group = Event(user_id=group_user, payload=_about(event, context, AUDIENCE_GROUP))
    return [*for_members, for_group]


def _about(event: Event, context: LedgerContext, audience: str) -> Any:
    """The event's payload with the ledger's context (every alert payload has a `ledger`)."""
    payload: Any = event.payload
    return replace(payload, ledger=replace(context, audience=audience))
