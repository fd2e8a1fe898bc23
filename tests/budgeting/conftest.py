"""Two signed-in users of the budgeting API over an emptied database, and a live server."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator

import pytest
from flask import Flask
from werkzeug.serving import make_server

from tests.users import SignedInUser
from wsgi import Gateway


@pytest.fixture
def alice(make_user: Callable[[], SignedInUser]) -> SignedInUser:
    return make_user()


@pytest.fixture
def bob(make_user: Callable[[], SignedInUser]) -> SignedInUser:
    return make_user()


@pytest.fixture
def live_gateway(api: Flask, notify: Flask) -> Iterator[str]:
    """Both services behind the gateway on a real, multi-threaded HTTP server: its base URL."""
    server = make_server("127.0.0.1", 0, Gateway(api, notify), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join()
