"""The unit of work: one use case, one database transaction, committed once.

    with UnitOfWork(user_id) as uow:
        row = uow.limits.write_expenses(insert(Transaction)..., added=[...])

It holds what every write used to repeat: the commit (at the end of the `with` block; any
exception, a domain error included, rolls everything back instead), the events recorded in the
transaction (`record`, the transactional outbox) and the crossing detection (`limits` for
spending against budget limits, `change_goal` for savings goals), which records its events
itself. A use case that changes spending or a goal therefore cannot forget to check for a
crossing: the only way to make such a change is through these paths.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from types import TracebackType
from typing import Self

from flask import current_app
from sqlalchemy.orm import Session

from api_app.crossings.goals import change_goal
from api_app.crossings.limits import LimitCrossings
from api_app.events.outbox import record_event, record_event_once
from api_app.extensions import db
from api_app.models import Goal
from event_contract import Event


class UnitOfWork:
    def __init__(self, user_id: uuid.UUID | None = None) -> None:
        self.user_id = user_id
        self.session: Session = db.session()
        self._limits: LimitCrossings | None = None

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        error_type: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if error is None:
            self.commit()
        else:
            self.session.rollback()

    def commit(self) -> None:
        """Commit now (the block's end would too); the recorded events are published right
        after (api_app.events.fast_path)."""
        self.session.commit()

    def record(self, event: Event) -> None:
        """Add `event` to the outbox in this transaction: it exists if and only if the change
        it describes is committed."""
        record_event(event)

    def record_once(self, event: Event) -> bool:
        """`record` for an event whose id says what it is about: False if already recorded."""
        return record_event_once(event)

    @property
    def limits(self) -> LimitCrossings:
        """The paths that change spending or limits of the user's category-months."""
        if self._limits is None:
            if self.user_id is None:
                raise RuntimeError("limit crossings are a user's: UnitOfWork(user_id)")
            self._limits = LimitCrossings(
                self.session,
                self.user_id,
                thresholds=current_app.config["BUDGET_WARNING_THRESHOLDS"],
                record=self.record,
            )
        return self._limits

    def change_goal(self, goal_id: uuid.UUID, change: Callable[[Goal], None]) -> Goal:
        """Lock the user's goal, apply `change`, record goal.reached if it was reached."""
        if self.user_id is None:
            raise RuntimeError("goals are a user's: UnitOfWork(user_id)")
        return change_goal(self.session, self.user_id, goal_id, change, self.record)
