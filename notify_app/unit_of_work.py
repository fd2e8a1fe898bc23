"""The unit of work: the only place in notify_app that commits or rolls back.

    with UnitOfWork() as uow:
        uow.session.execute(...)
        uow.commit()    # now: what follows (the HTTP request) needs the row durable first
        ...

The block's end commits; any exception, a domain error included, rolls back what is not
committed yet. Units nest: a use case called inside another one's unit (the bot's /start
linking a chat through update_settings) joins it, and only the outermost unit commits or rolls
back (service_kit.unit_of_work, which both services' units build on). `commit()` mid-block
is the outermost unit's only: it promises that what was written is durable before the block
goes on, and an inner unit cannot keep that promise.

`autocommit` is the one way around the session's transaction: a single statement that commits
as it runs, for the delivery's outcome (bench/README.md, "The notification drain": one round
trip, where BEGIN, the statement and COMMIT on the session would be three).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Executable, Row

from notify_app.extensions import autocommit_engine, db
from service_kit.unit_of_work import NestedTransaction


class UnitOfWork(NestedTransaction):
    def __init__(self) -> None:
        super().__init__(db.session())

    def commit(self) -> None:
        """Commit now; the block goes on in a new transaction (the block's end commits that)."""
        if not self.outermost:
            raise RuntimeError("only the outermost unit of work commits mid-block")
        self.session.commit()

    def autocommit(
        self, statement: Executable, parameters: Mapping[str, Any]
    ) -> Sequence[Row[Any]]:
        """Run one statement that commits as it runs, outside the unit's transaction; its rows.

        On a pool of its own whose connections stay in autocommit: switching one of
        db.engine's connections there for a statement costs a round trip more, to switch it
        back at check-in.
        """
        with autocommit_engine().connect() as connection:
            return connection.execute(statement, parameters).all()
