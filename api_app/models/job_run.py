from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, Text, func
from sqlalchemy.orm import Mapped, mapped_column

from api_app.extensions import db


class JobRun(db.Model):  # type: ignore[name-defined,misc]
    """A periodic job's finished run for one period (`month-close`, `2026-11`): a job that is
    run again for a period it already did (another beat replica, a late run) does nothing."""

    __tablename__ = "job_runs"

    job: Mapped[str] = mapped_column(Text, primary_key=True)
    period: Mapped[str] = mapped_column(Text, primary_key=True)
    finished_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
