"""notify_app: notification settings and deliveries; database budget_notifications."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask

import settings_catalog
from notify_app import models
from notify_app.auth import install_token_policy
from notify_app.config import load_config
from notify_app.deliveries.views import blp as deliveries_blp
from notify_app.edges import init_edges
from notify_app.errors import JsonErrorApi
from notify_app.extensions import db, jwt, migrate
from notify_app.health import blp as health_blp
from notify_app.linking.cli import telegram_cli
from notify_app.linking.views import blp as telegram_blp
from notify_app.logs import configure_logging
from notify_app.metrics import init_metrics
from notify_app.rate_limits import init_rate_limits
from notify_app.request_ids import init_request_ids
from notify_app.settings.views import blp as settings_blp
from notify_app.signing_keys import configure_verification_key

MIGRATIONS_DIR = Path(__file__).parent / "migrations"

__all__ = ["create_app", "models"]


def create_app(test_config: Mapping[str, Any] | None = None) -> Flask:
    app = Flask(__name__)
    app.config.update(load_config())
    if test_config is not None:
        app.config.update(test_config)
    if not app.testing:
        # Tests keep pytest's log capture; every real process logs one line per record.
        configure_logging(
            app.config["SERVICE_NAME"], app.config["LOG_FORMAT"], app.config["LOG_LEVEL"]
        )
    settings_catalog.require(settings_catalog.NOTIFY, os.environ)
    configure_verification_key(app)

    init_edges(app)
    db.init_app(app)
    migrate.init_app(app, db, directory=str(MIGRATIONS_DIR))
    jwt.init_app(app)
    # One Api per app: flask-smorest binds its OpenAPI spec to the app it was initialised with.
    api = JsonErrorApi(app)
    install_token_policy(jwt, api)
    init_rate_limits(app)
    api.register_blueprint(health_blp)
    api.register_blueprint(settings_blp)
    api.register_blueprint(deliveries_blp)
    api.register_blueprint(telegram_blp)
    app.cli.add_command(telegram_cli)
    init_request_ids(app)
    init_metrics(app)
    return app
