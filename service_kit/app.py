"""The start of both services' create_app(): the Flask app with its config, and its database."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask
from flask_migrate import Migrate
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


def init_database(app: Flask, db: SQLAlchemy, migrate: Migrate, migrations: Path) -> None:
    """The service's database: its session, dead connections recovered, its migrations."""
    db.init_app(app)
    install_statement_count(app)
    migrate.init_app(app, db, directory=str(migrations))
