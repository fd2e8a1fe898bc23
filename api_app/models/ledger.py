"""Households: a ledger holds categories, budgets, transactions, recurring rules and goals;
its members share it with a role each.

Every account has one personal ledger (made at sign-up, `personal_user_id` its owner, gone with
the account); anyone may make shared ledgers and invite others into them.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, DateTime, ForeignKey, Index, Integer, Text, func, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from api_app.extensions import db
from api_app.models.base import CreatedAt, UuidPrimaryKey
from event_contract import LEDGER_PERSONAL, LEDGER_ROLES, LEDGER_SHARED


def _one_of(column: str, values: frozenset[str]) -> str:
    return f"{column} IN ({', '.join(repr(value) for value in sorted(values))})"


class Ledger(db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "ledgers"
    __table_args__ = (
        CheckConstraint(_one_of("kind", frozenset({LEDGER_PERSONAL, LEDGER_SHARED})), name="kind"),
        # A personal ledger names its one person; a shared one nobody (its owners are members).
        CheckConstraint(
            f"(kind = '{LEDGER_PERSONAL}') = (personal_user_id IS NOT NULL)", name="personal_user"
        ),
    )
    # version (raised by UPDATE) comes back with the UPDATE itself, not as a later SELECT.
    __mapper_args__ = {"eager_defaults": True}  # noqa: RUF012 - SQLAlchemy's declaration

    id: Mapped[UuidPrimaryKey]
    name: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(Text)
    personal_user_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), unique=True
    )
    # Raised by every change of its name or members: the events' snapshots carry it, so
    # notify_app keeps the newest snapshot whatever order they arrive in.
    version: Mapped[int] = mapped_column(Integer, default=1, server_default=text("1"))
    created_at: Mapped[CreatedAt]
    # How a shared ledger's expenses are split when they say nothing: None (the household pays,
    # nobody owes anybody), {"method": "equal"} (among its owners and members at the time), or
    # fixed shares or percents, {"method", "among": [{"user_id", "value"}]}.
    default_split: Mapped[dict[str, Any] | None] = mapped_column(JSONB(none_as_null=True))


class LedgerMember(db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "ledger_members"
    __table_args__ = (
        CheckConstraint(_one_of("role", LEDGER_ROLES), name="role"),
        # A person's ledgers (every protected request reads them with the token's user).
        Index(None, "user_id"),
    )

    ledger_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("ledgers.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    role: Mapped[str] = mapped_column(Text)
    joined_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class LedgerInvitation(db.Model):  # type: ignore[name-defined,misc]
    """A single-use invitation into a shared ledger: only the SHA-256 digest of its code is
    kept, so a database leak invites nobody."""

    __tablename__ = "ledger_invitations"
    __table_args__ = (
        CheckConstraint(_one_of("role", LEDGER_ROLES), name="role"),
        Index(None, "ledger_id"),
    )

    id: Mapped[UuidPrimaryKey]
    ledger_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("ledgers.id", ondelete="CASCADE"))
    code_digest: Mapped[str] = mapped_column(Text, unique=True)
    role: Mapped[str] = mapped_column(Text)
    created_by: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    created_at: Mapped[CreatedAt]
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    used_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
