"""How hard and how long `make bench` pushes, read from BENCH_* environment variables."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Final

REPO_ROOT: Final = Path(__file__).resolve().parent.parent
SCENARIO_NAMES: Final = (
    "write_path",
    "read_path",
    "lists",
    "balances",
    "auth",
    "notifications",
    "recovery",
    "memory",
)


@dataclass(frozen=True)
class BenchSettings:
    # Seconds of measured load per run (after the warm-up); the read path uses half per size.
    duration_seconds: float
    warmup_seconds: float
    # A comparison's two sides are measured in this many alternating rounds (ours, baseline,
    # ours, ...), sharing the duration, so a noisy neighbour's burst hits both alike.
    rounds: int
    # gunicorn workers of both the gateway and the bare Flask baseline.
    workers: int
    # Concurrent client connections of the closed-loop runs.
    connections: int
    # Transactions in the read path user's history, one user per size.
    history_sizes: tuple[int, ...]
    # Limit-crossing events of the notification throughput run.
    notification_events: int
    # Events per second of the light steady load that measures notification latency.
    notification_rate: float
    scenarios: tuple[str, ...]
    # py-spy profiles of the gateway and the worker under load, into instance/bench/profiles.
    profile: bool
    instance_dir: Path
    results_path: Path

    def as_json(self) -> dict[str, Any]:
        document = asdict(self)
        document["instance_dir"] = str(self.instance_dir)
        document["results_path"] = str(self.results_path)
        return document


def load_settings(environ: Mapping[str, str] = os.environ) -> BenchSettings:
    cores = os.cpu_count() or 1
    workers = _positive_int(environ, "BENCH_WORKERS", cores)
    scenarios = tuple(
        name.strip()
        for name in environ.get("BENCH_SCENARIOS", ",".join(SCENARIO_NAMES)).split(",")
        if name.strip()
    )
    unknown = sorted(set(scenarios) - set(SCENARIO_NAMES))
    if unknown:
        choices = ", ".join(SCENARIO_NAMES)
        raise SystemExit(f"BENCH_SCENARIOS: unknown {', '.join(unknown)}; choose from {choices}")
    return BenchSettings(
        duration_seconds=_positive_float(environ, "BENCH_DURATION_SECONDS", 10.0),
        warmup_seconds=_positive_float(environ, "BENCH_WARMUP_SECONDS", 2.0, allow_zero=True),
        rounds=_positive_int(environ, "BENCH_ROUNDS", 3),
        workers=workers,
        connections=_positive_int(environ, "BENCH_CONNECTIONS", 2 * workers),
        history_sizes=_sizes(environ.get("BENCH_SIZES", "1000,100000,1000000")),
        notification_events=_positive_int(environ, "BENCH_NOTIFICATION_EVENTS", 1000),
        notification_rate=_positive_float(environ, "BENCH_NOTIFICATION_RATE", 5.0),
        scenarios=scenarios,
        profile=environ.get("BENCH_PROFILE", "") not in ("", "0", "false", "no"),
        instance_dir=Path(environ.get("BENCH_INSTANCE_DIR") or REPO_ROOT / "instance" / "bench"),
        results_path=Path(environ.get("BENCH_RESULTS") or REPO_ROOT / "bench" / "results.json"),
    )


def _positive_int(environ: Mapping[str, str], name: str, default: int) -> int:
    raw = environ.get(name, "").strip()
    if not raw:
        return default
    if not raw.isdigit() or int(raw) < 1:
        raise SystemExit(f"{name} must be a positive integer, got {raw!r}")
    return int(raw)


def _positive_float(
    environ: Mapping[str, str], name: str, default: float, *, allow_zero: bool = False
) -> float:
    raw = environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise SystemExit(f"{name} must be a number of seconds, got {raw!r}") from None
    if value < 0 or (value == 0 and not allow_zero):
        raise SystemExit(f"{name} must be positive, got {raw!r}")
    return value


def _sizes(raw: str) -> tuple[int, ...]:
    parts = [part.strip().replace("_", "") for part in raw.split(",") if part.strip()]
    if not parts or not all(part.isdigit() and int(part) > 0 for part in parts):
        raise SystemExit(f"BENCH_SIZES must be positive integers separated by commas, got {raw!r}")
    return tuple(sorted({int(part) for part in parts}))
