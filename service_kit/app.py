"""The start of both services' create_app(): the Flask app with its config, and its database."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import click
from flask import Flask, g
from flask.cli import with_appcontext
from flask_sqlalchemy import SQLAlchemy

from service_kit.connection_recovery import RecoveringFlask, install_statement_count
from service_kit.logs import configure_logging


def new_app(
    import_name: str, config: Mapping[str, Any], test_config: Mapping[str, Any] | None
) -> Flask:
    """A service's app: its config (from the environment), then the test's on top."""
    app = RecoveringFlask(import_name)
    app.config.update(config)
    if test_config is not None:
        app.config.update(test_config)
    if not app.testing:
        # Tests keep pytest's log capture; every real process logs one line per record.
        configure_logging(
            app.config["SERVICE_NAME"], app.config["LOG_FORMAT"], app.config["LOG_LEVEL"]
        )
    return app


def init_database(app: Flask, db: SQLAlchemy, migrations: Path) -> None:
    """The service's database: its session, dead connections recovered, its migrations.

    Flask-Migrate imports alembic, mako and pygments (11 MiB per process, issue 26) that only
    a migration uses, so it is registered when first used: `flask db ...` or
    flask_migrate.upgrade() in an app context; a gunicorn or Celery worker never imports it.
    """
    db.init_app(app)
    install_statement_count(app)
    app.extensions["migrate"] = MigrationsOnFirstUse(app, db, migrations)
    app.cli.add_command(MigrationCommands())


class MigrationsOnFirstUse:
    """app.extensions["migrate"] until something reads it, which registers Flask-Migrate's own
    (flask_migrate.Migrate) in its place and answers from that."""

    def __init__(self, app: Flask, db: SQLAlchemy, migrations: Path) -> None:
        self._app = app
        self._db = db
        self._migrations = migrations

    def __getattr__(self, name: str) -> Any:
        from flask_migrate import Migrate

        Migrate(self._app, self._db, directory=str(self._migrations))
        return getattr(self._app.extensions["migrate"], name)


class MigrationCommands(click.Group):
    """`flask db ...`: Flask-Migrate's command group, imported when a command is looked up. Its
    own options are the group's (flask_migrate.cli.db), which its commands read from `g`."""

    def __init__(self) -> None:
        super().__init__(
            "db",
            help="Perform database migrations.",
            params=[
                click.Option(("-d", "--directory"), default=None,
                             help='Migration script directory (default is "migrations")'),
                click.Option(("-x", "--x-arg"), multiple=True,
                             help="Additional arguments consumed by custom env.py scripts"),
            ],
            callback=with_appcontext(_remember_group_options),
        )  # fmt: skip

    def list_commands(self, ctx: click.Context) -> list[str]:
        return _flask_migrate_commands().list_commands(ctx)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        return _flask_migrate_commands().get_command(ctx, cmd_name)


def _remember_group_options(directory: str | None, x_arg: tuple[str, ...]) -> None:
    g.directory = directory
    g.x_arg = x_arg


def _flask_migrate_commands() -> click.Group:
    from flask_migrate.cli import db

    commands: click.Group = db
    return commands
