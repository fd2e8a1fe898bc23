"""What every scenario gets: the running system, the settings, and ways to load it."""

from __future__ import annotations

import contextlib
import http.client
import json
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from bench.child import run_in_child_process
from bench.loadgen import HttpRequest, LoadPlan, LoadResult, run_plan
from bench.memory import MemorySampler
from bench.profiler import profiled, summarize_profile
from bench.settings import BenchSettings
from bench.stack import BenchSystem, Endpoint
from bench.tokens import mint_access_tokens

# Statuses that mean "this route does not exist (yet)", as opposed to "it answered wrongly".
NOT_ROUTED: Final = frozenset({404, 405})
# Beyond a run's own duration, how long its load generator may take before it is stopped.
LOAD_GRACE_SECONDS: Final = 60.0
# More failed requests than this share make a run's figures meaningless.
MAX_ERROR_SHARE: Final = 0.01


class ScenarioUnavailableError(Exception):
    """The scenario's endpoints are not in this build; reported as "not available"."""


class ScenarioFailedError(Exception):
    """The scenario ran but its measurement cannot be trusted; reported as "failed"."""


def json_request(
    method: str,
    path: str,
    body: Mapping[str, Any] | None = None,
    *,
    token: str | None = None,
    expected_status: int = 200,
) -> HttpRequest:
    headers: list[tuple[str, str]] = []
    if token is not None:
        headers.append(("Authorization", f"Bearer {token}"))
    encoded = b""
    if body is not None:
        headers.append(("Content-Type", "application/json"))
        encoded = json.dumps(body).encode("utf-8")
    return HttpRequest(method, path, encoded, tuple(headers), expected_status)


@dataclass(frozen=True)
class ProbeAnswer:
    status: int
    body: str
    headers: Mapping[str, str] = field(default_factory=dict)

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class BenchContext:
    settings: BenchSettings
    system: BenchSystem
    sampler: MemorySampler
    say: Callable[[str], None]

    def send(self, endpoint: Endpoint, request: HttpRequest) -> ProbeAnswer:
        """One request from the harness itself (set-up and probes, never measurements)."""
        connection = http.client.HTTPConnection(endpoint.host, endpoint.port, timeout=30)
        try:
            connection.request(
                request.method, request.path, body=request.body, headers=dict(request.headers)
            )
            response = connection.getresponse()
            body = response.read().decode("utf-8", "replace")
            return ProbeAnswer(response.status, body, dict(response.getheaders()))
        finally:
            connection.close()

    def require(self, endpoint: Endpoint, request: HttpRequest) -> ProbeAnswer:
        """Send `request` once: unavailable if not routed, failed if answered otherwise."""
        answer = self.send(endpoint, request)
        if answer.status in NOT_ROUTED:
            raise ScenarioUnavailableError(f"{request.method} {request.path.split('?')[0]}"
                                      f" answers {answer.status}")  # fmt: skip
        if answer.status != request.expected_status:
            raise ScenarioFailedError(
                f"{request.method} {request.path} answered {answer.status}, expected"
                f" {request.expected_status}: {answer.body[:300]}"
            )
        return answer

    def plan(
        self,
        endpoint: Endpoint,
        requests: Iterable[HttpRequest],
        *,
        connections: int | None = None,
        duration_seconds: float | None = None,
        warmup_seconds: float | None = None,
        max_requests: int | None = None,
        rate_per_second: float | None = None,
    ) -> LoadPlan:
        warmup = self.settings.warmup_seconds if warmup_seconds is None else warmup_seconds
        measured = self.settings.duration_seconds if duration_seconds is None else duration_seconds
        return LoadPlan(
            host=endpoint.host,
            port=endpoint.port,
            requests=tuple(requests),
            connections=connections or self.settings.connections,
            duration_seconds=warmup + measured,
            warmup_seconds=warmup,
            max_requests=max_requests,
            rate_per_second=rate_per_second,
        )

    def load(self, plan: LoadPlan, label: str) -> LoadResult:
        """Run `plan` from a separate process; fail if too many of its requests failed."""
        self.say(f"{label}: {plan.connections} connections, up to {plan.duration_seconds:.0f}s")
        result = run_in_child_process(
            run_plan,
            plan,
            timeout_seconds=plan.duration_seconds + LOAD_GRACE_SECONDS,
            sampler=self.sampler,
            process_type="HTTP load generator",
        )
        self.system.check_running()
        errors, measured = len(result.errors), len(result.measured)
        if measured == 0:
            raise ScenarioFailedError(f"{label}: no request completed")
        if errors > MAX_ERROR_SHARE * measured:
            samples = "; ".join(sorted({record.error or "" for record in result.errors})[:3])
            raise ScenarioFailedError(f"{label}: {errors} of {measured} requests failed: {samples}")
        return result

    @contextlib.contextmanager
    def profiling(
        self, process_names: Iterable[str], label: str, summaries: dict[str, Any]
    ) -> Iterator[None]:
        """With BENCH_PROFILE set, py-spy profiles of these processes for the block; a summary
        of each (where its samples went) lands in `summaries` under the process name."""
        output_dir = self.settings.instance_dir / "profiles" if self.settings.profile else None
        paths: dict[str, Path | None] = {}
        with contextlib.ExitStack() as profiles:
            for name in process_names:
                paths[name] = profiles.enter_context(
                    profiled(self.system, name, label, output_dir, self.say)
                )
            yield
        for name, path in paths.items():
            if path is not None and path.exists():
                summaries[name] = {"profile": str(path), **summarize_profile(path)}

    def load_in_turns(
        self,
        ours: Callable[[float, float], LoadPlan],
        baseline: Callable[[float, float], LoadPlan],
        label: str,
        baseline_name: str,
    ) -> tuple[LoadResult, LoadResult]:
        """Both sides in alternating rounds sharing the duration; each side's rounds combined.

        `ours` and `baseline` make a side's plan from (warm-up seconds, measured seconds). Only
        the first round of each side warms up: the servers stay up between rounds.
        """
        rounds = self.settings.rounds
        per_round = self.settings.duration_seconds / rounds
        ours_results, baseline_results = [], []
        for number in range(rounds):
            warmup = self.settings.warmup_seconds if number == 0 else 0.0
            suffix = f" (round {number + 1} of {rounds})"
            ours_results.append(self.load(ours(warmup, per_round), f"{label}, ours{suffix}"))
            baseline_results.append(
                self.load(baseline(warmup, per_round), f"{label}, {baseline_name}{suffix}")
            )
        return LoadResult.combined(ours_results), LoadResult.combined(baseline_results)

    def size_round_seconds(self) -> float:
        """How long one size's closed loop runs in a round when each size of a growth scenario
        gets half of BENCH_DURATION_SECONDS over BENCH_ROUNDS rounds; half a second at least."""
        return max(0.5, self.settings.duration_seconds / 2 / self.settings.rounds)

    def load_round(
        self,
        request: HttpRequest,
        round_number: int,
        duration_seconds: float,
        label: str,
        *,
        warm_up: bool = True,
    ) -> LoadResult:
        """Round `round_number` (from 0) of a closed loop of `request` through the gateway, one
        connection per gateway worker. Only the first round warms up (the servers stay up between
        rounds); with `warm_up=False` none does."""
        warmup = self.settings.warmup_seconds if warm_up and round_number == 0 else 0.0
        plan = self.plan(
            self.system.gateway,
            [request],
            connections=self.settings.workers,
            warmup_seconds=warmup,
            duration_seconds=duration_seconds,
        )
        return self.load(plan, f"{label} (round {round_number + 1} of {self.settings.rounds})")

    def access_tokens(self, user_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, str]:
        return mint_access_tokens(
            self.system.api_database_url,
            self.system.private_key_path,
            self.system.public_key_path,
            user_ids,
        )
