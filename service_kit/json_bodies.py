"""JSON request bodies read strictly: whatever a client sends is a JSON value or a ValueError
(json.JSONDecodeError, which answers 400), never another exception.

Python's json module raises RecursionError on deeply nested input (5000 times `[`), which no
caller expects (the rate limiter's key function read the body and answered 500), and keeps the
last of two equal keys, so a proxy or a client library that keeps the first reads another
request than we do: both are invalid bodies here. Used by the resources' parser (webargs) and,
as the app's JSON provider, by request.get_json.
"""

from __future__ import annotations

import json
from typing import Any

from flask.json.provider import DefaultJSONProvider


def loads(data: str | bytes, **kwargs: Any) -> Any:
    try:
        # UTF-8 only (RFC 8259), where json.loads would also guess UTF-16 and UTF-32.
        text = data.decode("utf-8") if isinstance(data, bytes) else data
        return json.loads(text, object_pairs_hook=_unique_keys, **kwargs)
    except json.JSONDecodeError:
        raise
    # ValueError also covers invalid UTF-8 and integers too long to convert.
    except (ValueError, RecursionError) as error:
        document = data.decode("latin-1") if isinstance(data, bytes) else data
        raise json.JSONDecodeError(f"Invalid JSON: {error}", document, 0) from error


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    value = dict(pairs)
    if len(value) != len(pairs):
        raise ValueError("an object has the same key twice")
    return value


class StrictJsonProvider(DefaultJSONProvider):
    """Flask's JSON, reading with loads() above."""

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        return loads(s, **kwargs)
