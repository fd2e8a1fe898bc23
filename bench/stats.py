"""Latency statistics: percentiles and the summary every load result is reduced to."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

MILLISECONDS_PER_SECOND = 1000.0


def percentile(values: Sequence[float], fraction: float) -> float:
    """The `fraction` quantile (0..1) by linear interpolation between closest ranks.

    The same definition as numpy's default, so figures can be checked with any tool.
    """
    if not values:
        raise ValueError("percentile of no values")
    if not 0.0 <= fraction <= 1.0:
        raise ValueError(f"fraction must be within 0..1, got {fraction}")
    ordered = sorted(values)
    position = (len(ordered) - 1) * fraction
    lower = math.floor(position)
    upper = math.ceil(position)
    weight = position - lower
    return ordered[lower] + (ordered[upper] - ordered[lower]) * weight


@dataclass(frozen=True)
class LatencySummary:
    """Latencies in milliseconds."""

    count: int
    p50_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float
    mean_ms: float

    def as_json(self) -> dict[str, Any]:
        return {key: _rounded(value) for key, value in asdict(self).items()}


def summarize_latencies(latencies_seconds: Sequence[float]) -> LatencySummary:
    if not latencies_seconds:
        raise ValueError("no latencies to summarize")
    milliseconds = sorted(value * MILLISECONDS_PER_SECOND for value in latencies_seconds)
    return LatencySummary(
        count=len(milliseconds),
        p50_ms=percentile(milliseconds, 0.50),
        p95_ms=percentile(milliseconds, 0.95),
        p99_ms=percentile(milliseconds, 0.99),
        max_ms=milliseconds[-1],
        mean_ms=sum(milliseconds) / len(milliseconds),
    )


def _rounded(value: float | int) -> float | int:
    return value if isinstance(value, int) else round(value, 3)
