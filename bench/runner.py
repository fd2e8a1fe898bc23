"""Runs the scenarios one after another; one that cannot run is reported, never fatal."""

from __future__ import annotations

import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from bench.results import ScenarioReport, Status
from bench.scenarios import (
    auth,
    balances,
    lists,
    memory,
    notifications,
    read_path,
    recovery,
    write_path,
)
from bench.scenarios.context import BenchContext, ScenarioFailedError, ScenarioUnavailableError


@dataclass(frozen=True)
class Scenario:
    name: str
    title: str
    run: Callable[[BenchContext], ScenarioReport]


SCENARIOS: Final = {
    scenario.name: scenario
    for scenario in (
        Scenario(write_path.NAME, write_path.TITLE, write_path.run),
        Scenario(read_path.NAME, read_path.TITLE, read_path.run),
        Scenario(lists.NAME, lists.TITLE, lists.run),
        Scenario(balances.NAME, balances.TITLE, balances.run),
        Scenario(auth.NAME, auth.TITLE, auth.run),
        Scenario(notifications.NAME, notifications.TITLE, notifications.run),
        Scenario(recovery.NAME, recovery.TITLE, recovery.run),
        Scenario(memory.NAME, memory.TITLE, memory.run),
    )
}


def run_scenario(scenario: Scenario, context: BenchContext) -> ScenarioReport:
    context.say(f"{scenario.title}: starting")
    started = time.monotonic()
    try:
        report = scenario.run(context)
    except ScenarioUnavailableError as reason:
        report = ScenarioReport(scenario.name, scenario.title, Status.NOT_AVAILABLE, str(reason))
    except ScenarioFailedError as reason:
        report = ScenarioReport(scenario.name, scenario.title, Status.FAILED, str(reason))
    except Exception as error:
        # A bug or a broken server fails this scenario only; the others still run.
        context.say(traceback.format_exc())
        report = ScenarioReport(
            scenario.name, scenario.title, Status.FAILED, f"{type(error).__name__}: {error}"
        )
    report.details["scenario_seconds"] = round(time.monotonic() - started, 1)
    outcome = report.status.value + (f": {report.reason}" if report.reason else "")
    context.say(f"{scenario.title}: {outcome} ({report.details['scenario_seconds']}s)")
    return report
