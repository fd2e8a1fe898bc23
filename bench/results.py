"""What a run found: comparisons with their ratios, scenario reports, the table and results.json.

Every ratio is oriented so that higher is better: ours / baseline for throughput, baseline / ours
for latency. A ratio of 1.0 means "as good as the bare baseline".
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any, Final

RESULTS_SCHEMA_VERSION: Final = 1


class Better(StrEnum):
    """Which direction of a measurement is an improvement; fixes the ratio's orientation."""

    HIGHER = "higher"  # throughput: ratio = ours / baseline
    LOWER = "lower"  # latency: ratio = baseline / ours


@dataclass(frozen=True)
class Goal:
    """A target a comparison is held to: a minimum ratio, a maximum for our figure, or both."""

    ratio_at_least: float | None = None
    ours_at_most: float | None = None

    def met(self, comparison: Comparison) -> bool:
        ratio = comparison.ratio
        if self.ratio_at_least is not None and (ratio is None or ratio < self.ratio_at_least):
            return False
        return self.ours_at_most is None or comparison.ours <= self.ours_at_most

    def describe(self, unit: str) -> str:
        parts = []
        if self.ratio_at_least is not None:
            parts.append(f"ratio ≥ {self.ratio_at_least:g}")
        if self.ours_at_most is not None:
            parts.append(f"< {self.ours_at_most:g} {unit}")
        return ", ".join(parts)

    def as_json(self) -> dict[str, float]:
        described = {"ratio_at_least": self.ratio_at_least, "ours_at_most": self.ours_at_most}
        return {key: value for key, value in described.items() if value is not None}


@dataclass(frozen=True)
class Comparison:
    """Our measurement next to its baseline's, taken in the same run on the same servers."""

    measure: str
    unit: str
    ours: float
    baseline: float
    better: Better
    baseline_name: str
    goal: Goal | None = None

    @property
    def ratio(self) -> float | None:
        """Higher is better, whatever the unit; None when the denominator is zero."""
        if self.better is Better.HIGHER:
            numerator, denominator = self.ours, self.baseline
        else:
            numerator, denominator = self.baseline, self.ours
        if denominator == 0:
            return None
        return numerator / denominator

    @property
    def goal_met(self) -> bool | None:
        return None if self.goal is None else self.goal.met(self)

    def as_json(self) -> dict[str, Any]:
        ratio = self.ratio
        document: dict[str, Any] = {
            "unit": self.unit,
            "ours": round(self.ours, 3),
            "baseline": round(self.baseline, 3),
            "baseline_is": self.baseline_name,
            "ratio": None if ratio is None else round(ratio, 3),
            "ratio_is": "ours / baseline" if self.better is Better.HIGHER else "baseline / ours",
        }
        if self.goal is not None:
            document["goal"] = {**self.goal.as_json(), "met": self.goal_met}
        return document


@dataclass(frozen=True)
class Figure:
    """A measurement without a baseline of its own (e.g. the argon2id cost of one login)."""

    measure: str
    value: float
    unit: str


class Status(StrEnum):
    OK = "ok"
    NOT_AVAILABLE = "not available"
    FAILED = "failed"


@dataclass
class ScenarioReport:
    name: str
    title: str
    status: Status = Status.OK
    reason: str | None = None
    comparisons: dict[str, Comparison] = field(default_factory=dict)
    figures: list[Figure] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        document: dict[str, Any] = {"title": self.title, "status": self.status.value}
        if self.reason is not None:
            document["reason"] = self.reason
        document["comparisons"] = {
            key: comparison.as_json() for key, comparison in self.comparisons.items()
        }
        document["figures"] = {
            figure.measure: {"value": round(figure.value, 3), "unit": figure.unit}
            for figure in self.figures
        }
        document["details"] = self.details
        return document


@dataclass(frozen=True)
class ProcessMemory:
    """Peak resident memory of one process type over the whole run."""

    process_type: str
    peak_process_rss_mib: float
    peak_total_rss_mib: float
    max_processes: int

    def as_json(self) -> dict[str, Any]:
        return {
            "peak_process_rss_mib": round(self.peak_process_rss_mib, 1),
            "peak_total_rss_mib": round(self.peak_total_rss_mib, 1),
            "max_processes": self.max_processes,
        }


def results_document(
    run: Mapping[str, Any], scenarios: Sequence[ScenarioReport], memory: Iterable[ProcessMemory]
) -> dict[str, Any]:
    return {
        "schema_version": RESULTS_SCHEMA_VERSION,
        "run": dict(run),
        "scenarios": {scenario.name: scenario.as_json() for scenario in scenarios},
        "memory": {entry.process_type: entry.as_json() for entry in memory},
    }


def write_results(path: Path, document: Mapping[str, Any]) -> None:
    # Written whole to a temporary name and renamed: a reader never sees half a run.
    partial = path.with_suffix(".json.partial")
    partial.write_text(json.dumps(document, indent=2, sort_keys=False) + "\n", encoding="utf-8")
    partial.replace(path)


# --------------------------------------------------------------------------- #
# The table (Markdown, so the same text goes to the terminal and the README)
# --------------------------------------------------------------------------- #


def _number(value: float) -> str:
    if value >= 100:
        return f"{value:,.0f}"
    if value >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def _goal_cell(comparison: Comparison) -> str:
    if comparison.goal is None:
        return ""
    mark = "met" if comparison.goal_met else "**missed**"
    return f"{comparison.goal.describe(comparison.unit)}: {mark}"


def results_table(scenarios: Sequence[ScenarioReport]) -> str:
    lines = [
        "| Scenario | Measure | Ours | Baseline | Ratio | Goal |",
        "| --- | --- | ---: | ---: | ---: | --- |",
    ]
    for scenario in scenarios:
        if scenario.status is not Status.OK:
            outcome = f"{scenario.status.value}: {scenario.reason}"
            lines.append(f"| {scenario.title} | {outcome} | | | | |")
            continue
        for comparison in scenario.comparisons.values():
            ratio = comparison.ratio
            lines.append(
                f"| {scenario.title} | {comparison.measure}"
                f" | {_number(comparison.ours)} {comparison.unit}"
                f" | {_number(comparison.baseline)} {comparison.unit} ({comparison.baseline_name})"
                f" | {'n/a' if ratio is None else f'{ratio:.2f}'}"
                f" | {_goal_cell(comparison)} |"
            )
        for figure in scenario.figures:
            lines.append(
                f"| {scenario.title} | {figure.measure} | {_number(figure.value)} {figure.unit}"
                " | | | |"
            )
    return "\n".join(lines)


def memory_table(memory: Sequence[ProcessMemory]) -> str:
    lines = [
        "| Process type | Processes | Peak RSS of one process | Peak RSS of all together |",
        "| --- | ---: | ---: | ---: |",
    ]
    lines.extend(
        f"| {entry.process_type} | {entry.max_processes}"
        f" | {entry.peak_process_rss_mib:.0f} MiB | {entry.peak_total_rss_mib:.0f} MiB |"
        for entry in memory
    )
    return "\n".join(lines)
