"""Infrastructure both services need and neither owns: logs, request ids, the edge's headers and
body limit, keyset pagination, health probes, access checks, the JSON error shape, the Celery
base configuration, the Alembic environment and configuration helpers.

Each service passes in what differs (its name, its secrets, its config values); the kit imports
neither service and holds no model, table or use case: nothing of either domain
(import-linter and tests/test_architecture.py hold it to that).
"""
