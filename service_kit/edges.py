"""What every response and request of the service gets at the edge: a body size limit (413 in
the JSON error shape), `X-Content-Type-Options: nosniff`, and Swagger UI's assets served by the
service itself at a pinned version (the swagger-ui-bundle package) instead of a CDN; and
`Cache-Control: no-store` for the blueprints that ask for it."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import wraps
from typing import Any, TypeVar

from flask import Flask, Response, request, send_from_directory
from swagger_ui_bundle import swagger_ui_path

from service_kit.json_bodies import StrictJsonProvider

View = TypeVar("View", bound=Callable[..., Any])


def init_edges(app: Flask) -> None:
    # Werkzeug answers a larger body with 413, which the Api turns into the JSON error shape.
    app.config["MAX_CONTENT_LENGTH"] = app.config["MAX_REQUEST_BODY_BYTES"]
    # request.get_json refuses what the resources' parser refuses (json_bodies).
    app.json = StrictJsonProvider(app)
    # Next to the service's own Swagger UI page: /api/docs/assets/, /api/notifications/docs/...
    assets = _assets_url(app.config)
    app.config.setdefault("OPENAPI_SWAGGER_UI_URL", assets)
    app.add_url_rule(f"{assets}<path:filename>", "swagger_ui_assets", _swagger_ui_asset)
    app.after_request(_nosniff)


def _assets_url(config: Mapping[str, Any]) -> str:
    return f"{config['OPENAPI_URL_PREFIX']}/{config['OPENAPI_SWAGGER_UI_PATH']}/assets/"


def body_limit(max_bytes: int) -> Callable[[View], View]:
    """A route's own body limit instead of MAX_REQUEST_BODY_BYTES (an upload, say). Use it as
    the outermost decorator, so it is in force before anything reads the body."""

    def decorate(view: View) -> View:
        @wraps(view)
        def limited(*args: Any, **kwargs: Any) -> Any:
            request.max_content_length = max_bytes
            return view(*args, **kwargs)

        # Read by the gateway's check (tests/test_compose.py): nginx must allow the same.
        limited.max_body_bytes = max_bytes  # type: ignore[attr-defined]
        return limited  # type: ignore[return-value]

    return decorate


def no_store(response: Response) -> Response:
    """Kept by no browser or cache: `blp.after_request(no_store)` on a blueprint whose answers
    carry secrets (tokens, account data, one-time codes)."""
    response.headers["Cache-Control"] = "no-store"
    return response


def _swagger_ui_asset(filename: str) -> Response:
    return send_from_directory(swagger_ui_path, filename, max_age=86400)


def _nosniff(response: Response) -> Response:
    # Browsers must take the declared Content-Type as it is, never guess a script or HTML.
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
