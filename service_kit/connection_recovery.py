"""Dropped database connections, noticed without a pre-ping at every checkout.

When PostgreSQL restarts, every pooled connection is dead. Without `pool_pre_ping` the first
statement on one fails; SQLAlchemy recognises the disconnect, discards that connection and
marks every older one of the pool for replacement at its next checkout. What is left is the
request whose statement failed: if it was the request's very first statement, nothing has been
read or written, so the request runs again, once, on a fresh connection. A failure later in a
request (the database died half-way) is not retried: it answers 500 as before, and its
transaction died with the connection, so nothing of it was committed.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, g, has_app_context
from flask.typing import ResponseReturnValue
from sqlalchemy import event
from sqlalchemy.exc import DBAPIError

from service_kit.database import session

# Statements this request (app context) has run successfully.
STATEMENTS_RUN = "_db_statements_run"

logger = logging.getLogger(__name__)


class RecoveringFlask(Flask):
    """Flask, whose views run once more when their first statement met a dead connection."""

    def dispatch_request(self) -> ResponseReturnValue:
        try:
            return super().dispatch_request()
        except DBAPIError as error:
            if not is_retryable(error):
                raise
        logger.warning("the database connection was dead; running the request again")
        session().remove()
        return super().dispatch_request()


def is_retryable(error: DBAPIError) -> bool:
    """The connection died before this app context ran any statement on it."""
    return bool(error.connection_invalidated) and g.get(STATEMENTS_RUN, 0) == 0


def install_statement_count(app: Flask) -> None:
    with app.app_context():
        engine = app.extensions["sqlalchemy"].engine
    if not event.contains(engine, "after_cursor_execute", _count):
        event.listen(engine, "after_cursor_execute", _count)


def _count(*_args: Any) -> None:
    if has_app_context():
        setattr(g, STATEMENTS_RUN, g.get(STATEMENTS_RUN, 0) + 1)
