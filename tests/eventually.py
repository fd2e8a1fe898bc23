"""`eventually`: the one way a test waits for something that happens on its own time.

A worker delivers, a process starts, a row appears: the test polls what it can observe until
it holds, and fails saying what never happened (and what it last saw) once the wait is over.
The bound is generous on purpose: it only decides how long a broken build takes to fail, never
whether a correct one passes on a loaded machine.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

# How long an asynchronous outcome may take before a test reports what it saw instead.
OUTCOME_WAIT_SECONDS = 30.0
POLL_SECONDS = 0.05


def eventually(
    probe: Callable[[], T],
    what: str,
    *,
    timeout: float = OUTCOME_WAIT_SECONDS,
    tries: int | None = None,
    pause: float = POLL_SECONDS,
    ignoring: tuple[type[Exception], ...] = (),
    give_up: Callable[[], str | None] | None = None,
) -> T:
    """Call `probe` until it returns something truthy and return that.

    Fails (AssertionError) saying `what` did not happen once `timeout` seconds or `tries` calls
    are spent, or as soon as `give_up` names a reason to stop waiting (a process that exited,
    with its log). Exceptions of the `ignoring` types count as "not yet" (a port that refuses
    while a server boots).
    """
    deadline = time.monotonic() + timeout
    calls = 0
    while True:
        calls += 1
        try:
            value: object = probe()
        except ignoring as error:
            value = error
        else:
            if value:
                return value  # type: ignore[return-value]
        if give_up is not None and (reason := give_up()) is not None:
            raise AssertionError(f"{what} will not happen: {reason}")
        if time.monotonic() >= deadline or (tries is not None and calls >= tries):
            spent = f"{calls} tries" if tries is not None and calls >= tries else f"{timeout}s"
            raise AssertionError(f"{what} did not happen within {spent} (last: {value!r})")
        time.sleep(pause)
