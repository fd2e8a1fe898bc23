"""Liveness (the specification's GET /health) and readiness (GET /ready, which adds the broker)."""

from __future__ import annotations

import redis
from flask import current_app
from flask.views import MethodView
from flask_smorest import Blueprint, abort
from marshmallow import Schema, fields
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from api_app.connection_recovery import is_retryable
from api_app.extensions import db

blp = Blueprint("health", __name__, description="Service health")

PROBE_TIMEOUT_SECONDS = 2


class HealthSchema(Schema):
    status = fields.String(required=True, metadata={"example": "ok"})


def database_answers() -> bool:
    """A bounded real query: a wedged database answers 503 instead of hanging the probe. A
    pooled connection that died with a restarted server is replaced once (as every request's
    is, see api_app.connection_recovery) before the probe says the database is down."""
    for attempt in (1, 2):
        try:
            db.session.execute(
                text(f"SET LOCAL statement_timeout = {PROBE_TIMEOUT_SECONDS * 1000}")
            )
            db.session.execute(text("SELECT 1"))
        except DBAPIError as error:
            if attempt == 1 and is_retryable(error):
                continue
            return False
        except SQLAlchemyError:
            return False
        finally:
            db.session.rollback()
        return True
    return False


def broker_answers() -> bool:
    client = redis.Redis.from_url(
        current_app.config["BROKER_URL"],
        socket_connect_timeout=PROBE_TIMEOUT_SECONDS,
        socket_timeout=PROBE_TIMEOUT_SECONDS,
    )
    try:
        return bool(client.ping())
    except redis.RedisError:
        return False
    finally:
        client.close()


@blp.route("/health")
class Health(MethodView):
    @blp.response(200, HealthSchema)
    @blp.alt_response(503, description="The database is unreachable")
    def get(self) -> dict[str, str]:
        """Liveness: the service runs and its database answers."""
        if not database_answers():
            abort(503, message="database unavailable")
        return {"status": "ok"}


@blp.route("/ready")
class Ready(MethodView):
    @blp.response(200, HealthSchema)
    @blp.alt_response(503, description="The database or the broker is unreachable")
    def get(self) -> dict[str, str]:
        """Readiness: the database and the event broker both answer."""
        if not database_answers():
            abort(503, message="database unavailable")
        if not broker_answers():
            abort(503, message="broker unavailable")
        return {"status": "ok"}
