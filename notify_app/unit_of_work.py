"""The unit of work: the only place in notify_app that commits or rolls back.

    with UnitOfWork() as uow:
        uow.session.execute(...)
        uow.commit()    # now: what follows (the HTTP request) needs the row durable first
        ...

The block's end commits; any exception, a domain error included, rolls back what is not
committed yet. Units nest: a use case called inside another one's unit (the bot's /start
linking a chat through update_settings) joins it, and only the outermost unit commits or rolls
back. `commit()` mid-block is the outermost unit's only: it promises that what was written is
durable before the block goes on, and an inner unit cannot keep that promise.

`autocommit` is the one way around the session's transaction: a single statement that commits
as it runs, for the delivery's outcome (README "The notification drain": one round trip, where
BEGIN, the statement and COMMIT on the session would be three).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import TracebackType
from typing import Any, Self

from sqlalchemy import Executable, Row
from sqlalchemy.orm import Session

from notify_app.extensions import autocommit_engine, db

# session.info key: how many units are open on the session.
OPEN_UNITS = "open_units_of_work"


class UnitOfWork:
    def __init__(self) -> None:
        self.session: Session = db.session()
        self._outermost = True

    def __enter__(self) -> Self:
        depth: int = self.session.info.get(OPEN_UNITS, 0)
        self._outermost = depth == 0
        self.session.info[OPEN_UNITS] = depth + 1
        return self

    def __exit__(
        self,
        error_type: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.session.info[OPEN_UNITS] -= 1
        if not self._outermost:
            return  # the enclosing unit commits, or rolls back on the error
        if error is None:
            # Nothing since the last commit (or nothing at all): no round trip, as no
            # connection is held.
            self.session.commit()
        else:
            self.session.rollback()

    def commit(self) -> None:
        """Commit now; the block goes on in a new transaction (the block's end commits that)."""
        if not self._outermost:
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
