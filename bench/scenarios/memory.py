"""Memory: `make run` started afresh, each profile in turn, and what its Python processes hold.

For each of devstack's profiles: `python -m devstack.run --profile P` (exactly what `make run
PROFILE=P` runs, its own embedded PostgreSQL and Redis under instance/bench/memory) is started,
the time to the first 200 of /health through its gateway is taken, and the proportional set size
(PSS, from /proc/<pid>/smaps_rollup: a page shared by n processes counts 1/n in each, so the sum
is what they hold together) of every process of each type is summed 30 s after the start, idle,
and again after the write path's load. The harness's own system stays idle meanwhile.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import psutil  # type: ignore[import-untyped, unused-ignore]

from bench.loadgen import HttpRequest
from bench.results import Figure, ScenarioReport
from bench.scenarios.context import BenchContext, ScenarioFailedError
from bench.scenarios.write_path import prepare_writers, write_requests
from bench.settings import REPO_ROOT
from bench.stack import Endpoint, wait_until
from bench.tokens import mint_access_tokens
from devstack.run import EXTERNAL_SERVICE_URL_VARIABLES, PROFILES, SUPERVISOR_LABEL
from devstack.servers import free_port

NAME: Final = "memory"
TITLE: Final = "Memory"
KIBIBYTES_PER_MEBIBYTE: Final = 1024
IDLE_SECONDS: Final = 30.0
STARTUP_TIMEOUT_SECONDS: Final = 120.0
STOP_TIMEOUT_SECONDS: Final = 60.0
API_DATABASE_URL_PREFIX: Final = "API_DATABASE_URL="
# The budgets: the Python processes of each profile after the load.
PSS_GOAL_MIB: Final = {"default": 300.0, "small": 150.0}
# `make run` answered /health this long after its start on a warm clone before the issue.
STARTUP_GOAL_SECONDS: Final = 5.5


@dataclass(frozen=True)
class Snapshot:
    """PSS in MiB and process count per process type, and the private part of the PSS (pages
    no other process maps: what the type's processes hold on top of what they share)."""

    pss_mib: dict[str, float]
    processes: dict[str, int]
    private_mib: dict[str, float] = field(default_factory=dict)

    @property
    def total_mib(self) -> float:
        return sum(self.pss_mib.values())


def pss_kib(pid: int) -> int:
    """The process's proportional set size, in KiB (0 if it is gone)."""
    return rollup_kib(pid).get("Pss", 0)


def rollup_kib(pid: int) -> dict[str, int]:
    """The KiB fields of /proc/<pid>/smaps_rollup (empty if the process is gone)."""
    fields: dict[str, int] = {}
    try:
        with open(f"/proc/{pid}/smaps_rollup", encoding="ascii") as rollup:
            for line in rollup:
                name, _, value = line.partition(":")
                parts = value.split()
                if len(parts) == 2 and parts[1] == "kB":
                    fields[name] = int(parts[0])
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return {}
    return fields


def python_processes(
    supervisor_pid: int, labels: Mapping[tuple[str, ...], str]
) -> Iterator[tuple[str, int]]:
    """(process type, pid) of the supervisor and every Python process under it.

    A direct child is labelled by its process name (devstack forks each service from itself and
    names it, `labels`' values) or else by its command line (`labels`: python arguments to name);
    its descendants (gunicorn's and Celery's workers) take its label. The embedded servers are
    not Python and are left out.
    """
    names = set(labels.values())
    try:
        supervisor = psutil.Process(supervisor_pid)
        children = supervisor.children()
    except psutil.NoSuchProcess:
        return
    yield SUPERVISOR_LABEL, supervisor_pid
    for child in children:
        try:
            command_line = tuple(child.cmdline())
            name = child.name()
            descendants = child.children(recursive=True)
        except psutil.NoSuchProcess:
            continue
        if not command_line or Path(command_line[0]).name != Path(sys.executable).name:
            continue
        label = name if name in names else labels.get(command_line[1:], " ".join(command_line[1:4]))
        yield label, child.pid
        for descendant in descendants:
            yield label, descendant.pid


def snapshot(supervisor_pid: int, labels: Mapping[tuple[str, ...], str]) -> Snapshot:
    pss: dict[str, float] = {}
    private: dict[str, float] = {}
    counts: dict[str, int] = {}
    for label, pid in python_processes(supervisor_pid, labels):
        rollup = rollup_kib(pid)
        pss[label] = pss.get(label, 0.0) + rollup.get("Pss", 0) / KIBIBYTES_PER_MEBIBYTE
        private[label] = (
            private.get(label, 0.0)
            + (rollup.get("Private_Clean", 0) + rollup.get("Private_Dirty", 0))
            / KIBIBYTES_PER_MEBIBYTE
        )
        counts[label] = counts.get(label, 0) + 1
    return Snapshot(pss, counts, private)


@dataclass
class ProfileRun:
    profile: str
    startup_seconds: float
    idle: Snapshot
    loaded: Snapshot
    requests_per_second: float
    # No data directory yet: initdb ran first, as on a fresh clone.
    fresh: bool

    def as_json(self) -> dict[str, Any]:
        return {
            "startup_seconds": round(self.startup_seconds, 2),
            "fresh_data_directory": self.fresh,
            "pss_mib_idle": {k: round(v, 1) for k, v in self.idle.pss_mib.items()},
            "pss_mib_after_load": {k: round(v, 1) for k, v in self.loaded.pss_mib.items()},
            "private_mib_after_load": {k: round(v, 1) for k, v in self.loaded.private_mib.items()},
            "processes": self.loaded.processes,
            "total_pss_mib_idle": round(self.idle.total_mib, 1),
            "total_pss_mib_after_load": round(self.loaded.total_mib, 1),
            "write_requests_per_second": round(self.requests_per_second, 1),
        }


def service_labels(profile: str, gateway_bind: str, state_dir: Path) -> dict[tuple[str, ...], str]:
    from devstack.run import service_commands

    return {
        command.python_arguments: command.name
        for command in service_commands(gateway_bind, state_dir, profile)
    }


def api_database_url(log_path: Path) -> str | None:
    for line in log_path.read_text(encoding="utf-8", errors="replace").splitlines():
        _, found, url = line.partition(API_DATABASE_URL_PREFIX)
        if found:
            return url.strip()
    return None


def measure_profile(context: BenchContext, profile: str) -> ProfileRun:
    data_dir = context.settings.instance_dir / "memory"
    fresh = not (data_dir / "postgres").exists()
    data_dir.mkdir(parents=True, exist_ok=True)
    gateway = Endpoint("127.0.0.1", free_port())
    gateway_bind = f"{gateway.host}:{gateway.port}"
    environment = {
        name: value
        for name, value in context.system.environment.items()
        # Its own embedded servers, as on a fresh machine: nothing shared with the harness's.
        if name not in EXTERNAL_SERVICE_URL_VARIABLES and name != "DEVSTACK_DATA_DIR"
    }
    environment |= {
        "DEVSTACK_DATA_DIR": str(data_dir),
        "GATEWAY_BIND": gateway_bind,
        "EMBEDDED_REDIS_PORT": str(free_port()),
    }
    log_path = context.settings.instance_dir / "logs" / f"memory-{profile}.log"
    labels = service_labels(profile, gateway_bind, data_dir)
    context.say(f"memory, {profile} profile: make run starting, output in {log_path}")
    with log_path.open("wb") as log_file:
        started = time.monotonic()
        supervisor = subprocess.Popen(
            [sys.executable, "-m", "devstack.run", "--profile", profile],
            cwd=REPO_ROOT, env=environment, stdout=log_file, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
    try:

        def alive() -> None:
            if supervisor.poll() is not None:
                tail = "\n".join(log_path.read_text(errors="replace").splitlines()[-30:])
                raise ScenarioFailedError(f"make run ({profile}) exited early:\n{tail}")

        wait_until(
            f"make run ({profile}) on {gateway.url}",
            lambda: _healthy(context, gateway),
            alive,
            STARTUP_TIMEOUT_SECONDS,
        )
        startup_seconds = time.monotonic() - started
        context.say(f"memory, {profile}: /health answered 200 after {startup_seconds:.1f}s")
        time.sleep(max(0.0, started + IDLE_SECONDS - time.monotonic()))
        alive()
        idle = snapshot(supervisor.pid, labels)
        database_url = api_database_url(log_path)
        if database_url is None:
            raise ScenarioFailedError(f"make run ({profile}) never printed its API_DATABASE_URL")
        writers = prepare_writers(database_url)
        system = context.system
        tokens = mint_access_tokens(
            database_url,
            system.private_key_path,
            system.public_key_path,
            (writer.user_id for writer in writers),
        )
        requests = write_requests(writers, tokens)
        result = context.load(
            context.plan(gateway, requests, warmup_seconds=0.0),
            f"memory, {profile}: write path load",
        )
        alive()
        loaded = snapshot(supervisor.pid, labels)
    finally:
        _stop(supervisor)
    return ProfileRun(profile, startup_seconds, idle, loaded, result.requests_per_second, fresh)


def _healthy(context: BenchContext, gateway: Endpoint) -> bool:
    with contextlib.suppress(OSError):
        return context.send(gateway, HttpRequest("GET", "/health", b"", (), 200)).status == 200
    return False


def _stop(supervisor: subprocess.Popen[bytes]) -> None:
    # Ctrl-C, as a person stops `make run`; the whole group only if it does not stop.
    if supervisor.poll() is None:
        supervisor.send_signal(signal.SIGINT)
    try:
        supervisor.wait(STOP_TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(supervisor.pid, signal.SIGKILL)
        supervisor.wait()


def run(context: BenchContext) -> ScenarioReport:
    runs = [measure_profile(context, profile) for profile in PROFILES]
    figures = []
    for profile_run in runs:
        profile = profile_run.profile
        figures += [
            Figure(f"{profile}: start-up to /health 200", profile_run.startup_seconds, "s"),
            Figure(f"{profile}: PSS of the Python processes, idle", profile_run.idle.total_mib,
                   "MiB"),
            Figure(f"{profile}: PSS of the Python processes, after the load",
                   profile_run.loaded.total_mib, "MiB"),
        ]  # fmt: skip
    return ScenarioReport(
        name=NAME,
        title=TITLE,
        figures=figures,
        details={
            "idle_seconds": IDLE_SECONDS,
            "profiles": {profile_run.profile: profile_run.as_json() for profile_run in runs},
            "table": pss_table(runs),
        },
    )


def pss_table(runs: list[ProfileRun]) -> str:
    """Markdown: one row per profile and process type, then each profile's total and goals."""
    lines = [
        "| Profile | Process type | Processes | PSS idle | PSS after load | of which private |",
        "| --- | --- | ---: | ---: | ---: | ---: |",
    ]
    for profile_run in runs:
        for label, loaded in profile_run.loaded.pss_mib.items():
            idle = profile_run.idle.pss_mib.get(label, 0.0)
            private = profile_run.loaded.private_mib.get(label, 0.0)
            lines.append(
                f"| {profile_run.profile} | {label} | {profile_run.loaded.processes[label]}"
                f" | {idle:.0f} MiB | {loaded:.0f} MiB | {private:.0f} MiB |"
            )
        goal = PSS_GOAL_MIB.get(profile_run.profile)
        verdict = ""
        if goal is not None:
            verdict = f" (goal ≤ {goal:.0f}: {'met' if profile_run.loaded.total_mib <= goal else '**missed**'})"  # noqa: E501
        lines.append(
            f"| {profile_run.profile} | **total** | {sum(profile_run.loaded.processes.values())}"
            f" | {profile_run.idle.total_mib:.0f} MiB"
            f" | {profile_run.loaded.total_mib:.0f} MiB{verdict}"
            f" | {sum(profile_run.loaded.private_mib.values()):.0f} MiB |"
        )
    lines.append("")
    lines.append("| Profile | Start-up to the first 200 of /health |")
    lines.append("| --- | ---: |")
    lines.extend(
        f"| {profile_run.profile}{' (fresh data directory: initdb)' if profile_run.fresh else ''}"
        f" | {profile_run.startup_seconds:.1f} s (goal ≤ {STARTUP_GOAL_SECONDS} s:"
        f" {'met' if profile_run.startup_seconds <= STARTUP_GOAL_SECONDS else '**missed**'}) |"
        for profile_run in runs
    )
    return "\n".join(lines)
