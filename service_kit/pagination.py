"""Pages of a list: by keyset cursor or by page number, counted only up to COUNT_LIMIT.

Every list view returns a select() of its rows and is decorated with `@blp.paginate(ORDER)`,
where ORDER is the list's `ListOrder` (its sort columns, the last one unique). A request either
names a page (`page`, `page_size`: LIMIT/OFFSET, as before) or continues from a cursor
(`cursor`, `page_size`: a keyset condition on the sort columns, so page 5,000 costs what page 2
does). Either way the `X-Pagination` header carries `next_cursor`, null on the last page.

A cursor is the sort key of the last row of a page, in JSON, with an HMAC over it, the list (its
endpoint and filters) and the user, keyed with the service's CURSOR_SECRET (a secret the service
alone holds): an edited cursor, one from another list or filter, or one from another user is
refused with 422 before any query runs. The rows of a page are still those of the token's user
only, whatever a cursor says.

Counting stops at COUNT_LIMIT matching rows, so a list costs the same with a history of a
thousand rows or a million: up to the limit the header has the exact `total` (and the page
numbers derived from it); past it `total` is left out and `total_exceeds` says the list has more
than COUNT_LIMIT rows.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import hashlib
import hmac
import http
import json
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from enum import Enum
from functools import wraps
from typing import Any, Final, NoReturn

import flask_smorest
import marshmallow as ma
from flask import current_app, request
from flask.views import MethodView
from flask_jwt_extended import get_jwt_identity
from flask_smorest.pagination import PaginationMixin
from flask_smorest.utils import unpack_tuple_response
from sqlalchemy import ColumnElement, Select, func, literal, select, tuple_
from sqlalchemy.orm import InstrumentedAttribute
from webargs.flaskparser import FlaskParser

from service_kit.database import session

COUNT_LIMIT: Final = 1000
DEFAULT_PAGE_SIZE: Final = 10
MAX_PAGE_SIZE: Final = 100
CURSOR_MAX_LENGTH: Final = 1000
MAC_BYTES: Final = 16
# PostgreSQL's OFFSET is a bigint: a page further out than that is empty, without asking.
LARGEST_OFFSET: Final = 2**63 - 1
BAD_CURSOR: Final = (
    "Not a cursor of this list: pass the next_cursor of a page of the same list, with the same "
    "filters, as the same user (or leave it out to start again from the first page)."
)

Key = InstrumentedAttribute[Any]


@dataclass(frozen=True)
class ListOrder:
    """The order of a list: its sort columns, all one way, the last one unique among the rows."""

    columns: tuple[Key, ...]
    descending: bool

    def clauses(self) -> list[ColumnElement[Any]]:
        return [column.desc() if self.descending else column.asc() for column in self.columns]

    def after(self, position: Sequence[Any]) -> ColumnElement[bool]:
        """The rows that come after `position` (a row's sort key) in this order."""
        here = tuple_(*self.columns)
        there = tuple_(
            *(
                literal(value, column.type)
                for column, value in zip(self.columns, position, strict=True)
            )
        )
        return here < there if self.descending else here > there

    def key_of(self, row: Any) -> list[Any]:
        return [getattr(row, column.key) for column in self.columns]


class PageParametersSchema(ma.Schema):
    class Meta:
        unknown = ma.EXCLUDE  # the list's filters are read from the same query string

    page = ma.fields.Integer(
        validate=ma.validate.Range(min=1),
        metadata={"description": "Page number (1 when neither page nor cursor is given)"},
    )
    page_size = ma.fields.Integer(
        load_default=DEFAULT_PAGE_SIZE, validate=ma.validate.Range(min=1, max=MAX_PAGE_SIZE)
    )
    cursor = ma.fields.String(
        validate=ma.validate.Length(min=1, max=CURSOR_MAX_LENGTH),
        metadata={"description": "The next_cursor of the previous page, to read the one after it"},
    )

    @ma.validates_schema
    def _page_or_cursor(self, data: dict[str, Any], **kwargs: Any) -> None:
        if "page" in data and "cursor" in data:
            raise ma.ValidationError("Give either page or cursor, not both.", "cursor")


class PageMetadataSchema(ma.Schema):
    """What X-Pagination carries (as JSON)."""

    total = ma.fields.Int(
        metadata={"description": f"How many items match, when at most {COUNT_LIMIT:,}"}
    )
    total_exceeds = ma.fields.Int(
        metadata={"description": "Instead of total: more than this many items match"}
    )
    total_pages = ma.fields.Int(metadata={"description": "Number of pages, when total is given"})
    first_page = ma.fields.Int(metadata={"description": "First page number"})
    last_page = ma.fields.Int(metadata={"description": "Last page number, when total is given"})
    page = ma.fields.Int(metadata={"description": "This page's number (page requests only)"})
    previous_page = ma.fields.Int(metadata={"description": "Previous page number"})
    next_page = ma.fields.Int(metadata={"description": "Next page number"})
    next_cursor = ma.fields.String(
        allow_none=True,
        metadata={"description": "Pass as `cursor` for the next page; null on the last page"},
    )


class KeysetPagination:
    """Blueprint mixin: `@blp.paginate(order)` for views that return a select() of their rows."""

    PAGINATION_HEADER_NAME = "X-Pagination"
    PAGINATION_ARGUMENTS_PARSER = FlaskParser()

    def paginate(self, order: ListOrder) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        error_status = self.PAGINATION_ARGUMENTS_PARSER.DEFAULT_VALIDATION_STATUS

        def decorator(view: Callable[..., Any]) -> Callable[..., Any]:
            @wraps(view)
            def wrapper(*args: Any, **kwargs: Any) -> Any:
                wanted = self.PAGINATION_ARGUMENTS_PARSER.parse(
                    PageParametersSchema, request, location="query"
                )
                collection, status, headers = unpack_tuple_response(view(*args, **kwargs))
                items, metadata = _page(order, collection, wanted, _list_identity(args, kwargs))
                headers = dict(headers or {})
                headers[self.PAGINATION_HEADER_NAME] = json.dumps(metadata)
                return items, status, headers

            wrapper._apidoc = dict(getattr(wrapper, "_apidoc", {}))  # type: ignore[attr-defined]
            wrapper._apidoc["pagination"] = {  # type: ignore[attr-defined]
                "parameters": {"in": "query", "schema": PageParametersSchema},
                "response": {error_status: http.HTTPStatus(error_status).name},
            }
            return wrapper

        return decorator

    def _document_pagination_metadata(self, spec: Any, resp_doc: dict[str, Any]) -> None:
        # The header carries JSON; a bare object schema would read as OpenAPI's "simple" style.
        resp_doc.setdefault("headers", {})[self.PAGINATION_HEADER_NAME] = {
            "description": "Pagination metadata, as JSON",
            "content": {"application/json": {"schema": PageMetadataSchema}},
        }


def _page(
    order: ListOrder, collection: Select[Any], wanted: dict[str, Any], identity: bytes
) -> tuple[list[Any], dict[str, Any]]:
    page_size: int = wanted["page_size"]
    # A cursor is checked before anything is read.
    position = _read_cursor(order, wanted["cursor"], identity) if "cursor" in wanted else None
    ordered = collection.order_by(None).order_by(*order.clauses())
    total = _bounded_count(collection)
    metadata: dict[str, Any] = {}
    if position is not None:
        rows = _fetch(ordered.where(order.after(position)), page_size, offset=0)
    else:
        page = wanted.get("page", 1)
        first = (page - 1) * page_size
        past_the_end = first > LARGEST_OFFSET or (total is not None and first >= total)
        rows = [] if past_the_end else _fetch(ordered, page_size, offset=first)
        metadata = _page_numbers(page, page_size, total, more=len(rows) > page_size)
    if total is None:
        metadata["total_exceeds"] = COUNT_LIMIT
    else:
        metadata["total"] = total
    items = rows[:page_size]
    more = len(rows) > page_size
    metadata["next_cursor"] = _write_cursor(order.key_of(items[-1]), identity) if more else None
    return items, PageMetadataSchema().dump(metadata)


def _fetch(rows: Select[Any], page_size: int, *, offset: int) -> list[Any]:
    # One row more than the page tells whether there is a next page, without counting.
    return list(session().scalars(rows.offset(offset or None).limit(page_size + 1)))


def _bounded_count(collection: Select[Any]) -> int | None:
    """How many rows the list has, or None when it has more than COUNT_LIMIT."""
    capped = (
        collection.with_only_columns(literal(1), maintain_column_froms=True)
        .order_by(None)
        .limit(COUNT_LIMIT + 1)
        .subquery()
    )
    count = session().scalar(select(func.count()).select_from(capped)) or 0
    return None if count > COUNT_LIMIT else count


def _page_numbers(page: int, page_size: int, total: int | None, *, more: bool) -> dict[str, Any]:
    if total is not None:
        numbers: dict[str, Any] = PaginationMixin._make_pagination_metadata(page, page_size, total)
        numbers.pop("total")
        return numbers
    numbers = {"first_page": 1, "page": page}
    if page > 1:
        numbers["previous_page"] = page - 1
    if more:
        numbers["next_page"] = page + 1
    return numbers


def _list_identity(args: tuple[Any, ...], kwargs: dict[str, Any]) -> bytes:
    """Which list of whom: the endpoint, the user and the view's parsed filters."""
    filters = [arg for arg in args if not isinstance(arg, MethodView)]
    described = json.dumps(
        [request.endpoint, get_jwt_identity(), filters, kwargs], default=_plain, sort_keys=True
    )
    return described.encode()


def _mac(payload: bytes, identity: bytes) -> bytes:
    key = hashlib.sha256(b"list cursors\0" + current_app.config["CURSOR_SECRET"].encode())
    digest = hmac.new(key.digest(), identity + b"\0" + payload, hashlib.sha256).digest()
    return digest[:MAC_BYTES]


def _write_cursor(position: list[Any], identity: bytes) -> str:
    payload = json.dumps(position, default=_plain, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(payload + _mac(payload, identity)).rstrip(b"=").decode()


def _read_cursor(order: ListOrder, cursor: str, identity: bytes) -> list[Any]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
    except (binascii.Error, ValueError):
        _refuse()
    payload, mac = raw[:-MAC_BYTES], raw[-MAC_BYTES:]
    if len(raw) <= MAC_BYTES or not hmac.compare_digest(mac, _mac(payload, identity)):
        _refuse()
    try:
        values = json.loads(payload)
        if not isinstance(values, list) or len(values) != len(order.columns):
            _refuse()
        return [_typed(column, value) for column, value in zip(order.columns, values, strict=True)]
    except (ValueError, TypeError):
        _refuse()


def _typed(column: Key, value: Any) -> Any:
    """A cursor value back as the column's Python type (the MAC vouches for it, still checked)."""
    kind = column.type.python_type
    if kind is datetime:
        moment = datetime.fromisoformat(value)
        if moment.tzinfo is None:
            raise ValueError("a cursor's timestamp has a time zone")
        return moment
    if kind is date:
        return date.fromisoformat(value)
    if kind is uuid.UUID:
        return uuid.UUID(value)
    if kind is int and isinstance(value, int) and not isinstance(value, bool):
        return value
    if kind is str and isinstance(value, str):
        return value
    raise TypeError(f"cannot read a {kind.__name__} from {value!r}")


def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    if isinstance(value, date | datetime):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, uuid.UUID):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not part of a list's identity")


def _refuse() -> NoReturn:
    flask_smorest.abort(
        422, message=BAD_CURSOR, errors={"query": {"cursor": ["Not a cursor of this list."]}}
    )
    raise AssertionError("flask_smorest.abort returned")
