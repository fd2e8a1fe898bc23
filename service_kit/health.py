"""Liveness (the specification's GET /health) and readiness (GET /ready, which adds the broker),
for a service under its URL prefix."""

from __future__ import annotations

from typing import Any

import redis
from flask import current_app
from flask.views import MethodView
from flask_smorest import Blueprint, abort
from marshmallow import Schema, fields
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from service_kit.connection_recovery import is_retryable
from service_kit.database import session

PROBE_TIMEOUT_SECONDS = 2


def health_blueprint(*, url_prefix: str = "", service: str | None = None) -> Blueprint:
    """GET {url_prefix}/health and {url_prefix}/ready; their answers name `service` if given."""
    blp = Blueprint("health", __name__, url_prefix=url_prefix, description="Service health")

    answer: dict[str, fields.Field[Any]] = {
        "status": fields.String(required=True, metadata={"example": "ok"})
    }
    healthy = {"status": "ok"}
    if service is not None:
        answer["service"] = fields.String(required=True, metadata={"example": service})
        healthy["service"] = service
    HealthSchema = Schema.from_dict(answer, name="HealthSchema")  # noqa: N806 - a class

    @blp.route("/health")
    class Health(MethodView):
        @blp.response(200, HealthSchema)
        @blp.alt_response(503, description="The database is unreachable")
        def get(self) -> dict[str, str]:
            """Liveness: the service runs and its database answers."""
            if not database_answers():
                abort(503, message="database unavailable")
            return healthy

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
            return healthy

    return blp


def database_answers() -> bool:
    """A bounded real query: a wedged database answers 503 instead of hanging the probe. A
    pooled connection that died with a restarted server is replaced once (as every request's
    is, see service_kit.connection_recovery) before the probe says the database is down."""
    for attempt in (1, 2):
        try:
            session().execute(text(f"SET LOCAL statement_timeout = {PROBE_TIMEOUT_SECONDS * 1000}"))
            session().execute(text("SELECT 1"))
        except DBAPIError as error:
            if attempt == 1 and is_retryable(error):
                continue
            return False
        except SQLAlchemyError:
            return False
        finally:
            session().rollback()
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
