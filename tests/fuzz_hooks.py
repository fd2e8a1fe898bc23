"""schemathesis hooks for the fuzz run (SCHEMATHESIS_HOOKS=tests.fuzz_hooks): every third request
that has a JSON body sends a hostile one instead, in turn: deep nesting, huge numbers, long
strings, invalid UTF-8 and duplicate keys (issue 22 item 2).

schemathesis itself only generates bodies that Python's json module can write, so none of these
would be sent otherwise. For such a request only one check matters, that the answer is no server
error: its other failures (a 400 the document does not list, say) are dropped.
"""

from __future__ import annotations

import itertools
from typing import Any

import schemathesis
from schemathesis.core.failures import Failure, ServerError

NESTING = 5000
HOSTILE_BODIES = (
    b"[" * NESTING,
    b'{"a":' * NESTING + b"1" + b"}" * NESTING,
    b'{"amount": 1e999999, "year": 1' + b"0" * 5000 + b', "month": -1e308, "name": 1e400}',
    b'{"name": "' + b"n" * 300_000 + b'", "description": "' + b"d" * 300_000 + b'"}',
    b'{"name": "\xff\xfe", "email": "\xc3\x28@example.com", "description": "\xed\xa0\x80"}',
    b'{"name": "a", "name": "b", "amount": "1.00", "amount": "2.00", "year": 2024, "year": 1}',
)
_turns = itertools.count()
_bodies = itertools.cycle(HOSTILE_BODIES)


@schemathesis.hook
def before_call(context: Any, case: Any, kwargs: dict[str, Any]) -> None:
    if case.media_type == "application/json" and next(_turns) % 3 == 0:
        kwargs["data"] = next(_bodies)


@schemathesis.hook
def filter_failure(context: Any, failure: Failure, case: Any, response: Any) -> bool:
    if response.request.body in HOSTILE_BODIES:
        return isinstance(failure, ServerError)
    return True
