"""The unit of work: one use case, one database transaction, committed once.

    with UnitOfWork(user_id) as uow:
        row = uow.limits(ledger_id).write_expenses(insert(Transaction)..., added=[...])

It holds what every write used to repeat: the commit (at the end of the `with` block; any
exception, a domain error included, rolls everything back instead), the events recorded in the
transaction (`record`, the transactional outbox) and the crossing detection (`limits` for
spending against budget limits, `change_goal` for savings goals), which records its events
itself. A use case that changes spending or a goal therefore cannot forget to check for a
crossing: the only way to make such a change is through these paths.

Units nest: a use case called inside another one's unit (the bot recording a transaction
through create_transaction, with its own row and reply) joins it, and only the outermost unit
commits or rolls back (service_kit.unit_of_work, which both services' units build on).

It is the only way api_app commits or rolls back (tests/test_architecture.py holds
it so). A request's unit works on the request's session (db.session), whose transaction began
with the access token's user check (api_app.auth.access_tokens, the user locked FOR KEY SHARE):
the unit commits that transaction, so the check holds until the use case's change is
committed. Jobs open one unit per step they want kept when a later step fails.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable

from flask import current_app

from api_app.crossings.goals import change_goal
from api_app.crossings.limits import LimitCrossings
from api_app.events.outbox import record_event, record_event_once
from api_app.extensions import db
from api_app.models import Goal
from api_app.quotas import count_rows_written
from event_contract import Event
from service_kit.unit_of_work import NestedTransaction


class UnitOfWork(NestedTransaction):
    def __init__(self, user_id: uuid.UUID | None = None) -> None:
        # The events it records are published right after its commit (api_app.events.fast_path).
        super().__init__(db.session())
        self.user_id = user_id
        self._limits: dict[uuid.UUID, LimitCrossings] = {}

    def record(self, event: Event) -> None:
        """Add `event` to the outbox in this transaction: it exists if and only if the change
        it describes is committed. The only way to add an event."""
        record_event(self.session, event)

    def record_once(self, event: Event) -> bool:
        """`record` for an event whose id says what it is about: False if already recorded."""
        return record_event_once(self.session, event)

    def limits(self, ledger_id: uuid.UUID) -> LimitCrossings:
        """The paths that change spending or limits of the ledger's category-months, as the
        unit's user."""
        if ledger_id not in self._limits:
            if self.user_id is None:
                raise RuntimeError("limit crossings are made by a user: UnitOfWork(user_id)")
            self._limits[ledger_id] = LimitCrossings(
                self.session,
                ledger_id,
                self.user_id,
                thresholds=current_app.config["BUDGET_WARNING_THRESHOLDS"],
                record=self.record,
            )
        return self._limits[ledger_id]

    def count_rows_written(self, rows: int) -> None:
        """Count rows this use case writes against the user's daily quota (api_app.quotas):
        QuotaExceededError past it, and the unit rolls everything back."""
        if self.user_id is None:
            raise RuntimeError("quotas are a user's: UnitOfWork(user_id)")
        count_rows_written(
            self.session,
            self.user_id,
            rows,
            quota=current_app.config["DAILY_ROW_QUOTA_PER_USER"],
        )

    def change_goal(self, goal_id: uuid.UUID, change: Callable[[Goal], None]) -> Goal:
        """Lock the user's goal, apply `change`, record goal.reached if it was reached."""
        if self.user_id is None:
            raise RuntimeError("goals are a user's: UnitOfWork(user_id)")
        return change_goal(self.session, self.user_id, goal_id, change, self.record)
