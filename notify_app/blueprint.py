"""flask-smorest as notify_app resources use it: JSON bodies required where a body is read, and
the pagination header documented as the JSON it is."""

from __future__ import annotations

from typing import Any, NoReturn

import flask
import flask_smorest
from flask_smorest.pagination import PaginationMetadataSchema
from webargs.flaskparser import FlaskParser, is_json_request


class JsonBodyParser(FlaskParser):
    def _raw_load_json(self, req: flask.Request) -> Any:
        if not is_json_request(req):
            # Otherwise a PATCH without a body would pass as an empty change.
            abort(415, message="the request needs a JSON body (Content-Type: application/json)")
        return super()._raw_load_json(req)


class Blueprint(flask_smorest.Blueprint):  # type: ignore[misc]
    ARGUMENTS_PARSER = JsonBodyParser()

    def _document_pagination_metadata(self, spec: Any, resp_doc: dict[str, Any]) -> None:
        # The header carries JSON; flask-smorest documents it as a bare object schema, which
        # OpenAPI reads as the "simple" style (k1,v1,k2,v2), so clients would misparse it.
        resp_doc.setdefault("headers", {})[self.PAGINATION_HEADER_NAME] = {
            "description": "Pagination metadata, as JSON",
            "content": {"application/json": {"schema": PaginationMetadataSchema}},
        }


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
