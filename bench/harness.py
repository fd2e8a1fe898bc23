"""The benchmark run: start the system, run the scenarios, print and save the results.

Settings come from BENCH_* variables (bench/settings.py, bench/README.md); the servers are
embedded ones under instance/bench unless API_DATABASE_URL, NOTIFY_DATABASE_URL and BROKER_URL
are all set. Exit code 1 if a scenario failed or the system did not start; scenarios whose
endpoints do not exist yet are reported as "not available" and do not fail the run.
"""

from __future__ import annotations

import contextlib
import os
import platform
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from types import FrameType
from typing import Any

import psutil  # type: ignore[import-untyped, unused-ignore]

from bench.celery_round_trips import wait_for_worker
from bench.memory import MemorySampler
from bench.results import (
    ScenarioReport,
    Status,
    memory_table,
    results_document,
    results_table,
    write_results,
)
from bench.runner import SCENARIOS, run_scenario
from bench.scenarios.context import BenchContext
from bench.settings import REPO_ROOT, BenchSettings, load_settings
from bench.stack import STARTUP_TIMEOUT_SECONDS, BenchSetupError, BenchSystem, start_system
from devstack.run import PrefixedOutput

LABELS = ("devstack", "migrate", "bench")


def _stop_on_signal(signal_number: int, _frame: FrameType | None) -> None:
    # Unwinds like Ctrl-C does, so every process and server the run started is stopped.
    raise KeyboardInterrupt(signal.Signals(signal_number).name)


def machine_description() -> dict[str, Any]:
    cpu_model = platform.processor() or platform.machine()
    with contextlib.suppress(OSError):
        for line in open("/proc/cpuinfo", encoding="utf-8"):  # noqa: SIM115
            if line.startswith("model name"):
                cpu_model = line.split(":", 1)[1].strip()
                break
    return {
        "cpu": cpu_model,
        "cores": os.cpu_count(),
        "memory_gib": round(psutil.virtual_memory().total / 1024**3, 1),
        "platform": platform.platform(),
        "python": platform.python_version(),
    }


def git_revision() -> str:
    try:
        revision = subprocess.run(
            ["git", "describe", "--always", "--dirty"],
            cwd=REPO_ROOT, capture_output=True, text=True, check=True, timeout=10,
        ).stdout.strip()  # fmt: skip
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return revision


def run_description(
    settings: BenchSettings, system: BenchSystem | None, started: float, finished: float
) -> dict[str, Any]:
    return {
        "started_at": datetime.fromtimestamp(started, UTC).isoformat(timespec="seconds"),
        "seconds": round(finished - started, 1),
        "revision": git_revision(),
        "machine": machine_description(),
        "servers": system.backing_servers if system is not None else None,
        "settings": settings.as_json(),
    }


def main() -> int:
    settings = load_settings()
    output = PrefixedOutput(sys.stdout, LABELS)

    def say(text: str) -> None:
        output.write_line("bench", text)

    for handled in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(handled, _stop_on_signal)

    sampler = MemorySampler()
    started = time.time()
    reports: list[ScenarioReport] = []
    system: BenchSystem | None = None
    with contextlib.ExitStack() as stop_on_exit:
        try:
            system = start_system(settings, stop_on_exit, sampler, output)
            wait_for_worker(system.broker_url, STARTUP_TIMEOUT_SECONDS)
        except BenchSetupError as error:
            say(f"ERROR: {error}")
            return 1
        sampler.start()
        stop_on_exit.callback(sampler.stop)
        context = BenchContext(settings, system, sampler, say)
        for name in settings.scenarios:
            reports.append(run_scenario(SCENARIOS[name], context))
        memory = sampler.peaks()
    finished = time.time()

    document = results_document(
        run_description(settings, system, started, finished), reports, memory
    )
    write_results(settings.results_path, document)
    print()
    print(results_table(reports))
    print()
    print(memory_table(memory))
    print()
    for report in reports:
        if "table" in report.details:
            print(report.details["table"])
            print()
    seconds = finished - started
    say(f"{len(reports)} scenarios in {seconds:.0f}s; results in {settings.results_path}")
    return 1 if any(report.status is Status.FAILED for report in reports) else 0
