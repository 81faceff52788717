"""A threaded HTTP load generator and the figures of its runs (rate, latency percentiles, errors).

A run sends prepared requests over keep-alive connections at a fixed concurrency, from threads of this process,
and reports what came back. What the requests contain is up to the benchmark that prepares them.
"""

import contextlib
import http.client
import math
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

REQUEST_TIMEOUT_S = 30


@dataclass(frozen=True)
class Request:
    """One HTTP request, prepared before the clock starts."""

    method: str
    path: str
    body: bytes
    headers: dict[str, str]


@dataclass
class Phase:
    """The figures of one load run against one endpoint."""

    name: str
    attempted: int = 0
    ok: int = 0
    elapsed_s: float = 0.0
    latencies_ms: list[float] = field(default_factory=list)
    statuses: Counter[str] = field(default_factory=Counter)
    sample_error: str = ""
    body_bytes: float = 0.0

    @property
    def errors(self) -> int:
        """Requests that did not answer 200 (other statuses, resets, timeouts)."""
        return self.attempted - self.ok

    @property
    def rate(self) -> float:
        """Successful requests per second of wall time."""
        return self.ok / self.elapsed_s if self.elapsed_s > 0 else 0.0

    def percentile_ms(self, q: float) -> float:
        """The nearest-rank q-quantile (0 < q <= 1) of the latencies, in milliseconds."""
        if not self.latencies_ms:
            return math.nan
        ordered = sorted(self.latencies_ms)
        return ordered[max(0, math.ceil(q * len(ordered)) - 1)]

    def add(self, other: "Phase") -> None:
        """Fold the figures of another round against the same endpoint into this one."""
        total = self.attempted + other.attempted
        if total:
            self.body_bytes = (self.body_bytes * self.attempted + other.body_bytes * other.attempted) / total
        self.attempted = total
        self.ok += other.ok
        self.elapsed_s += other.elapsed_s
        self.latencies_ms.extend(other.latencies_ms)
        self.statuses.update(other.statuses)
        self.sample_error = self.sample_error or other.sample_error

    def as_json(self) -> dict[str, Any]:
        """The figures, without the raw latencies."""
        return {
            "attempted": self.attempted,
            "ok": self.ok,
            "errors": self.errors,
            "statuses": dict(self.statuses),
            "sample_error": self.sample_error,
            "elapsed_s": round(self.elapsed_s, 3),
            "per_second": round(self.rate, 1),
            "p50_ms": round(self.percentile_ms(0.50), 2),
            "p99_ms": round(self.percentile_ms(0.99), 2),
            "mean_body_bytes": round(self.body_bytes, 1),
        }


def run_load(*, name: str, host: str, port: int, requests: list[Request], concurrency: int, limit_s: float) -> Phase:
    """Send every request from `concurrency` keep-alive connections to host:port; the figures of the run.

    Connections are opened before the clock starts; a request that has not started when `limit_s` runs out
    is not sent (and not counted), so a stuck server cannot hold the benchmark.
    """
    phase = Phase(name=name, body_bytes=sum(len(r.body) for r in requests) / max(1, len(requests)))
    next_index = iter(range(len(requests)))
    take_lock = threading.Lock()
    barrier = threading.Barrier(concurrency + 1)
    results: list[list[tuple[float, str, bytes]]] = [[] for _ in range(concurrency)]
    deadline = [math.inf]  # set when the clock starts

    def take() -> int | None:
        with take_lock:
            return next(next_index, None)

    def worker(slot: int) -> None:
        mine = results[slot]
        conn = http.client.HTTPConnection(host, port, timeout=REQUEST_TIMEOUT_S)
        with contextlib.suppress(OSError):
            conn.connect()  # outside the timed window; a failure shows up on the first request
        try:
            barrier.wait(timeout=REQUEST_TIMEOUT_S)
        except threading.BrokenBarrierError:
            conn.close()
            return
        while time.perf_counter() < deadline[0] and (index := take()) is not None:
            request = requests[index]
            started = time.perf_counter()
            try:
                conn.request(request.method, request.path, body=request.body, headers=request.headers)
                response = conn.getresponse()
                answer = response.read()
                status = str(response.status)
            except (OSError, http.client.HTTPException) as exc:
                answer = repr(exc).encode()
                status = type(exc).__name__
                # The connection is in an unknown state; the next request opens a fresh one.
                conn.close()
            mine.append(((time.perf_counter() - started) * 1000, status, answer))
        conn.close()

    threads = [threading.Thread(target=worker, args=(slot,), daemon=True) for slot in range(concurrency)]
    for thread in threads:
        thread.start()
    barrier.wait(timeout=REQUEST_TIMEOUT_S)
    started = time.perf_counter()
    deadline[0] = started + limit_s
    for thread in threads:
        # A request in flight at the deadline may still take up to its own timeout.
        thread.join(timeout=limit_s + REQUEST_TIMEOUT_S + 5)
    phase.elapsed_s = time.perf_counter() - started

    for mine in results:
        for latency_ms, status, answer in mine:
            phase.attempted += 1
            phase.latencies_ms.append(latency_ms)
            phase.statuses[status] += 1
            if status == "200":
                phase.ok += 1
            elif not phase.sample_error:
                phase.sample_error = f"{status}: {answer[:300].decode(errors='replace')}"
    return phase
