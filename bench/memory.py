"""Peak resident memory of each process type, sampled with psutil while the benchmark runs."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Final

import psutil  # type: ignore[import-untyped, unused-ignore]

from bench.results import ProcessMemory

MEBIBYTE: Final = 1024 * 1024
DEFAULT_INTERVAL_SECONDS: Final = 0.25


@dataclass
class _Peak:
    process_rss: int = 0
    total_rss: int = 0
    processes: int = 0


class MemorySampler:
    """Samples the RSS of every tracked process and its descendants in a background thread.

    A process type ("gateway", "worker", "postgres", ...) is one or more root processes; each
    sample sums the RSS of the roots and all their descendants (gunicorn's and Celery's workers,
    PostgreSQL's backends) and keeps, per type, the peak of that sum and the largest single process.
    Shared pages count once per process, so "all together" overstates what they use jointly.
    """

    def __init__(self, interval_seconds: float = DEFAULT_INTERVAL_SECONDS) -> None:
        self._interval_seconds = interval_seconds
        self._roots: dict[int, str] = {}
        self._peaks: dict[str, _Peak] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def track(self, process_type: str, pid: int) -> None:
        with self._lock:
            self._roots[pid] = process_type
            self._peaks.setdefault(process_type, _Peak())

    def untrack(self, pid: int) -> None:
        with self._lock:
            self._roots.pop(pid, None)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="memory-sampler", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def sample(self) -> None:
        with self._lock:
            roots = dict(self._roots)
        per_type: dict[str, list[int]] = {}
        for pid, process_type in roots.items():
            per_type.setdefault(process_type, []).extend(_tree_rss(pid))
        with self._lock:
            for process_type, sizes in per_type.items():
                peak = self._peaks[process_type]
                peak.process_rss = max(peak.process_rss, max(sizes, default=0))
                peak.total_rss = max(peak.total_rss, sum(sizes))
                peak.processes = max(peak.processes, len(sizes))

    def peaks(self) -> list[ProcessMemory]:
        with self._lock:
            return [
                ProcessMemory(
                    process_type=process_type,
                    peak_process_rss_mib=peak.process_rss / MEBIBYTE,
                    peak_total_rss_mib=peak.total_rss / MEBIBYTE,
                    max_processes=peak.processes,
                )
                for process_type, peak in self._peaks.items()
                if peak.processes
            ]

    def _run(self) -> None:
        self.sample()
        while not self._stop.wait(self._interval_seconds):
            self.sample()


def _tree_rss(pid: int) -> Iterator[int]:
    try:
        root = psutil.Process(pid)
        tree = [root, *root.children(recursive=True)]
    except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
        return
    for process in tree:
        try:
            yield int(process.memory_info().rss)
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            continue
