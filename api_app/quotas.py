"""Quotas: how many rows one account's requests may write per day, beyond the per-minute
rates of api_app.rate_limits (120 writes a minute could each import 10,000 rows).

Counted in PostgreSQL, in the use case's own transaction (docs/architecture.md, "Quotas"): a
write that is refused or rolls back counts nothing, and two concurrent writes of one account
cannot both slip under the quota (the counter's row is locked until the first commits).
What counts: the transactions a request creates (one, an import's rows, a recurring rule's
catch-up) and a recurring rule itself; see README "Configuration", DAILY_ROW_QUOTA_PER_USER.
"""

from __future__ import annotations

import math
import uuid
from datetime import UTC, datetime, time, timedelta

from sqlalchemy import Date, Integer, Uuid, bindparam, text
from sqlalchemy.orm import Session

from api_app.domain_errors import QuotaExceededError

# Today's count plus the rows (a count of another day starts again), only while it stays within
# the quota: no row comes back past it. Written as SQL text because SQLAlchemy cannot cache an
# ON CONFLICT DO UPDATE with a SET of expressions ("no key"), and compiling it again on every
# transaction write cost more than running it.
COUNT_ROWS = text(
    """
    INSERT INTO daily_row_counts AS counts (user_id, day, rows)
    VALUES (:user_id, :day, :rows)
    ON CONFLICT (user_id) DO UPDATE
    SET day = EXCLUDED.day,
        rows = CASE WHEN counts.day = EXCLUDED.day THEN counts.rows + EXCLUDED.rows
                    ELSE EXCLUDED.rows END
    WHERE CASE WHEN counts.day = EXCLUDED.day THEN counts.rows + EXCLUDED.rows
               ELSE EXCLUDED.rows END <= :quota
    RETURNING rows
    """
).bindparams(
    bindparam("user_id", type_=Uuid),
    bindparam("day", type_=Date),
    bindparam("rows", type_=Integer),
    bindparam("quota", type_=Integer),
)


def count_rows_written(
    session: Session, user_id: uuid.UUID, rows: int, *, quota: int, now: datetime | None = None
) -> None:
    """Add `rows` to the account's count for today (UTC); QuotaExceededError, counting
    nothing, if that would pass `quota`: the caller's unit of work then rolls back the rows."""
    if rows <= 0:
        return
    now = now or datetime.now(UTC)
    today = now.astimezone(UTC).date()
    if rows <= quota:
        arguments = {"user_id": user_id, "day": today, "rows": rows, "quota": quota}
        if session.execute(COUNT_ROWS, arguments).scalar_one_or_none() is not None:
            return
    tomorrow = datetime.combine(today + timedelta(days=1), time.min, UTC)
    raise QuotaExceededError(
        f"this would write more than {quota} rows today, this account's daily quota;"
        " nothing was written",
        retry_after_seconds=max(1, math.ceil((tomorrow - now).total_seconds())),
    )
