"""The Alembic environment of both services' migrations (flask-migrate's, typed): each
service's migrations/env.py only calls run_migrations(), which migrates the database of the app
it runs in (`flask --app api_app db upgrade`, or flask_migrate.upgrade() in an app context)."""

from __future__ import annotations

import logging
from logging.config import fileConfig
from typing import Any

from alembic import context
from flask import current_app
from sqlalchemy import Engine, MetaData

logger = logging.getLogger("alembic.env")


def run_migrations() -> None:
    config = context.config
    if config.config_file_name is not None:
        # Keep the application's loggers: a migration run inside a process must not silence them.
        fileConfig(config.config_file_name, disable_existing_loggers=False)
    config.set_main_option("sqlalchemy.url", _engine_url())
    if context.is_offline_mode():
        _run_offline()
    else:
        _run_online()


def _engine() -> Engine:
    engine: Engine = current_app.extensions["migrate"].db.engine
    return engine


def _engine_url() -> str:
    return _engine().url.render_as_string(hide_password=False).replace("%", "%%")


def _metadata() -> MetaData:
    target_db = current_app.extensions["migrate"].db
    if hasattr(target_db, "metadatas"):
        metadata: MetaData = target_db.metadatas[None]
    else:
        metadata = target_db.metadata
    return metadata


def _run_offline() -> None:
    """SQL to the script output, from the URL alone (no Engine, no DBAPI needed)."""
    context.configure(
        url=context.config.get_main_option("sqlalchemy.url"),
        target_metadata=_metadata(),
        literal_binds=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def _run_online() -> None:
    configure_args: dict[str, Any] = current_app.extensions["migrate"].configure_args
    if configure_args.get("process_revision_directives") is None:
        configure_args["process_revision_directives"] = _skip_empty_autogenerate
    with _engine().connect() as connection:
        context.configure(connection=connection, target_metadata=_metadata(), **configure_args)
        with context.begin_transaction():
            context.run_migrations()


def _skip_empty_autogenerate(_context: Any, _revision: Any, directives: list[Any]) -> None:
    # `flask db migrate` with no change in the models writes no empty revision.
    autogenerating = getattr(context.config.cmd_opts, "autogenerate", False)
    if autogenerating and directives[0].upgrade_ops.is_empty():
        directives[:] = []
        logger.info("No changes in schema detected.")
