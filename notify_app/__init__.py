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
from notify_app.config import CURSOR_SECRET_FILENAME, CURSOR_SECRET_SETTING, load_config
from notify_app.deliveries.views import blp as deliveries_blp
from notify_app.extensions import db, init_autocommit_engine, jwt
from notify_app.ledgers.views import blp as ledger_groups_blp
from notify_app.linking.cli import telegram_cli
from notify_app.linking.views import blp as telegram_blp
from notify_app.rate_limits import init_rate_limits
from notify_app.settings.views import blp as settings_blp
from service_kit.app import init_database, new_app
from service_kit.edges import init_edges
from service_kit.errors import JsonErrorApi
from service_kit.health import health_blueprint
from service_kit.metrics import init_metrics
from service_kit.request_ids import init_request_ids
from service_kit.signing_keys import configure_cursor_secret, configure_verification_key

MIGRATIONS_DIR = Path(__file__).parent / "migrations"

__all__ = ["create_app", "models"]


def create_app(test_config: Mapping[str, Any] | None = None) -> Flask:
    app = new_app(__name__, load_config(), test_config)
    settings_catalog.require(settings_catalog.NOTIFY, os.environ)
    configure_verification_key(app)
    configure_cursor_secret(app, setting=CURSOR_SECRET_SETTING, filename=CURSOR_SECRET_FILENAME)

    init_edges(app)
    init_database(app, db, MIGRATIONS_DIR)
    init_autocommit_engine(app)
    jwt.init_app(app)
    # One Api per app: flask-smorest binds its OpenAPI spec to the app it was initialised with.
    api = JsonErrorApi(app)
    install_token_policy(jwt, api)
    init_rate_limits(app)
    api.register_blueprint(
        health_blueprint(url_prefix="/api/notifications", service="notifications")
    )
    api.register_blueprint(settings_blp)
    api.register_blueprint(deliveries_blp)
    api.register_blueprint(telegram_blp)
    api.register_blueprint(ledger_groups_blp)
    app.cli.add_command(telegram_cli)
    init_request_ids(app)
    # Under the service prefix, so the gateway routes scrapes here rather than to the api.
    init_metrics(app, path="/api/notifications/metrics", prefix="notify")
    return app
