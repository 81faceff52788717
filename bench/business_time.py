"""Business-time benchmark: the cost of a due date one hour ahead next to one a year ahead.

For three calendars (Mon-Fri 09:00-17:00 in Europe/London with a dozen holidays, 24/7 in America/New_York,
and an overnight 22:00-06:00 Mon-Fri in America/New_York) and a few hundred start instants spread over
2026, it times `add_business` and `business_between` for a span of one business hour and of a year's
business time (the due date lands a year ahead):

- warm: the calendar's index already covers the instants (the steady state of a running server); the
  median over rounds of the mean time per call, and calls per second;
- cold: the first call after the engine's cache is emptied, which builds the index for the range asked
  (ZoneInfo's own cache stays warm); the median and the worst over a few dozen starts.

The goal is a year-ahead call costing at most twice an hour-ahead one (warm). It prints figures and never
fails on them.

    .venv/bin/python bench/business_time.py [--starts 400] [--rounds 7] [--cold 30] [--json figures.json]
"""

import argparse
import json
import os
import platform
import random
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
# Run as `python bench/business_time.py`, so the project root is not on sys.path yet; the benchmark leaves no
# files behind, hence no bytecode caches from this process either.
sys.dont_write_bytecode = True
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

# These need the sys.path entry above.
from bench.table import print_table  # noqa: E402
from policies.engine import CalendarSpec, Holiday, WeeklyInterval, add_business, business_between  # noqa: E402
from policies.engine.span_index import index_for  # noqa: E402

GOAL_RATIO = 2.0
YEAR = timedelta(days=365)
HOUR = timedelta(hours=1)

UK_HOLIDAYS_2026_2027 = (
    date(2026, 1, 1),
    date(2026, 4, 3),
    date(2026, 4, 6),
    date(2026, 5, 4),
    date(2026, 5, 25),
    date(2026, 8, 31),
    date(2026, 12, 25),
    date(2026, 12, 28),
    date(2027, 1, 1),
    date(2027, 3, 26),
    date(2027, 3, 29),
)


def calendars() -> dict[str, CalendarSpec]:
    """The calendars measured, by name."""
    holidays = (*map(Holiday, UK_HOLIDAYS_2026_2027), Holiday(date(2026, 12, 24), clock(12)))
    return {
        "office London + 12 holidays": CalendarSpec(
            "Europe/London", tuple(WeeklyInterval(day, clock(9), clock(17)) for day in range(5)), holidays
        ),
        "24/7 New York": CalendarSpec("America/New_York", tuple(WeeklyInterval(day, clock(0)) for day in range(7))),
        "nights 22-06 New York": CalendarSpec(
            "America/New_York", tuple(WeeklyInterval(day, clock(22), clock(6)) for day in range(5))
        ),
    }


@dataclass
class Figures:
    """What one (calendar, operation) measured, in microseconds per call."""

    calendar: str
    operation: str
    warm_hour_us: float
    warm_year_us: float
    cold_hour_us: list[float]
    cold_year_us: list[float]
    index_spans: int

    @property
    def ratio(self) -> float:
        """Warm year-ahead cost over warm hour-ahead cost."""
        return self.warm_year_us / self.warm_hour_us

    def as_json(self) -> dict[str, Any]:
        """The figures for --json."""
        return {
            "warm_hour_us": self.warm_hour_us,
            "warm_year_us": self.warm_year_us,
            "ratio": self.ratio,
            "cold_hour_us_median": statistics.median(self.cold_hour_us),
            "cold_year_us_median": statistics.median(self.cold_year_us),
            "cold_hour_us_max": max(self.cold_hour_us),
            "cold_year_us_max": max(self.cold_year_us),
            "index_spans": self.index_spans,
        }


Call = Callable[[], object]


def warm_us(calls: list[Call], rounds: int) -> float:
    """Median over `rounds` of the mean time per call, after one untimed pass that fills the cache."""
    for call in calls:
        call()
    means = []
    for _ in range(rounds):
        began = time.perf_counter()
        for call in calls:
            call()
        means.append((time.perf_counter() - began) / len(calls) * 1e6)
    return statistics.median(means)


def cold_us(calls: list[Call]) -> list[float]:
    """The time of each call made right after the engine's cache is emptied."""
    times = []
    for call in calls:
        index_for.cache_clear()
        began = time.perf_counter()
        call()
        times.append((time.perf_counter() - began) * 1e6)
    return times


def measure(name: str, spec: CalendarSpec, starts: list[datetime], args: argparse.Namespace) -> list[Figures]:
    """Both operations on one calendar, an hour and a year ahead, warm and cold."""
    # A year's business time from each start, so that the year-ahead due date lands a year later.
    year_of_business = [business_between(spec, start, start + YEAR) for start in starts]
    hour_adds: list[Call] = [lambda s=start: add_business(spec, s, HOUR) for start in starts]
    pairs = zip(starts, year_of_business, strict=True)
    year_adds: list[Call] = [lambda s=start, d=amount: add_business(spec, s, d) for start, amount in pairs]
    hour_betweens: list[Call] = [lambda s=start: business_between(spec, s, s + HOUR) for start in starts]
    year_betweens: list[Call] = [lambda s=start: business_between(spec, s, s + YEAR) for start in starts]
    figures = []
    for operation, hours, years in (
        ("add_business", hour_adds, year_adds),
        ("business_between", hour_betweens, year_betweens),
    ):
        warm_hour, warm_year = warm_us(hours, args.rounds), warm_us(years, args.rounds)
        spans = index_for(spec).spans_held  # as the warm calls left it, before the cold ones empty the cache
        figures.append(
            Figures(
                calendar=name,
                operation=operation,
                warm_hour_us=warm_hour,
                warm_year_us=warm_year,
                cold_hour_us=cold_us(hours[: args.cold]),
                cold_year_us=cold_us(years[: args.cold]),
                index_spans=spans,
            )
        )
    return figures


def print_report(results: list[Figures], args: argparse.Namespace) -> None:
    """The table of figures and what they mean."""
    print()
    print(
        f"Business-time benchmark: {args.starts} start instants over 2026, warm = median of {args.rounds} rounds "
        f"(mean per call), cold = first call after emptying the engine's cache ({args.cold} calls)"
    )
    print(f"{os.cpu_count()} CPUs, Python {platform.python_version()}, {platform.system()} {platform.release()}")
    print()
    header = (
        "calendar",
        "operation",
        "warm hour us",
        "warm year us",
        "year/hour",
        f"goal <= {GOAL_RATIO:g}",
        "warm calls/s hour",
        "warm calls/s year",
        "cold hour us p50/max",
        "cold year us p50/max",
        "cold year/hour",
    )
    rows = [
        (
            result.calendar,
            result.operation,
            f"{result.warm_hour_us:.1f}",
            f"{result.warm_year_us:.1f}",
            f"{result.ratio:.2f}",
            "met" if result.ratio <= GOAL_RATIO else "NOT met",
            f"{1e6 / result.warm_hour_us:,.0f}",
            f"{1e6 / result.warm_year_us:,.0f}",
            f"{statistics.median(result.cold_hour_us):,.0f}/{max(result.cold_hour_us):,.0f}",
            f"{statistics.median(result.cold_year_us):,.0f}/{max(result.cold_year_us):,.0f}",
            f"{statistics.median(result.cold_year_us) / statistics.median(result.cold_hour_us):.1f}",
        )
        for result in results
    ]
    print_table(header, rows)
    print()
    print("The goal is about warm calls. A cold call builds the calendar's index for the range it asks about")
    print("(8-week chunks), so a cold year-ahead call costs about a year of index building, once per calendar")
    print("and process; after that every call is a few bisects. Open spans each index held after the warm calls:")
    for result in results[::2]:
        print(f"  {result.calendar}: {result.index_spans} spans")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--starts", type=int, default=400, help="start instants per calendar (default 400)")
    parser.add_argument("--rounds", type=int, default=7, help="timed rounds for warm figures (default 7)")
    parser.add_argument("--cold", type=int, default=30, help="cold calls per figure (default 30)")
    parser.add_argument("--seed", type=int, default=2026, help="seed of the start instants (default 2026)")
    parser.add_argument("--json", type=Path, help="also write the figures as JSON to this file")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Measure every calendar, print the report; 0 unless the arguments are wrong."""
    args = parse_args(argv)
    randomness = random.Random(args.seed)
    year_start = datetime(2026, 1, 1, tzinfo=UTC)
    starts = [year_start + timedelta(seconds=randomness.randrange(365 * 86_400)) for _ in range(args.starts)]
    results = [figure for name, spec in calendars().items() for figure in measure(name, spec, starts, args)]
    print_report(results, args)
    if args.json:
        document = {
            "benchmark": "business_time",
            "config": {"starts": args.starts, "rounds": args.rounds, "cold": args.cold, "seed": args.seed},
            "goal_ratio": GOAL_RATIO,
            "figures": {f"{result.calendar} / {result.operation}": result.as_json() for result in results},
        }
        args.json.write_text(json.dumps(document, indent=2) + "\n")
        print(f"\nFigures written to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
