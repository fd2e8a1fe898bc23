"""Alembic runs this file; the environment itself is the kit's, the same for both services."""

from service_kit.migrations_env import run_migrations

run_migrations()
