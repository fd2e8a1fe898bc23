"""Column types shared by the api_app models."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Annotated

from sqlalchemy import DateTime, Numeric, Uuid, func, text
from sqlalchemy.orm import mapped_column

# uuid keys made by the database too, so rows inserted by plain SQL get one as well.
UuidPrimaryKey = Annotated[
    uuid.UUID,
    mapped_column(
        Uuid, primary_key=True, default=uuid.uuid4, server_default=text("gen_random_uuid()")
    ),
]
Money = Annotated[Decimal, mapped_column(Numeric(12, 2))]
CreatedAt = Annotated[datetime, mapped_column(DateTime(timezone=True), server_default=func.now())]
# onupdate keeps the column current for every ORM update; plain SQL updates must set it themselves.
UpdatedAt = Annotated[
    datetime,
    mapped_column(DateTime(timezone=True), server_default=func.now(), onupdate=func.now()),
]
