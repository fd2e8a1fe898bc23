"""A request id per HTTP request: the caller's X-Request-ID when it is sane, else a new one."""

from __future__ import annotations

import re
import uuid
from contextvars import ContextVar

from flask import Flask, Response, g, has_request_context, request

REQUEST_ID_HEADER = "X-Request-ID"
# Ids are echoed into logs and events: accept only short, plain tokens from clients.
ACCEPTABLE_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")

# Outside a request (the relay, CLI commands) code may set the id for what it is doing.
request_id_context: ContextVar[str | None] = ContextVar("request_id", default=None)


def current_request_id() -> str | None:
    if has_request_context():
        request_id: str | None = g.get("request_id")
        return request_id
    return request_id_context.get()


def current_user_id() -> str | None:
    """The authenticated user of this request, once flask-jwt-extended has verified a token."""
    if has_request_context():
        claims = g.get("_jwt_extended_jwt")
        if isinstance(claims, dict):
            subject = claims.get("sub")
            return str(subject) if subject is not None else None
    return None


def init_request_ids(app: Flask) -> None:
    @app.before_request
    def assign_request_id() -> None:
        presented = request.headers.get(REQUEST_ID_HEADER, "")
        acceptable = ACCEPTABLE_REQUEST_ID.fullmatch(presented)
        g.request_id = presented if acceptable else uuid.uuid4().hex

    @app.after_request
    def echo_request_id(response: Response) -> Response:
        response.headers[REQUEST_ID_HEADER] = g.get("request_id") or uuid.uuid4().hex
        return response
