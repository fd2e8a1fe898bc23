"""WSGI entry points: `api`, `notify`, and `gateway`, which routes between them like nginx does.

The gateway is for running without nginx (`make run`, tests, the image's default command);
compose puts nginx in front of the two services instead, with the same rule:
/api/notifications/... to notify, everything else to api, and the metrics to nobody.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from functools import cache
from typing import TYPE_CHECKING

from werkzeug.wrappers import Response

import api_app
import notify_app
import settings_catalog

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

NOTIFICATIONS_PREFIX = "/api/notifications"
APPLICATION_NAMES = frozenset({"api", "notify", "gateway"})
# For Prometheus, which scrapes `wsgi:api` and `wsgi:notify` processes from inside; the gateway
# faces the public, so, like nginx, it answers these with 404.
INTERNAL_PATHS = frozenset({"/metrics", f"{NOTIFICATIONS_PREFIX}/metrics"})


class Gateway:
    def __init__(self, api: WSGIApplication, notify: WSGIApplication) -> None:
        self.api = api
        self.notify = notify

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        path: str = environ.get("PATH_INFO", "")
        if path.rstrip("/") in INTERNAL_PATHS:
            return _not_found(environ, start_response)
        if path == NOTIFICATIONS_PREFIX or path.startswith(NOTIFICATIONS_PREFIX + "/"):
            return self.notify(environ, start_response)
        return self.api(environ, start_response)


def _not_found(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
    response = Response(
        '{"code": 404, "status": "Not Found", "message": "resource not found"}\n',
        status=404,
        content_type="application/json",
        headers={"X-Content-Type-Options": "nosniff"},
    )
    return response(environ, start_response)


@cache
def _application(name: str) -> WSGIApplication:
    """Only what was asked for: `wsgi:notify` runs where api_app's settings (its database, the
    private key) are not, and must not need them."""
    if name == "api":
        # Where api_app serves requests it signs tokens: only here is its private key required.
        settings_catalog.require(settings_catalog.API_WEB, os.environ)
        return api_app.create_app()
    if name == "notify":
        return notify_app.create_app()
    return Gateway(_application("api"), _application("notify"))


def __getattr__(name: str) -> WSGIApplication:
    """`wsgi:api`, `wsgi:notify`, `wsgi:gateway`, built on first use, not at import time."""
    # Only these names build the apps: the import system probes others, such as __path__.
    if name not in APPLICATION_NAMES:
        raise AttributeError(name)
    return _application(name)
