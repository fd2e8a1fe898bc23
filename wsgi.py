"""WSGI entry points: `api`, `notify`, and `gateway`, which routes between them like nginx does.

The gateway is for running without nginx (`make run`, tests); compose puts nginx in front of the
two services instead, with the same rule: /api/notifications/... to notify, everything else to api.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache
from typing import TYPE_CHECKING

import api_app
import notify_app

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

NOTIFICATIONS_PREFIX = "/api/notifications"
APPLICATION_NAMES = frozenset({"api", "notify", "gateway"})


class Gateway:
    def __init__(self, api: WSGIApplication, notify: WSGIApplication) -> None:
        self.api = api
        self.notify = notify

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        path: str = environ.get("PATH_INFO", "")
        if path == NOTIFICATIONS_PREFIX or path.startswith(NOTIFICATIONS_PREFIX + "/"):
            return self.notify(environ, start_response)
        return self.api(environ, start_response)


@cache
def _applications() -> dict[str, WSGIApplication]:
    api = api_app.create_app()
    notify = notify_app.create_app()
    return {"api": api, "notify": notify, "gateway": Gateway(api, notify)}


def __getattr__(name: str) -> WSGIApplication:
    """`wsgi:api`, `wsgi:notify`, `wsgi:gateway`, built on first use, not at import time."""
    # Only these names build the apps: the import system probes others, such as __path__.
    if name not in APPLICATION_NAMES:
        raise AttributeError(name)
    return _applications()[name]
