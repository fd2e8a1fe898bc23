"""flask-smorest as notify_app resources use it: JSON bodies required where a body is read, and
lists paginated by page or keyset cursor (notify_app.pagination)."""

from __future__ import annotations

from typing import Any, NoReturn

import flask
import flask_smorest
from webargs.flaskparser import FlaskParser, is_json_request

from notify_app import json_bodies
from notify_app.pagination import KeysetPagination


class JsonBodyParser(FlaskParser):
    def _raw_load_json(self, req: flask.Request) -> Any:
        if not is_json_request(req):
            # Otherwise a PATCH without a body would pass as an empty change.
            abort(415, message="the request needs a JSON body (Content-Type: application/json)")
        # Strictly (json_bodies): too deep, too long a number or a key given twice is a 400.
        return json_bodies.loads(req.get_data(cache=True))


class Blueprint(KeysetPagination, flask_smorest.Blueprint):  # type: ignore[misc]
    ARGUMENTS_PARSER = JsonBodyParser()


def abort(
    status: int,
    *,
    message: str,
    errors: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> NoReturn:
    """flask_smorest.abort, typed so that checkers know it never returns."""
    details: dict[str, Any] = {"errors": errors} if errors is not None else {}
    if headers is not None:
        details["headers"] = headers
    flask_smorest.abort(status, message=message, **details)
    raise AssertionError("flask_smorest.abort returned")
