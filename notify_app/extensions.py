"""Flask extensions of notify_app, created unbound and initialised in create_app()."""

from flask import Flask, current_app
from flask_jwt_extended import JWTManager
from sqlalchemy import Engine, create_engine

from service_kit.database import new_database

db = new_database()
jwt = JWTManager()

AUTOCOMMIT_ENGINE_EXTENSION = "notify_autocommit_engine"


def init_autocommit_engine(app: Flask) -> None:
    """A pool of its own whose connections stay in autocommit, for single statements that
    commit as they run (no BEGIN, no COMMIT): switching one of db.engine's connections there for
    a statement costs a round trip more, to switch it back at check-in. It connects on first use.
    """
    with app.app_context():
        url = db.engine.url
    app.extensions[AUTOCOMMIT_ENGINE_EXTENSION] = create_engine(
        url, isolation_level="AUTOCOMMIT", **app.config["SQLALCHEMY_ENGINE_OPTIONS"]
    )


def autocommit_engine() -> Engine:
    """The app's autocommit engine (init_autocommit_engine)."""
    engine: Engine = current_app.extensions[AUTOCOMMIT_ENGINE_EXTENSION]
    return engine
