"""A small HTTP/1.1 load generator on asyncio, run in a process of its own.

Why our own and not wrk or locust: `make bench` must run on a machine with nothing but Python and
make, so wrk (a C binary from the OS packages) is out; locust drags in gevent, a web UI and a
reporting stack, and on a 2-core machine its per-request overhead competes with the servers it
measures. What the benchmark needs is small: a fixed number of connections in a closed loop (or an
open loop at a fixed rate), keep-alive when the server offers it, a hard stop by time and count,
and the start, end and status of every request. That fits in this module, with the standard
library only, and every figure it reports is computed by code we test.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from bench.stats import LatencySummary, summarize_latencies

MAX_ERROR_SAMPLES: Final = 5
ERROR_BODY_EXCERPT: Final = 300


class ProtocolError(Exception):
    """The server's answer was not HTTP/1.x as we know it."""


@dataclass(frozen=True)
class HttpRequest:
    method: str
    path: str
    body: bytes = b""
    headers: tuple[tuple[str, str], ...] = ()
    expected_status: int = 200

    def encode(self, host: str, port: int) -> bytes:
        lines = [f"{self.method} {self.path} HTTP/1.1", f"Host: {host}:{port}"]
        lines.extend(f"{name}: {value}" for name, value in self.headers)
        if self.body or self.method in ("POST", "PUT", "PATCH"):
            lines.append(f"Content-Length: {len(self.body)}")
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + self.body


@dataclass(frozen=True)
class LoadPlan:
    """What to send, how hard, and when to stop; every loop it drives is bounded by it."""

    host: str
    port: int
    # Request number n sends requests[n % len(requests)].
    requests: tuple[HttpRequest, ...]
    connections: int
    # Nothing is sent after this many seconds, whatever else is left.
    duration_seconds: float
    # Requests started in the first seconds are made and recorded but not measured.
    warmup_seconds: float = 0.0
    max_requests: int | None = None
    # None: a closed loop, each connection sends as soon as its previous answer arrived.
    # A rate: an open loop, request n is due at n / rate seconds after the start.
    rate_per_second: float | None = None
    timeout_seconds: float = 10.0

    def __post_init__(self) -> None:
        if not self.requests:
            raise ValueError("a load plan needs at least one request")
        if self.connections < 1:
            raise ValueError("a load plan needs at least one connection")
        if self.duration_seconds <= 0:
            raise ValueError("duration_seconds must be positive")


@dataclass(frozen=True)
class RequestRecord:
    index: int
    # Wall-clock times (time.time()), comparable with timestamps taken by other processes.
    started_at: float
    finished_at: float
    latency_seconds: float
    status: int  # 0 when no HTTP answer arrived
    ok: bool
    measured: bool
    error: str | None = None


@dataclass
class LoadResult:
    records: list[RequestRecord] = field(default_factory=list)
    measured_seconds: float = 0.0

    @classmethod
    def combined(cls, results: Sequence[LoadResult]) -> LoadResult:
        """Several runs of one plan (rounds taken in turns with a baseline) as one result."""
        return cls(
            records=[record for result in results for record in result.records],
            measured_seconds=sum(result.measured_seconds for result in results),
        )

    @property
    def measured(self) -> list[RequestRecord]:
        return [record for record in self.records if record.measured]

    @property
    def succeeded(self) -> list[RequestRecord]:
        return [record for record in self.measured if record.ok]

    @property
    def errors(self) -> list[RequestRecord]:
        return [record for record in self.measured if not record.ok]

    @property
    def requests_per_second(self) -> float:
        if self.measured_seconds <= 0:
            return 0.0
        return len(self.succeeded) / self.measured_seconds

    def latencies(self) -> list[float]:
        return [record.latency_seconds for record in self.succeeded]

    def latency_summary(self) -> LatencySummary:
        return summarize_latencies(self.latencies())

    def as_json(self) -> dict[str, Any]:
        succeeded = self.succeeded
        document: dict[str, Any] = {
            "measured_seconds": round(self.measured_seconds, 3),
            "requests": len(self.measured),
            "succeeded": len(succeeded),
            "errors": len(self.errors),
            "requests_per_second": round(self.requests_per_second, 2),
        }
        if succeeded:
            document["latency"] = self.latency_summary().as_json()
        samples = sorted({record.error or "" for record in self.errors})[:MAX_ERROR_SAMPLES]
        if samples:
            document["error_samples"] = samples
        return document


# --------------------------------------------------------------------------- #
# HTTP on asyncio streams
# --------------------------------------------------------------------------- #


@dataclass(frozen=True)
class HttpResponse:
    status: int
    keep_alive: bool
    body: bytes


async def read_response(reader: asyncio.StreamReader) -> HttpResponse:
    head = await reader.readuntil(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").rstrip("\r\n").split("\r\n")
    parts = status_line.split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/1.") or not parts[1].isdigit():
        raise ProtocolError(f"bad status line {status_line!r}")
    version, status = parts[0], int(parts[1])
    headers: dict[str, str] = {}
    for line in header_lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    keep_alive = version == "HTTP/1.1" and headers.get("connection", "").lower() != "close"
    if "content-length" in headers:
        body = await reader.readexactly(int(headers["content-length"]))
    elif headers.get("transfer-encoding", "").lower() == "chunked":
        body = await _read_chunked(reader)
    else:
        body = await reader.read()
        keep_alive = False
    return HttpResponse(status=status, keep_alive=keep_alive, body=body)


async def _read_chunked(reader: asyncio.StreamReader) -> bytes:
    chunks: list[bytes] = []
    while True:
        size_line = await reader.readuntil(b"\r\n")
        size = int(size_line.split(b";")[0].strip(), 16)
        if size == 0:
            await reader.readuntil(b"\r\n")  # no trailers are sent to us
            return b"".join(chunks)
        chunks.append(await reader.readexactly(size))
        await reader.readexactly(2)


# --------------------------------------------------------------------------- #
# The load loop
# --------------------------------------------------------------------------- #


class _Connection:
    """One client connection, reopened whenever the server closes it."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    @property
    def is_open(self) -> bool:
        return self._writer is not None

    async def exchange(self, payload: bytes) -> HttpResponse:
        if self._reader is None or self._writer is None:
            self._reader, self._writer = await asyncio.open_connection(self.host, self.port)
        self._writer.write(payload)
        await self._writer.drain()
        response = await read_response(self._reader)
        if not response.keep_alive:
            await self.close()
        return response

    async def close(self) -> None:
        writer, self._reader, self._writer = self._writer, None, None
        if writer is not None:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()


_CONNECTION_FAILURES: Final = (OSError, EOFError, asyncio.IncompleteReadError, ProtocolError)


async def _send_one(connection: _Connection, payload: bytes) -> HttpResponse:
    was_open = connection.is_open
    try:
        return await connection.exchange(payload)
    except asyncio.IncompleteReadError as error:
        await connection.close()
        # A kept-alive connection the server closed while idle: what every HTTP client does is
        # send again once on a fresh one. Only when nothing of the answer had arrived.
        if was_open and not error.partial:
            return await connection.exchange(payload)
        raise


async def generate_load(plan: LoadPlan) -> LoadResult:
    payloads = [request.encode(plan.host, plan.port) for request in plan.requests]
    started = time.perf_counter()
    warmup_ends = started + plan.warmup_seconds
    deadline = started + plan.duration_seconds
    numbers = itertools.count()
    records: list[RequestRecord] = []

    async def drive(connection: _Connection) -> None:
        while True:
            number = next(numbers)
            if plan.max_requests is not None and number >= plan.max_requests:
                return
            if plan.rate_per_second is not None:
                due = started + number / plan.rate_per_second
                if due >= deadline:
                    return
                await asyncio.sleep(max(0.0, due - time.perf_counter()))
            if time.perf_counter() >= deadline:
                return
            request = plan.requests[number % len(plan.requests)]
            sent = time.perf_counter()
            sent_wall = time.time()
            status, error = 0, None
            try:
                response = await asyncio.wait_for(
                    _send_one(connection, payloads[number % len(payloads)]), plan.timeout_seconds
                )
                status = response.status
                if status != request.expected_status:
                    excerpt = response.body[:ERROR_BODY_EXCERPT].decode("utf-8", "replace")
                    error = f"HTTP {status}: {excerpt}"
            except (TimeoutError, *_CONNECTION_FAILURES) as failure:
                await connection.close()
                error = f"{type(failure).__name__}: {failure}"
            latency = time.perf_counter() - sent
            records.append(
                RequestRecord(
                    index=number,
                    started_at=sent_wall,
                    finished_at=sent_wall + latency,
                    latency_seconds=latency,
                    status=status,
                    ok=error is None,
                    measured=sent >= warmup_ends,
                    error=error,
                )
            )

    connections = [_Connection(plan.host, plan.port) for _ in range(plan.connections)]
    try:
        await asyncio.gather(*(drive(connection) for connection in connections))
    finally:
        for connection in connections:
            await connection.close()
    return LoadResult(records=records, measured_seconds=measured_window(records))


def measured_window(records: Sequence[RequestRecord]) -> float:
    """Seconds from the first measured request's start to the last one's end."""
    measured = [record for record in records if record.measured]
    if not measured:
        return 0.0
    return max(record.finished_at for record in measured) - min(
        record.started_at for record in measured
    )


def run_plan(plan: LoadPlan) -> LoadResult:
    """Entry point in the load-generator process."""
    return asyncio.run(generate_load(plan))
