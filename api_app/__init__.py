"""api_app: users, categories, monthly budgets, transactions and goals; database budget_api."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

import settings_catalog
from api_app import events, models
from api_app.auth import init_auth
from api_app.budgets.cli import budgets_cli
from api_app.budgets.views import blp as budgets_blp
from api_app.categories.views import blp as categories_blp
from api_app.config import load_config
from api_app.extensions import db, jwt
from api_app.goals.views import blp as goals_blp
from api_app.ledgers.views import blp as ledgers_blp
from api_app.metrics import init_metrics
from api_app.outbox_relay import outbox_cli
from api_app.recurring.cli import recurring_cli
from api_app.recurring.views import blp as recurring_blp
from api_app.reports.views import blp as reports_blp
from api_app.splits.views import blp as splits_blp
from api_app.transactions.views import blp as transactions_blp
from api_app.users.views import blp as users_blp
from service_kit.app import init_database, new_app
from service_kit.edges import init_edges
from service_kit.errors import JsonErrorApi
from service_kit.health import health_blueprint
from service_kit.request_ids import init_request_ids
from service_kit.signing_keys import configure_token_keys

MIGRATIONS_DIR = Path(__file__).parent / "migrations"

__all__ = ["create_app", "models"]


def create_app(test_config: Mapping[str, Any] | None = None) -> Flask:
    app = new_app(__name__, load_config(), test_config)
    settings_catalog.require(settings_catalog.API, os.environ)
    # The private key only where tokens are signed (the web process, wsgi.py requires it there).
    configure_token_keys(app)
    if app.config.get("JWT_PRIVATE_KEY"):
        # List cursors are keyed with the token signing key: a secret api_app alone holds.
        app.config.setdefault("CURSOR_SECRET", app.config["JWT_PRIVATE_KEY"])
    proxy_hops = app.config["TRUSTED_PROXY_COUNT"]
    if proxy_hops:
        # Client addresses (rate limits) come from X-Forwarded-For, trusting only our proxies.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxy_hops)  # type: ignore[method-assign]

    init_edges(app)
    init_database(app, db, MIGRATIONS_DIR)
    jwt.init_app(app)
    events.init_app(app)
    # One Api per app: flask-smorest binds its OpenAPI spec to the app it was initialised with.
    api = JsonErrorApi(app)

    init_auth(app, api)
    api.register_blueprint(health_blueprint())
    api.register_blueprint(users_blp)
    api.register_blueprint(ledgers_blp)
    api.register_blueprint(splits_blp)
    api.register_blueprint(categories_blp)
    api.register_blueprint(budgets_blp)
    api.register_blueprint(transactions_blp)
    api.register_blueprint(goals_blp)
    api.register_blueprint(recurring_blp)
    api.register_blueprint(reports_blp)
    app.cli.add_command(budgets_cli)
    app.cli.add_command(recurring_cli)
    app.cli.add_command(outbox_cli)
    init_request_ids(app)
    init_metrics(app)
    return app
