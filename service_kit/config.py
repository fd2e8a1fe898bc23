"""Helpers for the services' config.py: settings read from the environment the same way."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

DEFAULT_BROKER_URL = "redis://localhost:6379/0"


def database_url(environ: Mapping[str, str], explicit: str, database: str) -> str:
    """The variable `explicit` (API_DATABASE_URL, say), else the specification's rule built from
    DB_HOST and friends for the service's `database`."""
    url = environ.get(explicit)
    if url:
        return url
    host = environ.get("DB_HOST", "localhost")
    port = environ.get("DB_PORT", "5432")
    user = environ.get("DB_USER", "budget")
    password = environ.get("DB_PASSWORD", "budget")
    return f"postgresql://{user}:{password}@{host}:{port}/{database}"


def read_secret(environ: Mapping[str, str], name: str) -> str | None:
    """A key or secret given inline (NAME) or as a file (NAME_FILE), inline winning."""
    inline = environ.get(name)
    if inline:
        return inline
    path = environ.get(f"{name}_FILE")
    if path:
        return Path(path).read_text(encoding="utf-8")
    return None


def broker_url(environ: Mapping[str, str]) -> str:
    """BROKER_URL with the password of its user from BROKER_PASSWORD (or BROKER_PASSWORD_FILE,
    a secret file), so that no password has to sit in the environment."""
    url = environ.get("BROKER_URL") or DEFAULT_BROKER_URL
    password = (read_secret(environ, "BROKER_PASSWORD") or "").strip()
    if not password:
        return url
    parts = urlsplit(url)
    user = quote(parts.username or "", safe="")
    port = f":{parts.port}" if parts.port else ""
    netloc = f"{user}:{quote(password, safe='')}@{parts.hostname}{port}"
    return urlunsplit(parts._replace(netloc=netloc))
