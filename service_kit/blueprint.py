"""flask-smorest as both services' resources use it: a Blueprint that reads JSON bodies strictly
and numbers exactly, pages lists (service_kit.pagination) and documents its operations for
client generators, and a typed abort."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, NoReturn

import flask
import flask_smorest
from marshmallow import Schema
from webargs import core
from webargs.flaskparser import FlaskParser, is_json_request
from werkzeug.datastructures import CombinedMultiDict

from service_kit import json_bodies
from service_kit.pagination import KeysetPagination


def _reject_constant(name: str) -> NoReturn:
    # NaN and Infinity are not JSON, whatever Python's json module tolerates.
    raise ValueError(f"{name} is not valid JSON")


class ExactJsonParser(FlaskParser):
    """webargs' parser, with JSON numbers that have a fraction or exponent read as Decimal, and
    a `multipart` location: a multipart/form-data body's fields and files in one schema.

    The stock parser hands marshmallow floats, and 0.1 as a float is not 0.1: money must never
    pass through one. A body that is not JSON at all answers 415. Input that Python's json module
    chokes on in other ways (too deep, integers too long to convert, a key given twice) is an
    invalid body (400), never an unexpected error (json_bodies).
    """

    __location_map__ = {**FlaskParser.__location_map__, "multipart": "load_multipart"}  # noqa: RUF012

    def load_multipart(self, req: flask.Request, schema: Schema) -> Any:
        return self._makeproxy(CombinedMultiDict([req.form, req.files]), schema)

    def _raw_load_json(self, req: flask.Request) -> Any:
        if not is_json_request(req):
            # Otherwise a PATCH without a body would pass as an empty change.
            abort(415, message="the request needs a JSON body (Content-Type: application/json)")
        body = req.get_data(cache=True)
        return json_bodies.loads(body, parse_float=Decimal, parse_constant=_reject_constant)


class StrictJsonParser(FlaskParser):
    """webargs' stock parser (a body that is not JSON is read as missing), reading JSON with
    json_bodies.loads: a body too deep or with a key given twice is a 400, never a 500."""

    def _raw_load_json(self, req: flask.Request) -> Any:
        if not is_json_request(req):
            return core.missing
        return json_bodies.loads(req.get_data(cache=True))


class AccountBlueprint(flask_smorest.Blueprint):  # type: ignore[misc]
    """flask-smorest's Blueprint for the account routes (sign-up, sign-in, the user), with
    JSON read strictly."""

    ARGUMENTS_PARSER = StrictJsonParser()


class Blueprint(KeysetPagination, flask_smorest.Blueprint):  # type: ignore[misc]
    ARGUMENTS_PARSER = ExactJsonParser()
    DEFAULT_LOCATION_CONTENT_TYPE_MAPPING = {  # noqa: RUF012 - flask-smorest's own declaration
        **flask_smorest.Blueprint.DEFAULT_LOCATION_CONTENT_TYPE_MAPPING,
        "multipart": "multipart/form-data",
    }

    def _store_endpoint_docs(self, endpoint: str, obj: Any, *args: Any, **options: Any) -> None:
        """Name every operation, e.g. `patchCategoryById`, so generated clients get method names
        from the document rather than inventing them from paths."""
        super()._store_endpoint_docs(endpoint, obj, *args, **options)
        for method, doc in self._docs[endpoint].items():
            if method != "parameters":
                doc.setdefault("manual_doc", {}).setdefault("operationId", f"{method}{endpoint}")


def abort(
    status: int,
    *,
    message: str,
    errors: dict[str, Any] | list[Any] | None = None,
    headers: dict[str, str] | None = None,
) -> NoReturn:
    """flask_smorest.abort, typed so that checkers know it never returns."""
    details: dict[str, Any] = {"errors": errors} if errors is not None else {}
    if headers is not None:
        details["headers"] = headers
    flask_smorest.abort(status, message=message, **details)
    raise AssertionError("flask_smorest.abort returned")
