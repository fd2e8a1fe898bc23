"""Pages of a SELECT for flask-smorest's @blp.paginate: counted and sliced in SQL (as api_app's)."""

from __future__ import annotations

from typing import Any

from flask_smorest import Page
from sqlalchemy import Select, func, select

from notify_app.extensions import db


class SelectPage(Page):  # type: ignore[misc]
    """Pager for a view that returns a select() of ORM entities: `@blp.paginate(SelectPage)`.

    The total comes from one COUNT query and the page from LIMIT/OFFSET: two queries, and only
    the requested page's rows are loaded. A page past the end is empty without asking the
    database for an offset that could overflow its integers.
    """

    collection: Select[Any]

    @property
    def item_count(self) -> int:
        count = select(func.count()).select_from(self.collection.order_by(None).subquery())
        return db.session.scalar(count) or 0

    @property
    def items(self) -> list[Any]:
        first = self.page_params.first_item
        if first >= self.page_params.item_count:
            return []
        page = self.collection.limit(self.page_params.page_size).offset(first)
        return list(db.session.scalars(page))
