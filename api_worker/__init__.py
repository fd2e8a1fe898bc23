"""The api's Celery worker for its periodic jobs: `celery -A api_worker worker -Q api_jobs`.

It runs api_app code against budget_api only; notifications are the other worker's (worker/).
"""

import api_worker.embedded_beat  # adds `--beat-thread` (beat as a thread)
import api_worker.embedded_relay  # noqa: F401 - adds `--relay` (the outbox relay as a thread)
from api_worker.app import celery_app

# `celery -A api_worker` looks for an attribute named `app` or `celery`.
app = celery_app

__all__ = ["app", "celery_app"]
