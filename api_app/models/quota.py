from __future__ import annotations

import uuid
from datetime import date

from sqlalchemy import Date, ForeignKey, Integer
from sqlalchemy.orm import Mapped, mapped_column

from api_app.extensions import db


class DailyRowCount(db.Model):  # type: ignore[name-defined,misc]
    """Rows the account's requests wrote on `day` (UTC), against DAILY_ROW_QUOTA_PER_USER
    (api_app.quotas). One row per account: a new day starts it again from zero."""

    __tablename__ = "daily_row_counts"

    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    day: Mapped[date] = mapped_column(Date)
    rows: Mapped[int] = mapped_column(Integer)
