"""Ingest benchmark: signed webhook deliveries per second, next to a bare one-row insert on the same server.

For each stack (embedded: SQLite and no Redis; postgres: PostgreSQL and Redis) it migrates a fresh database,
creates a team and an API channel account, starts daphne as a separate process and drives it from this
process with keep-alive HTTP connections at a fixed concurrency:

1. `POST /webhooks/api/<account>/`: signed JSON messages from a pool of senders, so that some open tickets
   and some join open ones (the real ingest path: store, verify, parse, contact, ticket, message, event,
   and the SLA policy match and clocks: two policies, the second of which applies, on office hours);
2. `POST /bench/bare-insert/<account>/` (bench/baseline.py): the same bodies, stored as one row and nothing
   else: the floor of what any endpoint on this server and database costs.

The two alternate in rounds on the same server and database. It prints deliveries/s of both, their ratio
against the goal, latencies and errors. It reports figures and never fails on them; it exits non-zero only
when a stack that should have been measured could not be.

Preparing the stacks and running the server is bench/stack.py; sending the load and its figures is
bench/http_load.py. This module holds what is particular to ingest: the messages, the two endpoints, the
goal, the report.

    .venv/bin/python bench/ingest.py [--requests 2000] [--concurrency 8] [--json figures.json]
"""

import argparse
import json
import math
import os
import platform
import random
import secrets
import shutil
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
# Run as `python bench/ingest.py`, so the project root is not on sys.path yet; the benchmark must leave no
# files behind outside bench/, hence no bytecode caches from this process either.
sys.dont_write_bytecode = True
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

# These need the sys.path entry above.
from bench.http_load import Phase, Request, run_load  # noqa: E402
from bench.stack import (  # noqa: E402
    HOST,
    STACKS,
    NotMeasured,
    create_api_account,
    fresh_stack,
    manage_json,
    migrate,
    running_server,
)
from bench.table import print_table  # noqa: E402
from tickets.connectors.api import SIGNATURE_HEADER, sign  # noqa: E402

GOAL_RATIO = 0.4
SENT_AT = "2026-11-23T09:30:00+00:00"

_COUNT_ROWS = """
import json
from django.db.models import Count
from tickets.models import Contact, InboundDelivery, Message, Ticket
states = InboundDelivery.objects.values_list("state").annotate(n=Count("id")).order_by()
print(json.dumps({
    "deliveries_by_state": dict(states),
    "messages": Message.objects.count(),
    "tickets": Ticket.objects.count(),
    "contacts": Contact.objects.count(),
}))
"""


@dataclass
class StackResult:
    """What one stack measured, or why it was not measured."""

    stack: str
    measured: bool = False
    reason: str = ""
    skipped: bool = False
    ours: Phase | None = None
    bare: Phase | None = None
    counts: dict[str, Any] = field(default_factory=dict)

    @property
    def ratio(self) -> float:
        """Our deliveries/s over bare inserts/s."""
        if self.ours is None or self.bare is None or self.bare.rate == 0:
            return math.nan
        return self.ours.rate / self.bare.rate

    def as_json(self) -> dict[str, Any]:
        """The figures of the stack as plain JSON values."""
        if not self.measured:
            return {"measured": False, "reason": self.reason}
        assert self.ours is not None and self.bare is not None
        return {
            "measured": True,
            "ours": self.ours.as_json(),
            "bare": self.bare.as_json(),
            "ratio": round(self.ratio, 3),
            "goal_ratio": GOAL_RATIO,
            "goal_met": self.ratio >= GOAL_RATIO,
            "database_counts": self.counts,
        }


# --- The deliveries -----------------------------------------------------------------------------------------------


def signed_deliveries(
    *, path: str, label: str, run_id: str, count: int, senders: int, secret: str, seed: int
) -> list[Request]:
    """`count` signed API messages to `path` with unique ids from `senders` senders, all of one shape and size."""
    rng = random.Random(seed)
    requests = []
    for i in range(count):
        sender = rng.randrange(senders)
        order = rng.randrange(100_000, 999_999)
        data = {
            # Same length for every label, so the real and the bare runs post bodies of the same size.
            "message_id": f"{label[:4]:<4}-{run_id}-{i:07d}",
            "sender_id": f"bench-sender-{sender:05d}",
            "sender_name": f"Bench Customer {sender:05d}",
            "text": f"Hello, my order #{order} has not arrived yet and the tracking page shows no update. "
            f"Could you please check what happened? Message {i:07d}.",
            "sent_at": SENT_AT,
        }
        body = json.dumps(data, separators=(",", ":")).encode()
        headers = {"Content-Type": "application/json", SIGNATURE_HEADER: sign(secret, body)}
        requests.append(Request(method="POST", path=path, body=body, headers=headers))
    return requests


# --- One stack ------------------------------------------------------------------------------------------------


def measure_stack(*, stack: str, args: argparse.Namespace, workdir: Path) -> StackResult:
    """Prepare the stack's database, start its server, drive both endpoints; its figures."""
    result = StackResult(stack=stack)
    secret = secrets.token_hex(32)
    run_id = secrets.token_hex(4)
    with fresh_stack(stack, workdir=workdir) as env:
        step(f"{stack}: migrating a fresh database")
        migrate(env)
        account_id = create_api_account(env, secret=secret)
        ours_path = f"/webhooks/api/{account_id}/"
        bare_path = f"/bench/bare-insert/{account_id}/"
        common = {"run_id": run_id, "senders": args.senders, "secret": secret}
        warm_ours = signed_deliveries(path=ours_path, label="warm", count=args.warmup, seed=1, **common)
        warm_bare = signed_deliveries(path=bare_path, label="warb", count=args.warmup, seed=2, **common)
        ours_requests = signed_deliveries(path=ours_path, label="ours", count=args.requests, seed=3, **common)
        bare_requests = signed_deliveries(path=bare_path, label="bare", count=args.requests, seed=3, **common)
        # Each round gets its share of the time limit, so the whole run stays bounded by it per endpoint.
        load = {"concurrency": args.concurrency, "limit_s": args.phase_timeout / args.rounds}

        step(f"{stack}: starting daphne")
        with running_server(env, workdir / f"{stack}-server.log") as port:
            step(f"{stack}: warming up on port {port} ({args.warmup} requests per endpoint)")
            # Warm-up: first-request setup (URL resolver, connection to Redis) stays out of the figures.
            for warm_name, warm_path, warm_requests in (
                ("warm-ours", ours_path, warm_ours),
                ("warm-bare", bare_path, warm_bare),
            ):
                warm = run_load(name=warm_name, host=HOST, port=port, requests=warm_requests, **load)
                if warm.ok == 0 and warm.attempted:
                    raise RuntimeError(f"warm-up of {warm_path} failed: {warm.sample_error}")
            step(
                f"{stack}: {args.requests} signed deliveries to {ours_path} and {args.requests} bare inserts "
                f"to {bare_path}, alternating in {args.rounds} rounds"
            )
            result.ours, result.bare = Phase(name="ours"), Phase(name="bare")
            # Alternating rounds: other load on the machine, or a slowly growing table, then weighs on both
            # endpoints alike instead of on whichever ran second, which keeps the ratio steady between runs.
            for chunk in range(args.rounds):
                part = slice(chunk * args.requests // args.rounds, (chunk + 1) * args.requests // args.rounds)
                result.ours.add(run_load(name="ours", host=HOST, port=port, requests=ours_requests[part], **load))
                result.bare.add(run_load(name="bare", host=HOST, port=port, requests=bare_requests[part], **load))
        result.counts = manage_json(_COUNT_ROWS, env)
        result.measured = True
    return result


def step(message: str) -> None:
    """A progress line on stderr, so stdout holds only the figures."""
    print(f"- {message}", file=sys.stderr, flush=True)


# --- Report ---------------------------------------------------------------------------------------------------


def fmt(value: float, digits: int = 1) -> str:
    """A number for the table, or 'n/a'."""
    return "n/a" if math.isnan(value) else f"{value:.{digits}f}"


def print_report(results: list[StackResult], args: argparse.Namespace) -> None:
    """The table of figures, then per-stack details (errors, rows written, body size)."""
    print()
    print(
        f"Ingest benchmark: {args.requests} requests per endpoint, concurrency {args.concurrency}, "
        f"{args.senders} senders, {args.warmup} warm-up requests, {args.rounds} alternating rounds; "
        "daphne, DEBUG off, DATABASE_CONN_MAX_AGE=0"
    )
    print(
        f"Load generator and server share this machine: {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}, {platform.system()} {platform.release()}"
    )
    print()
    header = (
        "stack",
        "ours deliveries/s",
        "bare insert/s",
        "ratio",
        f"goal >= {GOAL_RATIO}",
        "p50 ours ms",
        "p99 ours ms",
        "p50 bare ms",
        "p99 bare ms",
        "errors ours/bare",
    )
    rows: list[tuple[str, ...]] = []
    for result in results:
        if not result.measured:
            rows.append((result.stack, "not measured", *([""] * (len(header) - 2))))
            continue
        assert result.ours is not None and result.bare is not None
        rows.append(
            (
                result.stack,
                fmt(result.ours.rate),
                fmt(result.bare.rate),
                fmt(result.ratio, 2),
                "met" if result.ratio >= GOAL_RATIO else "NOT met",
                fmt(result.ours.percentile_ms(0.50)),
                fmt(result.ours.percentile_ms(0.99)),
                fmt(result.bare.percentile_ms(0.50)),
                fmt(result.bare.percentile_ms(0.99)),
                f"{result.ours.errors}/{result.bare.errors}",
            )
        )
    print_table(header, rows)
    print()
    for result in results:
        if not result.measured:
            print(f"{result.stack}: not measured: {result.reason}")
            continue
        assert result.ours is not None and result.bare is not None
        for phase in (result.ours, result.bare):
            line = (
                f"{result.stack} {phase.name}: {phase.ok}/{phase.attempted} answered 200 in {phase.elapsed_s:.2f}s, "
                f"mean body {phase.body_bytes:.0f} bytes, statuses {dict(phase.statuses)}"
            )
            if phase.attempted < args.requests:
                line += f"; only {phase.attempted} of {args.requests} sent before the {args.phase_timeout:.0f}s limit"
            print(line)
            if phase.sample_error:
                print(f"  first error: {phase.sample_error}")
        print(f"{result.stack} rows afterwards (warm-up included): {json.dumps(result.counts, sort_keys=True)}")


def write_json(path: Path, results: list[StackResult], args: argparse.Namespace) -> None:
    """The figures as JSON at `path`."""
    document = {
        "benchmark": "ingest",
        "config": {
            "requests": args.requests,
            "concurrency": args.concurrency,
            "warmup": args.warmup,
            "senders": args.senders,
            "rounds": args.rounds,
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
        },
        "goal_ratio": GOAL_RATIO,
        "stacks": {result.stack: result.as_json() for result in results},
    }
    path.write_text(json.dumps(document, indent=2) + "\n")


# --- Main -------------------------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=2000, help="requests per endpoint (default 2000)")
    parser.add_argument("--concurrency", type=int, default=8, help="parallel keep-alive connections (default 8)")
    parser.add_argument("--warmup", type=int, default=50, help="warm-up requests per endpoint (default 50)")
    parser.add_argument(
        "--rounds", type=int, default=8, help="alternating rounds the requests are split into (default 8)"
    )
    parser.add_argument("--senders", type=int, default=200, help="distinct senders of the messages (default 200)")
    parser.add_argument(
        "--phase-timeout",
        type=float,
        default=120.0,
        help="seconds of sending per endpoint, shared by its rounds (default 120)",
    )
    parser.add_argument(
        "--stacks", default="embedded,postgres", help="comma-separated stacks to run (default embedded,postgres)"
    )
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write the figures as JSON to PATH")
    args = parser.parse_args(argv)
    args.stacks = [name.strip() for name in args.stacks.split(",") if name.strip()]
    unknown = set(args.stacks) - set(STACKS)
    if unknown:
        parser.error(f"unknown stacks: {', '.join(sorted(unknown))}")
    if min(args.requests, args.concurrency, args.senders, args.rounds) < 1 or args.warmup < 0:
        parser.error("--requests, --concurrency, --senders and --rounds must be positive, --warmup not negative")
    args.rounds = min(args.rounds, args.requests)
    return args


def main(argv: list[str] | None = None) -> int:
    """Measure every stack; 0 unless a stack whose servers are up could not be measured."""
    args = parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="helpdesk-bench-"))
    results: list[StackResult] = []
    broken = False
    try:
        for stack in args.stacks:
            try:
                results.append(measure_stack(stack=stack, args=args, workdir=workdir))
            except NotMeasured as exc:
                reason = " ".join(str(exc).split())  # driver messages span lines; the report keeps one
                step(f"{stack}: not measured: {reason}")
                results.append(StackResult(stack=stack, reason=reason, skipped=True))
            except Exception as exc:
                # One broken stack must not hide the figures of the other; the exit status reports it. The
                # full message (a server log tail) goes to stderr, the report gets its first line.
                step(f"{stack}: failed: {exc}")
                first_line = (str(exc).splitlines() or [type(exc).__name__])[0]
                results.append(StackResult(stack=stack, reason=f"failed: {first_line}"))
                broken = True
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    print_report(results, args)
    if args.json:
        write_json(args.json, results, args)
        print(f"\nFigures written to {args.json}")
    return 1 if broken else 0


if __name__ == "__main__":
    sys.exit(main())
