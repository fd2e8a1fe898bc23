"""`celery -A api_worker worker --relay`: the outbox relay as a thread of the api worker.

The small profile (`make run PROFILE=small`) runs it so, instead of as a process of its own
(`flask --app api_app outbox relay`, ~80 MiB). Nothing of the relay's guarantee depends on it
being apart: it claims its rows with FOR UPDATE SKIP LOCKED and marks them published in the same
transaction (api_app/events/outbox.py), so a relay thread that dies with its worker leaves them to
the next pass of whichever relay runs next, as a relay process that dies does. Its thread shares
the worker's api_app (engines and sessions are thread-safe; each pass opens its own session).
"""

from __future__ import annotations

import logging
import os
import signal
import threading
from collections.abc import Callable
from typing import Any, Final

from celery import bootsteps
from click import Option

from api_app.outbox_relay.loop import run_relay
from api_worker.app import celery_app

logger = logging.getLogger(__name__)
STOP_WAIT_SECONDS: Final = 30.0


def start_thread(name: str, run: Callable[[], object]) -> threading.Thread:
    """`run` in a daemon thread; if it fails, the worker is stopped (warm shutdown, SIGTERM), so
    that its supervisor sees it exit and restarts it, as it would a process of its own."""

    def guarded() -> None:
        try:
            run()
        except BaseException:
            logger.exception("%s failed; stopping the worker", name)
            os.kill(os.getpid(), signal.SIGTERM)

    thread = threading.Thread(target=guarded, name=name, daemon=True)
    thread.start()
    return thread


class OutboxRelayStep(bootsteps.StartStopStep):  # type: ignore[misc]  # Celery is untyped
    """Starts the relay's thread with the worker and stops it, after its batch, with the worker."""

    def __init__(self, parent: Any, relay: bool = False, **options: Any) -> None:
        super().__init__(parent, **options)
        self.enabled = relay
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self, parent: Any) -> None:
        from api_worker.tasks import api_application

        application = api_application()
        self._thread = start_thread(
            "outbox relay", lambda: run_relay(application, once=False, stop=self._stop)
        )
        logger.info("outbox relay started (a thread of the api worker)")

    def stop(self, parent: Any) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(STOP_WAIT_SECONDS)
            logger.info("outbox relay stopped")


celery_app.user_options["worker"].add(
    Option(("--relay",), is_flag=True, default=False, help="Run the outbox relay as a thread.")
)
celery_app.steps["worker"].add(OutboxRelayStep)
