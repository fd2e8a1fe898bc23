"""The Celery worker of the notifications service: `celery -A worker worker -Q notifications`."""

import worker.observability  # noqa: F401 - connects the logging and metrics signal handlers
from worker.app import celery_app

# `celery -A worker` looks for an attribute named `app` or `celery`.
app = celery_app

__all__ = ["app", "celery_app"]
