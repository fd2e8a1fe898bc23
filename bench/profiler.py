"""Optional py-spy profiles of the system's processes while a scenario loads them (BENCH_PROFILE=1).

py-spy samples from outside, without touching the code, so the profiled process runs the same code
it runs unprofiled (--nonblocking: it is never paused). Profiles are written in py-spy's raw
format (collapsed stacks, one line per distinct stack with its sample count), which flamegraph
tools read and which `summarize_profile` reduces to the few functions where the time goes.
"""

from __future__ import annotations

import contextlib
import re
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Final

from bench.stack import BenchSystem

SAMPLES_PER_SECOND: Final = 100
STOP_TIMEOUT_SECONDS: Final = 30
TOP_FRAMES: Final = 15


def py_spy_binary() -> Path:
    return Path(sys.executable).parent / "py-spy"


@contextlib.contextmanager
def profiled(
    system: BenchSystem,
    process_name: str,
    label: str,
    output_dir: Path | None,
    say: Callable[[str], None],
) -> Iterator[Path | None]:
    """Profile `process_name` and its children for the block; yields the profile's path."""
    process = system.processes.get(process_name)
    if output_dir is None or process is None:
        yield None
        return
    if not py_spy_binary().exists():
        say("BENCH_PROFILE: py-spy is not installed (make install brings it); no profile")
        yield None
        return
    output_dir.mkdir(parents=True, exist_ok=True)
    profile_path = output_dir / f"{label}.{process_name.replace(' ', '-')}.txt"
    arguments = [
        str(py_spy_binary()), "record", "--pid", str(process.pid), "--subprocesses",
        "--nonblocking", "--rate", str(SAMPLES_PER_SECOND), "--format", "raw",
        "--output", str(profile_path),
    ]  # fmt: skip
    with (output_dir / "py-spy.log").open("ab") as log:
        recorder = subprocess.Popen(arguments, stdout=log, stderr=log)
    try:
        yield profile_path
    finally:
        # SIGINT makes py-spy stop sampling and write what it has.
        recorder.send_signal(signal.SIGINT)
        try:
            recorder.wait(STOP_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            recorder.kill()
            recorder.wait()
        say(f"profile of {process_name} during {label}: {profile_path}")


# py-spy names files relative to their sys.path entry: our code reads "api_app/...".
OWN_CODE: Final = re.compile(r"\((api_app|notify_app|worker)/|\((wsgi|event_contract)\.py")
_LINE_NUMBER: Final = re.compile(r":\d+\)$")


def _function(frame: str) -> str:
    """`name (api_app/x.py:123)` -> `name (api_app/x.py)`: one entry per function, not line."""
    return _LINE_NUMBER.sub(")", frame)


def summarize_profile(profile_path: Path, limit: int = TOP_FRAMES) -> dict[str, list[list[Any]]]:
    """Where the samples went, as shares of all samples.

    "self": the functions the samples caught running (a database driver waiting for its answer,
    a hash function). "own_code": our functions by the share of samples they were on the stack
    for, which tells which use case or helper the time belongs to.
    """
    on_stack: Counter[str] = Counter()
    running: Counter[str] = Counter()
    total = 0
    for line in profile_path.read_text(encoding="utf-8", errors="replace").splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not count_text.isdigit() or not stack:
            continue
        count = int(count_text)
        total += count
        frames = [_function(frame) for frame in stack.split(";")]
        running[frames[-1]] += count
        for frame in set(frames):
            if OWN_CODE.search(frame):
                on_stack[frame] += count
    if total == 0:
        return {"self": [], "own_code": []}
    return {
        kind: [[frame, round(count / total, 3)] for frame, count in _most_common(counter, limit)]
        for kind, counter in (("self", running), ("own_code", on_stack))
    }


def _most_common(counter: Counter[str], limit: int) -> list[tuple[str, int]]:
    # Ties in name order, so the same profile always reads the same.
    return sorted(counter.items(), key=lambda item: (-item[1], item[0]))[:limit]
