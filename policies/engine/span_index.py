"""A calendar's open spans in real time with their cumulative business time, built lazily and cached.

Counting business time day by day costs as much as the days crossed: a due date a year ahead would cost
hundreds of times one an hour ahead. Instead each calendar gets an index: its open spans in UTC, sorted,
and the business time elapsed before each. Then "how much between a and b" and "when has d elapsed" are
bisects, whatever the distance.

The index covers one contiguous stretch of real time, built in chunks of 8 weeks aligned on a fixed grid
and extended forwards or backwards when a question reaches outside it. Memory stays bounded: an index
covers at most about 21 years (a question far from what it covers starts a fresh one), and at most 64
calendars keep an index (least recently used first out).

Threads: what readers see is a snapshot that is never modified once published; extending builds a new one
under a lock and publishes it with one assignment. A reader may compute on a snapshot that another thread
is replacing; its answer is still right, because both snapshots agree where they overlap.
"""

# array is not subscriptable at runtime before Python 3.12; the annotations below only serve mypy.
from __future__ import annotations

import threading
from array import array
from bisect import bisect_left, bisect_right
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache

from policies.engine.calendar import DAY_US, WEEK_US, CalendarSpec
from policies.engine.open_spans import Span, WeekPlan
from policies.engine.zone_offsets import SECOND_US

CHUNK_US = 8 * WEEK_US
# Questions may span 20 years (HORIZON_US); an index may cover a little more so that one of them fits.
HORIZON_YEARS = 20
HORIZON_US = HORIZON_YEARS * 36_525 * DAY_US // 100
_MAX_COVERAGE_US = HORIZON_US + 365 * DAY_US
# Filling a gap between what is covered and a new question costs as much as building the gap; beyond a
# year it is cheaper to start afresh around the question.
_MAX_BRIDGE_US = 365 * DAY_US
_CACHED_CALENDARS = 64


@dataclass(frozen=True)
class Snapshot:
    """Open spans covering real time [lo, hi): starts, ends, and business time elapsed before each span.

    `cumulative` has one more entry than the spans: its last is the business time of the whole snapshot.
    Business time is counted from `lo`, so figures from two snapshots are not comparable; differences are.
    """

    lo: int
    hi: int
    starts: array[int]
    ends: array[int]
    cumulative: array[int]

    def covers(self, start: int, end: int) -> bool:
        """True when [start, end] lies inside what this snapshot knows."""
        return self.lo <= start and end <= self.hi

    def elapsed(self, instant: int) -> int:
        """Business time from `lo` to `instant`."""
        index = bisect_right(self.starts, instant) - 1
        if index < 0:
            return 0
        return self.cumulative[index] + min(instant, self.ends[index]) - self.starts[index]

    def forward(self, instant: int, duration: int) -> int | None:
        """The earliest instant by which `duration` (> 0) has elapsed since `instant`; None if beyond `hi`."""
        target = self.elapsed(instant) + duration
        if target > self.cumulative[-1]:
            return None
        # The first span whose end reaches the target; at its very end, that is its closing instant.
        index = bisect_left(self.cumulative, target, 1) - 1
        return self.starts[index] + target - self.cumulative[index]

    def backward(self, instant: int, duration: int) -> int | None:
        """The latest instant from which `duration` (> 0) elapses until `instant`; None if before `lo`."""
        target = self.elapsed(instant) - duration
        if target < 0:
            return None
        # The last span starting at or before the target; exactly at a start, that is its opening instant.
        index = bisect_right(self.cumulative, target, 0, len(self.starts)) - 1
        return self.starts[index] + target - self.cumulative[index]

    def spans(self, start: int, end: int) -> Iterator[Span]:
        """The open spans within [start, end), clipped to it."""
        index = bisect_right(self.ends, start)
        while index < len(self.starts) and self.starts[index] < end:
            yield max(self.starts[index], start), min(self.ends[index], end)
            index += 1


class SpanIndex:
    """One calendar's index of open spans, extended on demand; see the module docstring."""

    def __init__(self, spec: CalendarSpec, *, chunk_us: int = CHUNK_US) -> None:
        if chunk_us <= 0 or chunk_us % SECOND_US:
            # Zone transitions are found to the second, between chunk edges on whole seconds.
            raise ValueError("an index's chunks must last a positive whole number of seconds")
        self._plan = WeekPlan(spec)
        self._chunk = chunk_us
        self._lock = threading.Lock()
        self._snapshot: Snapshot | None = None
        self.weekly_open_us = sum(length for day in self._plan.by_weekday for _, length in day)

    @property
    def spans_held(self) -> int:
        """How many open spans the index holds now (what its memory grows with)."""
        snapshot = self._snapshot
        return 0 if snapshot is None else len(snapshot.starts)

    def covering(self, start: int, end: int) -> Snapshot:
        """A snapshot that covers [start, end], building what is missing."""
        snapshot = self._snapshot
        if snapshot is not None and snapshot.covers(start, end):
            return snapshot
        with self._lock:
            # Another thread may have built it while this one waited.
            snapshot = self._snapshot
            if snapshot is not None and snapshot.covers(start, end):
                return snapshot
            lo = start // self._chunk * self._chunk
            hi = max(-(-end // self._chunk) * self._chunk, lo + self._chunk)
            if snapshot is None or not self._bridgeable(snapshot, lo, hi):
                spans = self._plan.real_spans(lo, hi)
            else:
                spans = self._joined(snapshot, lo, hi)
                lo, hi = min(lo, snapshot.lo), max(hi, snapshot.hi)
            snapshot = _snapshot(lo, hi, spans)
            self._snapshot = snapshot
            return snapshot

    def _bridgeable(self, snapshot: Snapshot, lo: int, hi: int) -> bool:
        gap = max(lo - snapshot.hi, snapshot.lo - hi, 0)
        return gap <= _MAX_BRIDGE_US and max(hi, snapshot.hi) - min(lo, snapshot.lo) <= _MAX_COVERAGE_US

    def _joined(self, snapshot: Snapshot, lo: int, hi: int) -> list[Span]:
        spans: list[Span] = []
        if lo < snapshot.lo:
            spans.extend(self._plan.real_spans(lo, snapshot.lo))
        for start, end in zip(snapshot.starts, snapshot.ends, strict=True):
            _append_touching(spans, start, end)
        if hi > snapshot.hi:
            for start, end in self._plan.real_spans(snapshot.hi, hi):
                _append_touching(spans, start, end)
        return spans


def _append_touching(spans: list[Span], start: int, end: int) -> None:
    # Chunks are built separately: a span cut at a chunk's edge is joined to its other half.
    if spans and spans[-1][1] == start:
        spans[-1] = (spans[-1][0], end)
    else:
        spans.append((start, end))


def _snapshot(lo: int, hi: int, spans: list[Span]) -> Snapshot:
    cumulative = array("q", [0])
    total = 0
    for start, end in spans:
        total += end - start
        cumulative.append(total)
    return Snapshot(
        lo=lo,
        hi=hi,
        starts=array("q", (start for start, _ in spans)),
        ends=array("q", (end for _, end in spans)),
        cumulative=cumulative,
    )


@lru_cache(maxsize=_CACHED_CALENDARS)
def index_for(spec: CalendarSpec) -> SpanIndex:
    """The shared index of a calendar (equal specs share one)."""
    return SpanIndex(spec)
