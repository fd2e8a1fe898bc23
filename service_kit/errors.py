"""One JSON error shape for every error a service answers: {code, status, message, errors}.

The edge of the service: flask-smorest's HTTP errors, and the use cases' domain errors
(service_kit.domain_errors and a service's subclasses), which are given their status code and
request location here and nowhere else.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from flask import Flask, request
from flask_smorest import Api
from werkzeug.exceptions import (
    Conflict,
    Forbidden,
    HTTPException,
    NotFound,
    ServiceUnavailable,
    TooManyRequests,
    UnprocessableEntity,
)

from service_kit.database import TRANSIENT_DATABASE_ERRORS
from service_kit.domain_errors import (
    ConflictError,
    DomainError,
    FieldPath,
    ForbiddenError,
    InvalidError,
    NotFoundError,
    QuotaExceededError,
    UnavailableError,
)

logger = logging.getLogger(__name__)

HTTP_ERRORS: dict[type[DomainError], type[HTTPException]] = {
    NotFoundError: NotFound,
    ConflictError: Conflict,
    InvalidError: UnprocessableEntity,
    ForbiddenError: Forbidden,
    UnavailableError: ServiceUnavailable,
}


class JsonErrorApi(Api):  # type: ignore[misc]
    """flask-smorest's Api, with `message` and `errors` always present in error bodies.

    flask-smorest already turns every HTTPException (unknown routes, wrong methods, aborts, and
    unexpected exceptions wrapped as InternalServerError) into JSON; this fills the fields it
    leaves out so clients can rely on one shape. A 500 carries werkzeug's generic description:
    the traceback goes to the log only. An unreachable database answers 503, in the same shape.
    """

    def init_app(self, app: Flask, *args: Any, **kwargs: Any) -> None:
        super().init_app(app, *args, **kwargs)
        app.register_error_handler(DomainError, self.handle_domain_error)
        for error_class in TRANSIENT_DATABASE_ERRORS:
            app.register_error_handler(error_class, self.handle_database_unavailable)

    def handle_database_unavailable(
        self, error: Exception
    ) -> tuple[dict[str, Any], int, dict[str, str]]:
        logger.warning("database unavailable: %s", error)
        return self.handle_http_exception(
            ServiceUnavailable("The database is unavailable; try again shortly.")
        )

    def handle_http_exception(
        self, error: HTTPException
    ) -> tuple[dict[str, Any], int, dict[str, str]]:
        payload, status_code, headers = super().handle_http_exception(error)
        payload.setdefault("message", error.description)
        payload.setdefault("errors", {})
        # werkzeug's own headers matter to clients (Allow on a 405, as RFC 9110 requires); only
        # its HTML Content-Type must not replace the JSON one.
        headers = dict(headers or {})
        for name, value in error.get_headers():
            if name.lower() != "content-type":
                headers.setdefault(name, value)
        return payload, status_code, headers

    def handle_domain_error(self, error: DomainError) -> tuple[dict[str, Any], int, dict[str, str]]:
        http_error: HTTPException
        if isinstance(error, QuotaExceededError):
            # 429 with Retry-After, as the rate limits answer (service_kit.rate_limits).
            http_error = TooManyRequests(retry_after=error.retry_after_seconds)
        else:
            http_error = next(
                http for domain, http in HTTP_ERRORS.items() if isinstance(error, domain)
            )()
        # Where flask_smorest.abort keeps the message and errors for handle_http_exception.
        http_error.data = {  # type: ignore[attr-defined]
            "message": error.message,
            "errors": located(error.fields),
        }
        return self.handle_http_exception(http_error)


def located(fields: Mapping[FieldPath, str]) -> dict[str, Any]:
    """`{location: {field: [problem]}}`, webargs' shape: a field the client gave in the URL's
    path is reported under "path", one in its query string under "query", any other under
    "json" (the body)."""
    errors: dict[str, Any] = {}
    for path, problem in fields.items():
        field = str(path[0])
        if field in (request.view_args or {}):
            location = "path"
        elif field in request.args:
            location = "query"
        else:
            location = "json"
        node = errors.setdefault(location, {})
        for part in path[:-1]:
            node = node.setdefault(str(part), {})
        node.setdefault(str(path[-1]), []).append(problem)
    return errors
