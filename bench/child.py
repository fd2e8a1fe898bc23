"""Run one function in a fresh process (the load generators), bounded in time.

Load is generated from a process of its own so that the harness's own threads (the memory
sampler) never share an interpreter lock with it, and so its memory is measured apart.
"""

from __future__ import annotations

import multiprocessing
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Final, TypeVar

from bench.memory import MemorySampler

Argument = TypeVar("Argument")
Result = TypeVar("Result")

JOIN_SECONDS: Final = 5.0


@dataclass(frozen=True)
class _ChildFailure:
    traceback: str


class ChildProcessError(RuntimeError):
    pass


def _child_main(
    target: Callable[[Argument], Result], argument: Argument, results: Connection
) -> None:
    try:
        outcome: object = target(argument)
    except BaseException:
        outcome = _ChildFailure(traceback.format_exc())
    results.send(outcome)
    results.close()


def run_in_child_process(
    target: Callable[[Argument], Result],
    argument: Argument,
    *,
    timeout_seconds: float,
    sampler: MemorySampler,
    process_type: str,
) -> Result:
    """`target(argument)` in a spawned process; its result, or an error with its traceback."""
    # spawn, not fork: the harness has threads, and a forked copy of them would be unsafe.
    context = multiprocessing.get_context("spawn")
    receiver, sender = context.Pipe(duplex=False)
    process = context.Process(target=_child_main, args=(target, argument, sender), daemon=True)
    process.start()
    sender.close()
    assert process.pid is not None
    sampler.track(process_type, process.pid)
    try:
        if not receiver.poll(timeout_seconds):
            raise ChildProcessError(f"{target.__name__} did not finish within {timeout_seconds}s")
        outcome = receiver.recv()
    except EOFError:
        raise ChildProcessError(
            f"{target.__name__} died without a result (exit code {process.exitcode})"
        ) from None
    finally:
        sampler.untrack(process.pid)
        process.join(JOIN_SECONDS)
        if process.is_alive():
            process.kill()
            process.join()
        receiver.close()
    if isinstance(outcome, _ChildFailure):
        raise ChildProcessError(f"{target.__name__} failed:\n{outcome.traceback}")
    result: Result = outcome
    return result
