"""What the kit knows of a service's database: its flask-sqlalchemy extension, built the same
way in both services, and which errors mean the database itself is unavailable."""

from __future__ import annotations

from typing import Any, Final

from flask import current_app
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import MetaData
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from sqlalchemy.orm import DeclarativeBase, Session, scoped_session

# The database is down, restarting or out of connections: nothing the caller did wrong, and
# worth trying again shortly (a request answers 503, a task retries with backoff).
TRANSIENT_DATABASE_ERRORS: Final = (OperationalError, InterfaceError, PoolTimeoutError)

# Every engine of both services. No pre-ping (a round trip at every checkout, two per event in
# the notifications worker): a connection that died with its server is noticed when used, a
# request whose first statement met it runs again (service_kit.connection_recovery), a task is
# retried. A stopped or unreachable database must answer health checks fast, never hang. A failed
# statement is logged with its SQL, never its values (emails, hashes, chat ids).
ENGINE_OPTIONS: Final[dict[str, Any]] = {
    "connect_args": {"connect_timeout": 2},
    "hide_parameters": True,
}

# Prisma's naming, so constraint names match the specification's schema.
NAMING_CONVENTION: Final = {
    "ix": "%(table_name)s_%(column_0_N_name)s_idx",
    "uq": "%(table_name)s_%(column_0_N_name)s_key",
    "fk": "%(table_name)s_%(column_0_name)s_fkey",
    "pk": "%(table_name)s_pkey",
    "ck": "%(table_name)s_%(constraint_name)s_check",
}


def new_database() -> SQLAlchemy:
    """A service's `db`, over a declarative base (and metadata) of its own."""
    base = type(
        "Base", (DeclarativeBase,), {"metadata": MetaData(naming_convention=NAMING_CONVENTION)}
    )
    # A committed use case answers with what it wrote: objects keep their values after the
    # commit, so serialising the response (or logging what was just committed) never checks out
    # a connection again to reload them.
    return SQLAlchemy(model_class=base, session_options={"expire_on_commit": False})


def session() -> scoped_session[Session]:
    """The current app's session (whichever service's app is handling the request or task)."""
    scoped: scoped_session[Session] = current_app.extensions["sqlalchemy"].session
    return scoped
