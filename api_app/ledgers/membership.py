"""Which ledgers a person may read and write: their memberships, read with the access token's
user check (api_app.auth.access_tokens) in the same statement, so checking a request's ledger
costs no round trip of its own. Outside a request (the bot, the jobs) they are read when asked.

A ledger the person is not a member of is NotFound, as for any object not theirs; a viewer's
write is Forbidden.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from flask import g, has_request_context
from sqlalchemy import ScalarSelect, Select, bindparam, func, select

from api_app.domain_errors import ForbiddenError, NotFoundError
from api_app.extensions import db
from api_app.models import Ledger, LedgerMember, User
from event_contract import LEDGER_PERSONAL, ROLE_MEMBER, ROLE_OWNER

WRITERS = frozenset({ROLE_OWNER, ROLE_MEMBER})
VIEWER_WRITES = "a viewer of this ledger may only read it"


@dataclass(frozen=True)
class Membership:
    ledger_id: uuid.UUID
    role: str
    kind: str
    # Its expenses are split when they say nothing (api_app.splits): only then does writing one
    # read the ledger's members and default split.
    splits_by_default: bool = False


@dataclass(frozen=True)
class Memberships:
    """A person's ledgers, each with their role in it."""

    user_id: uuid.UUID
    by_ledger: Mapping[uuid.UUID, Membership]

    @property
    def personal_ledger_id(self) -> uuid.UUID:
        """Their own personal ledger (no one else is ever a member of it)."""
        for membership in self.by_ledger.values():
            if membership.kind == LEDGER_PERSONAL:
                return membership.ledger_id
        raise RuntimeError(f"user {self.user_id} has no personal ledger")

    @property
    def readable(self) -> list[uuid.UUID]:
        return sorted(self.by_ledger)

    def reading(self, ledger_id: uuid.UUID | None) -> uuid.UUID:
        """The ledger a read is about: `ledger_id`, or the personal ledger when None."""
        if ledger_id is None:
            return self.personal_ledger_id
        if ledger_id not in self.by_ledger:
            raise NotFoundError.on("ledger_id", "No such ledger.", "ledger not found")
        return ledger_id

    def writing(self, ledger_id: uuid.UUID | None) -> uuid.UUID:
        """The ledger a write goes to, as `reading`; Forbidden for a viewer."""
        ledger_id = self.reading(ledger_id)
        self.check_writer(ledger_id)
        return ledger_id

    def check_writer(self, ledger_id: uuid.UUID) -> None:
        if self.by_ledger[ledger_id].role not in WRITERS:
            raise ForbiddenError(VIEWER_WRITES)

    def role(self, ledger_id: uuid.UUID) -> str | None:
        membership = self.by_ledger.get(ledger_id)
        return None if membership is None else membership.role

    @classmethod
    def parse(cls, user_id: uuid.UUID, rows: Iterable[Any] | None) -> Memberships:
        """From MEMBERSHIPS' JSON: [[ledger_id, role, kind, splits_by_default], ...] (None: no
        ledger at all)."""
        by_ledger = {}
        for ledger_id, role, kind, splits_by_default in rows or ():
            membership = Membership(uuid.UUID(ledger_id), role, kind, splits_by_default)
            by_ledger[membership.ledger_id] = membership
        return cls(user_id, by_ledger)


def memberships_json(user_id: Any) -> ScalarSelect[Any]:
    """A person's memberships as one JSON value, for a statement that reads them along."""
    return (
        select(
            func.json_agg(
                func.json_build_array(
                    LedgerMember.ledger_id,
                    LedgerMember.role,
                    Ledger.kind,
                    Ledger.default_split.is_not(None),
                )
            )
        )
        .select_from(LedgerMember)
        .join(Ledger, Ledger.id == LedgerMember.ledger_id)
        .where(LedgerMember.user_id == user_id)
        .scalar_subquery()
    )


# Outside a request: the person's memberships alone.
MEMBERSHIPS: Select[Any] = select(memberships_json(bindparam("user_id")))
# The request's user check reads them with the user (api_app.auth.access_tokens).
_REQUEST_KEY = "ledger_memberships"


def remember_for_request(memberships: Memberships) -> None:
    """Keep what the request's user check read, for the request's use cases."""
    setattr(g, _REQUEST_KEY, memberships)


def memberships_of(user_id: uuid.UUID) -> Memberships:
    """The person's memberships: those the request's user check read along with the user, or,
    outside a request, read now."""
    if has_request_context():
        known: Memberships | None = g.get(_REQUEST_KEY)
        if known is not None and known.user_id == user_id:
            return known
    return Memberships.parse(user_id, db.session.scalar(MEMBERSHIPS, {"user_id": user_id}))


def personal_ledger_id(user_id: uuid.UUID) -> uuid.UUID:
    return memberships_of(user_id).personal_ledger_id


def token_user_statement() -> Select[tuple[User, Any]]:
    """The access token's user, locked FOR KEY SHARE, with their memberships."""
    return (
        select(User, memberships_json(User.id))
        .where(User.id == bindparam("user_id"))
        .with_for_update(read=True, key_share=True, of=User)
    )
