"""How both services' units of work begin and end a use case's transaction.

A unit wraps the service's session for one `with` block: the block's end commits, any
exception (a domain error included) rolls back. Units nest on a session: a use case called
inside another one's unit joins it (the count of open units lives in `session.info`), and only
the outermost unit commits or rolls back. Each service's UnitOfWork builds on this with what its
use cases need (api_app: the outbox and crossing detection; notify_app: the commit before a
Telegram request and the autocommitted outcome).
"""

from __future__ import annotations

from types import TracebackType
from typing import Self

from sqlalchemy.orm import Session

# session.info key: how many units are open on the session.
OPEN_UNITS = "open_units_of_work"


class NestedTransaction:
    def __init__(self, session: Session) -> None:
        self.session = session
        self._outermost = True

    @property
    def outermost(self) -> bool:
        """Whether this unit, not an enclosing one, ends the transaction."""
        return self._outermost

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
