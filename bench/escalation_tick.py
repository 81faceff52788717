"""Escalation tick benchmark: the cost of 1,000 due clocks among 10,000 open ones and among 1,000,000.

On PostgreSQL (a database of its own) it seeds N open tickets, each with a running first-response clock
(bulk INSERT ... SELECT generate_series), one SLA policy and one escalation policy whose only level fires at
the breach and sets the priority to Urgent (an action that matches the ticket again, as real ones do). The
clocks not made due have their next moment weeks ahead. For each size, growing the same database:

1. 1,000 clocks are made due (moments in the past minute); the due-selection query's plan is printed, then
   `policies.tasks.tick_once()` runs in this process until all 1,000 levels have fired. The goal is that the
   tick costs the same whatever the number of open clocks: largest size / smallest size <= 1.5.
2. After the largest size: a real Celery worker (concurrency 2) and Celery beat with the DatabaseScheduler
   (the migration-made every-second schedule) run on this database and Redis; 1,000 clocks come due a few
   seconds ahead, and lateness = recorded_at - moment of each firing is measured. Goal: p99 <= 2 s. Since a
   batch commits as a whole, it also prints when each firing was first seen committed, less its moment.

It prints progress on stderr, the figures and one table on stdout, and never fails on a goal; it exits
non-zero only when something could not be measured.

    .venv/bin/python bench/escalation_tick.py [--sizes 10000 1000000] [--due 1000] [--spread 0]
"""

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
import traceback
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
# Run as `python bench/escalation_tick.py`, so the project root is not on sys.path yet; the benchmark leaves
# no files behind, hence no bytecode caches from this process either.
sys.dont_write_bytecode = True
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

# These need the sys.path entry above.
from bench.clock_seed import clocks_make_due, policies_create, seed, step  # noqa: E402
from bench.stack import (  # noqa: E402
    PG_SERVER,
    REDIS_URL,
    NotMeasured,
    migrate,
    postgres_drop,
    postgres_recreate,
    running_celery,
    stack_env,
)
from bench.table import print_table  # noqa: E402

DATABASE = "helpdesk_bench_escalation"
GOAL_RATIO = 1.5
GOAL_P99_S = 2.0
GOAL_SEED_S = 300.0  # "a few minutes at most" for the largest size
STATEMENT_TIMEOUT_S = 600
WARMUP_DUE = 20
POLL_S = 0.25


@dataclass
class SizeResult:
    """What one size measured."""

    size: int
    seed_s: float  # cumulative: the time to seed this many clocks from empty
    tick_s: float = 0.0
    fired: int = 0
    plan: str = ""


def percentile(values: list[float], share: float) -> float:
    """Nearest-rank percentile of `values`."""
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, round(share * len(ordered)) - 1))]


# --- Database -------------------------------------------------------------------------------------------------


def django_on(env: dict[str, str]) -> None:
    """Set Django up in this process on the benchmark's database, as the servers see it."""
    os.environ.update(env)
    import django

    django.setup()
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(f"SET statement_timeout = '{STATEMENT_TIMEOUT_S}s'")


def due_plan() -> str:
    """EXPLAIN of the tick's ticket-locking query (the due selection in it), as it stands now."""
    from django.db import transaction
    from django.utils import timezone

    from policies.services.tick import BATCH, due_tickets

    # FOR UPDATE needs a transaction even to be explained.
    with transaction.atomic():
        return due_tickets(now=timezone.now(), limit=BATCH).explain()


def firings() -> int:
    """EscalationFiring rows so far."""
    from policies.models import EscalationFiring

    return EscalationFiring.objects.count()


# --- In-process tick ------------------------------------------------------------------------------------------


def measure_tick(result: SizeResult, *, due: int, timeout: float) -> None:
    """Make `due` clocks due, EXPLAIN the selection, then time tick_once() until they have all fired."""
    from django.utils import timezone

    from policies.tasks import tick_once

    # Warm-up: a few firings first, so that imports, the rule book and the first connection stay out.
    clocks_make_due(count=WARMUP_DUE, base=timezone.now() - timedelta(minutes=2), gap=timedelta(milliseconds=10))
    tick_once()
    clocks_make_due(count=due, base=timezone.now() - timedelta(seconds=60), gap=timedelta(seconds=50) / due)
    result.plan = due_plan()
    before = firings()
    step(f"{result.size:,} open clocks: {due:,} due, ticking")
    deadline = time.monotonic() + timeout
    while True:
        began = time.perf_counter()
        tick_once()
        result.tick_s += time.perf_counter() - began
        result.fired = firings() - before
        if result.fired >= due or time.monotonic() > deadline:
            break
    step(f"{result.size:,} open clocks: {result.fired:,} fired in {result.tick_s:.2f} s")


# --- Beat and a worker ----------------------------------------------------------------------------------------


@dataclass
class Lateness:
    """Each firing's lateness under beat and a worker, in seconds."""

    recorded: list[float]  # recorded_at - moment: the insert, inside the tick's transaction
    visible: list[float]  # first seen committed (polled every POLL_S) - moment: what browsers and emails wait for


def measure_lateness(*, env: dict[str, str], args: argparse.Namespace, workdir: Path) -> Lateness:
    """Run beat and a worker; make `args.due` clocks come due ahead; the lateness of their firings."""
    from django.utils import timezone

    from policies.models import EscalationFiring

    step(f"starting a Celery worker (concurrency 2) and beat on queue {env['CELERY_TASK_DEFAULT_QUEUE']}")
    with running_celery(env, workdir, name=f"bench-tick-{os.getpid()}", concurrency=2) as processes:
        last_id = EscalationFiring.objects.order_by("-id").values_list("id", flat=True).first() or 0
        base = timezone.now() + timedelta(seconds=args.lead)
        clocks_make_due(count=args.due, base=base, gap=timedelta(seconds=args.spread) / args.due)
        step(f"{args.due:,} clocks due from {args.lead:g} s ahead over {args.spread:g} s; waiting for the firings")
        fresh = EscalationFiring.objects.filter(id__gt=last_id)
        visible: dict[int, float] = {}
        deadline = time.monotonic() + args.lead + args.spread + args.wait
        while len(visible) < args.due and time.monotonic() < deadline:
            if any(process.poll() is not None for process in processes):
                raise RuntimeError("the Celery worker or beat exited")
            polled = timezone.now()
            for firing_id, moment in fresh.values_list("id", "moment"):
                visible.setdefault(firing_id, (polled - moment).total_seconds())
            time.sleep(POLL_S)
        time.sleep(2)  # two more ticks: a level fired twice would show by now
        recorded = [(at - moment).total_seconds() for at, moment in fresh.values_list("recorded_at", "moment")]
        return Lateness(recorded=recorded, visible=list(visible.values()))


def redis_client() -> Any:
    """A client of the benchmark's Redis database, which other benchmarks and tests share: never flushed."""
    import redis

    return redis.Redis.from_url(REDIS_URL, socket_timeout=3, socket_connect_timeout=3)


def redis_forget(queue: str) -> None:
    """Drop this run's keys: its queue, the queue's bindings and the channel layer's keys (prefixed with it)."""
    client = redis_client()
    try:
        for key in client.scan_iter(match=f"*{queue}*"):
            client.delete(key)
    except Exception as exc:
        print(f"  (could not clean Redis {REDIS_URL}: {exc})", file=sys.stderr)
    finally:
        client.close()


# --- Report ---------------------------------------------------------------------------------------------------


def print_report(results: list[SizeResult], lateness: Lateness | None, args: argparse.Namespace) -> None:
    """The plans, the lateness figures and the table."""
    sizes = ", ".join(f"{result.size:,}" for result in results)
    print(f"\nEscalation tick benchmark: {args.due:,} due clocks among {sizes} open ones, {os.cpu_count()} CPUs")
    for result in results:
        print(f"\nDue selection at {result.size:,} open clocks (EXPLAIN of the tick's ticket-locking query):")
        print("\n".join(f"    {line}" for line in result.plan.splitlines()))
    rows: list[tuple[str, ...]] = []
    for result in results:
        at = f"at {result.size:,} open"
        rows.append(
            (f"seed {result.size:,} open clocks, from empty (s)", f"{result.seed_s:.1f}", f"<= {GOAL_SEED_S:g}")
        )
        rows.append((f"tick_once {args.due:,} due {at} (s)", f"{result.tick_s:.2f}", ""))
        rows.append((f"  per due ticket {at} (ms)", f"{result.tick_s / max(result.fired, 1) * 1000:.1f}", ""))
        rows.append((f"firings {at}", f"{result.fired:,}", f"= {args.due:,}"))
        rows.append((f"partial index used {at}", "yes" if "sla_clock_next_check" in result.plan else "no", "yes"))
    if len(results) > 1:
        ratio = results[-1].tick_s / results[0].tick_s
        rows.append((f"tick ratio {results[-1].size:,} / {results[0].size:,}", f"{ratio:.2f}", f"<= {GOAL_RATIO:g}"))
    if lateness is not None:
        rows.append(("firings under beat + worker", f"{len(lateness.recorded):,}", f"= {args.due:,}"))
        print(
            f"\nLateness under beat + worker, {args.due:,} moments over {args.spread:g} s, {results[-1].size:,} open:"
        )
    for name, values, goal in (
        ("recorded_at - moment", lateness.recorded if lateness else [], f"<= {GOAL_P99_S:g}"),
        ("committed (seen) - moment", lateness.visible if lateness else [], ""),
    ):
        if values:
            p50, p99 = percentile(values, 0.50), percentile(values, 0.99)
            print(
                f"  {name}: min {min(values):.3f} s, p50 {p50:.3f} s, p99 {p99:.3f} s, max {max(values):.3f} s, "
                f"mean {statistics.fmean(values):.3f} s"
            )
            rows.append((f"lateness {name} p50 (s)", f"{p50:.3f}", ""))
            rows.append((f"lateness {name} p99 (s)", f"{p99:.3f}", goal))
    print()
    print_table(("measure", "value", "goal", "met"), [(*row, met(*row[1:])) for row in rows])


def met(value: str, goal: str) -> str:
    """'met' or 'NOT met' for a value against a goal of the table ('<= 2', '= 1,000', 'yes'); '' for none."""
    if not goal:
        return ""
    if goal.startswith("<= "):
        ok = float(value) <= float(goal[3:])
    else:
        ok = value == goal.removeprefix("= ")
    return "met" if ok else "NOT met"


# --- Main -------------------------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--sizes", type=int, nargs="+", default=[10_000, 1_000_000], help="open clocks (default 10000 1000000)"
    )
    parser.add_argument("--due", type=int, default=1000, help="clocks made due per measurement (default 1000)")
    parser.add_argument("--tick-timeout", type=float, default=300.0, help="seconds of ticking per size (default 300)")
    parser.add_argument(
        "--lead", type=float, default=5.0, help="seconds ahead the beat run's moments start (default 5)"
    )
    parser.add_argument(
        "--spread", type=float, default=0.0, help="seconds the beat run's moments spread over (default 0: together)"
    )
    parser.add_argument("--wait", type=float, default=120.0, help="seconds to wait for the beat run (default 120)")
    parser.add_argument("--no-beat", action="store_true", help="skip the beat + worker lateness run")
    parser.add_argument("--keep", action="store_true", help=f"keep the database {DATABASE} afterwards")
    args = parser.parse_args(argv)
    args.sizes = sorted(set(args.sizes))
    # Two measurements per size and one beat run, each on clocks never made due before.
    if args.due < 1 or args.sizes[0] < 3 * (args.due + WARMUP_DUE):
        parser.error(f"--due must be positive and every size at least 3 * (due + {WARMUP_DUE})")
    return args


def main(argv: list[str] | None = None) -> int:
    """Seed, tick, run beat and a worker, report; 0 unless something could not be measured."""
    args = parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="helpdesk-bench-tick-"))
    queue = f"bench-escalation-{os.getpid()}"
    env = stack_env(database_url=f"{PG_SERVER}/{DATABASE}", redis_url=REDIS_URL)
    # A queue and channel prefix of our own: other benchmarks and tests share this Redis database.
    env.update(CELERY_TASK_DEFAULT_QUEUE=queue, HELPDESK_CHANNEL_PREFIX=queue)
    results: list[SizeResult] = []
    lateness: Lateness | None = None
    status = 0
    try:
        redis_client().ping()
        postgres_recreate(DATABASE)
        step(f"migrating a fresh database {DATABASE}")
        migrate(env)
        django_on(env)
        ids = policies_create()
        seeded, seed_s = 0, 0.0
        for size in args.sizes:
            began = time.perf_counter()
            seed(start=seeded, end=size, ids=ids)
            seeded, seed_s = size, seed_s + time.perf_counter() - began
            result = SizeResult(size=size, seed_s=seed_s)
            results.append(result)
            measure_tick(result, due=args.due, timeout=args.tick_timeout)
        if not args.no_beat:
            lateness = measure_lateness(env=env, args=args, workdir=workdir)
    except NotMeasured as exc:
        step(f"not measured: {' '.join(str(exc).split())}")
        status = 1
    except Exception as exc:
        step(f"failed: {exc}")
        traceback.print_exc()
        status = 1
    finally:
        if "django" in sys.modules:
            from django.db import connections

            connections.close_all()
        if not args.keep:
            postgres_drop(DATABASE)
        redis_forget(queue)
        shutil.rmtree(workdir, ignore_errors=True)
    if results:
        print_report(results, lateness, args)
    return status


if __name__ == "__main__":
    sys.exit(main())
