"""A new ledger in one statement: the ledger, its owner's membership and its default
categories, as data-modifying CTEs of one INSERT. Sign-up makes the personal ledger this way in
the round trip that inserted the default categories before households; a shared ledger is made
the same way."""

from __future__ import annotations

import uuid

from sqlalchemy import (
    Boolean,
    Insert,
    Text,
    Uuid,
    func,
    insert,
    literal,
    select,
    true,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

from api_app.auth.default_categories import default_categories
from api_app.models import Category, Ledger, LedgerMember
from event_contract import LEDGER_PERSONAL, ROLE_OWNER

PERSONAL_LEDGER_NAME = "Personal"


def new_ledger_statement(
    *,
    ledger_id: uuid.UUID,
    name: str,
    kind: str,
    owner_id: uuid.UUID,
    language: str | None,
) -> Insert:
    """The statement; `language`: that of the default categories' names, None for none."""
    ledger = (
        insert(Ledger)
        .values(
            id=ledger_id,
            name=name,
            kind=kind,
            personal_user_id=owner_id if kind == LEDGER_PERSONAL else None,
        )
        .returning(Ledger.id)
        .cte("new_ledger")
    )
    owner = insert(LedgerMember).from_select(
        ["ledger_id", "user_id", "role"],
        select(ledger.c.id, literal(owner_id, Uuid), literal(ROLE_OWNER, Text)),
    )
    if language is None:
        return owner.add_cte(ledger)
    # Two arrays unnested side by side rather than a VALUES list: SQLAlchemy caches a statement
    # with bound arrays, while one with VALUES data it compiles anew on every sign-up.
    names, icons = zip(*default_categories(language), strict=True)
    defaults = select(
        func.unnest(literal(list(names), ARRAY(Text))).label("name"),
        func.unnest(literal(list(icons), ARRAY(Text))).label("icon"),
    ).subquery("defaults")
    return (
        insert(Category)
        .from_select(
            # The id is the database's: the model's Python default would give every row one.
            ["id", "ledger_id", "user_id", "name", "icon", "is_default"],
            select(
                func.gen_random_uuid(),
                ledger.c.id,
                literal(owner_id, Uuid),
                defaults.c.name,
                defaults.c.icon,
                literal(True, Boolean),
            ).select_from(ledger.join(defaults, true())),
        )
        .add_cte(owner.cte("new_owner"))
    )


def create_ledger(
    session: Session,
    *,
    name: str,
    kind: str,
    owner_id: uuid.UUID,
    language: str | None,
) -> uuid.UUID:
    """Insert the ledger, its owner and (unless `language` is None) its default categories
    named in `language`; answer its id."""
    ledger_id = uuid.uuid4()
    session.execute(
        new_ledger_statement(
            ledger_id=ledger_id, name=name, kind=kind, owner_id=owner_id, language=language
        )
    )
    return ledger_id
