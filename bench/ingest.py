"""Ingest benchmark: signed webhook deliveries per second, next to a bare one-row insert on the same server.

For each stack (embedded: SQLite and no Redis; postgres: PostgreSQL and Redis) it migrates a fresh database,
creates a team and an API channel account, starts daphne as a separate process and drives it from this
process with keep-alive HTTP connections at a fixed concurrency:

1. `POST /webhooks/api/<account>/`: signed JSON messages from a pool of senders, so that some open tickets
   and some join open ones (the real ingest path: store, verify, parse, contact, ticket, message, event);
2. `POST /bench/bare-insert/<account>/` (bench/baseline.py): the same bodies, stored as one row and nothing
   else: the floor of what any endpoint on this server and database costs.

The two alternate in rounds on the same server and database. It prints deliveries/s of both, their ratio
against the goal, latencies and errors. It reports figures and never fails on them; it exits non-zero only
when a stack that should have been measured could not be.

    .venv/bin/python bench/ingest.py [--requests 2000] [--concurrency 8] [--json figures.json]
"""

import argparse
import contextlib
import http.client
import json
import math
import os
import platform
import random
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
# Run as `python bench/ingest.py`, so the project root is not on sys.path yet; the benchmark must leave no
# files behind outside bench/, hence no bytecode caches from this process either.
sys.dont_write_bytecode = True
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tickets.connectors.api import SIGNATURE_HEADER, sign  # noqa: E402 - needs the sys.path entry above

HOST = "127.0.0.1"
GOAL_RATIO = 0.4
PG_SERVER = "postgres://postgres@127.0.0.1:5432"
PG_BENCH_DB = "helpdesk_bench"
REDIS_URL = "redis://127.0.0.1:6379/8"
SENT_AT = "2026-11-23T09:30:00+00:00"

# Every external step is bounded, so the script always finishes by itself.
MANAGE_TIMEOUT_S = 180
SERVER_START_TIMEOUT_S = 60
SERVER_STOP_TIMEOUT_S = 10
REQUEST_TIMEOUT_S = 30
CONNECT_TIMEOUT_S = 3

# Settings variables of the project that an inherited environment could set; the benchmark sets its own.
_PROJECT_ENV_PREFIXES = ("DJANGO_", "DATABASE_", "REDIS_", "CELERY_", "HELPDESK_", "WHITENOISE_")


class NotMeasured(Exception):
    """A stack was skipped for a reason outside the project (its servers are not running)."""


@dataclass
class Phase:
    """The figures of one load run against one URL."""

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


# --- Environments and subprocesses -------------------------------------------------------------------------


def venv_bin(name: str) -> str:
    """An executable of the project's virtualenv, else the one beside this interpreter."""
    candidate = ROOT / ".venv" / "bin" / name
    if candidate.exists():
        return str(candidate)
    return str(Path(sys.executable).parent / name)


def stack_env(*, database_url: str, redis_url: str | None, secret: str) -> dict[str, str]:
    """The server's environment: production-like (no DEBUG, explicit hosts and key), only this stack's URLs."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(_PROJECT_ENV_PREFIXES)}
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "bench.settings",
            "DJANGO_DEBUG": "0",
            "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
            "DJANGO_ALLOWED_HOSTS": HOST,
            "DATABASE_URL": database_url,
            # Production default: a connection per request. Persistent connections would flatter both runs.
            "DATABASE_CONN_MAX_AGE": "0",
            "BENCH_ACCOUNT_SECRET": secret,
            # The project tree stays untouched: no __pycache__ written by the server or manage.py.
            "PYTHONDONTWRITEBYTECODE": "1",
        }
    )
    if redis_url:
        env["REDIS_URL"] = redis_url
    return env


def manage(args: list[str], env: dict[str, str]) -> str:
    """Run manage.py with `env`; its stdout, or RuntimeError with its output when it fails."""
    try:
        done = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=MANAGE_TIMEOUT_S,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise RuntimeError(f"manage.py {args[0]} took longer than {MANAGE_TIMEOUT_S}s") from exc
    if done.returncode != 0:
        raise RuntimeError(f"manage.py {args[0]} failed ({done.returncode}):\n{done.stdout}{done.stderr}")
    return done.stdout


def manage_json(code: str, env: dict[str, str]) -> Any:
    """Run `code` in `manage.py shell -c`; the JSON it printed on its last line."""
    out = manage(["shell", "-v0", "-c", code], env)
    lines = [line for line in out.splitlines() if line.strip()]
    if not lines:
        raise RuntimeError("manage.py shell printed nothing")
    return json.loads(lines[-1])


_CREATE_ACCOUNT = """
import json, os
from tickets.models import ChannelAccount, ChannelKind, Team
team = Team.objects.create(name="Bench team")
account = ChannelAccount.objects.create(
    name="bench-api", kind=ChannelKind.API, team=team, secret=os.environ["BENCH_ACCOUNT_SECRET"]
)
print(json.dumps({"account_id": account.pk}))
"""

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


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def port_answers(host: str, port: int) -> bool:
    """Whether something accepts TCP connections on host:port."""
    try:
        with socket.create_connection((host, port), timeout=CONNECT_TIMEOUT_S):
            return True
    except OSError:
        return False


def log_tail(path: Path, lines: int = 30) -> str:
    """The last lines of a log file, for error messages."""
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


@contextlib.contextmanager
def running_server(env: dict[str, str], log_path: Path) -> Iterator[int]:
    """Start daphne on a free port as a separate process, yield the port once it answers, always stop it."""
    port = free_port()
    with log_path.open("wb") as log:
        server = subprocess.Popen(
            [venv_bin("daphne"), "-b", HOST, "-p", str(port), "helpdesk.asgi:application"],
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + SERVER_START_TIMEOUT_S
        # daphne imports the application before it listens, so an answering port means Django is set up.
        while not port_answers(HOST, port):
            if server.poll() is not None:
                raise RuntimeError(f"daphne exited with {server.returncode}:\n{log_tail(log_path)}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"daphne did not answer within {SERVER_START_TIMEOUT_S}s:\n{log_tail(log_path)}")
            time.sleep(0.2)
        yield port
    finally:
        stop_process(server)


def stop_process(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM the process we started, then SIGKILL it if it does not exit in time."""
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=SERVER_STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=SERVER_STOP_TIMEOUT_S)


# --- Stacks ---------------------------------------------------------------------------------------------------


def postgres_recreate(database: str) -> None:
    """Drop and create `database` for a clean run; NotMeasured when PostgreSQL is not reachable."""
    try:
        import psycopg
    except ImportError as exc:
        raise NotMeasured("psycopg is not installed") from exc
    try:
        with psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True, connect_timeout=CONNECT_TIMEOUT_S) as conn:
            # FORCE: a server left over from an interrupted run must not keep the old database alive.
            conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{database}"')
    except psycopg.OperationalError as exc:
        raise NotMeasured(f"PostgreSQL at {PG_SERVER} is not reachable: {str(exc).strip()}") from exc


def postgres_drop(database: str) -> None:
    """Drop the benchmark database; a failure is only reported, the figures are already printed."""
    try:
        import psycopg

        with psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True, connect_timeout=CONNECT_TIMEOUT_S) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
    except Exception as exc:
        print(f"  (could not drop database {database}: {exc})", file=sys.stderr)


def redis_flush(url: str, *, required: bool) -> None:
    """Empty the benchmark's own Redis database (queued tasks, layer keys); NotMeasured when unreachable."""
    try:
        import redis
    except ImportError as exc:
        if required:
            raise NotMeasured("the redis client is not installed") from exc
        return
    try:
        client = redis.Redis.from_url(url, socket_timeout=CONNECT_TIMEOUT_S, socket_connect_timeout=CONNECT_TIMEOUT_S)
        client.flushdb()
        client.close()
    except redis.RedisError as exc:
        if required:
            raise NotMeasured(f"Redis at {url} is not reachable: {exc}") from exc
        print(f"  (could not empty Redis {url}: {exc})", file=sys.stderr)


# --- Load generation --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Payload:
    """One request body and its signature, prepared before the clock starts."""

    body: bytes
    signature: str


def make_payloads(*, label: str, run_id: str, count: int, senders: int, secret: str, seed: int) -> list[Payload]:
    """`count` signed API messages with unique ids from `senders` senders, all of the same shape and size."""
    rng = random.Random(seed)
    payloads = []
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
        payloads.append(Payload(body=body, signature=sign(secret, body)))
    return payloads


def run_load(*, name: str, port: int, path: str, payloads: list[Payload], concurrency: int, limit_s: float) -> Phase:
    """POST every payload to `path` from `concurrency` keep-alive connections; the figures of the run.

    Connections are opened before the clock starts; a request that has not started when `limit_s` runs out
    is not sent (and not counted), so a stuck server cannot hold the benchmark.
    """
    phase = Phase(name=name, body_bytes=sum(len(p.body) for p in payloads) / max(1, len(payloads)))
    next_index = iter(range(len(payloads)))
    take_lock = threading.Lock()
    barrier = threading.Barrier(concurrency + 1)
    results: list[list[tuple[float, str, bytes]]] = [[] for _ in range(concurrency)]
    deadline = [math.inf]  # set when the clock starts

    def take() -> int | None:
        with take_lock:
            return next(next_index, None)

    def worker(slot: int) -> None:
        mine = results[slot]
        conn = http.client.HTTPConnection(HOST, port, timeout=REQUEST_TIMEOUT_S)
        with contextlib.suppress(OSError):
            conn.connect()  # outside the timed window; a failure shows up on the first request
        try:
            barrier.wait(timeout=REQUEST_TIMEOUT_S)
        except threading.BrokenBarrierError:
            conn.close()
            return
        while time.perf_counter() < deadline[0] and (index := take()) is not None:
            payload = payloads[index]
            headers = {
                "Content-Type": "application/json",
                SIGNATURE_HEADER: payload.signature,
            }
            started = time.perf_counter()
            try:
                conn.request("POST", path, body=payload.body, headers=headers)
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


# --- One stack ------------------------------------------------------------------------------------------------


def measure_stack(*, stack: str, args: argparse.Namespace, workdir: Path) -> StackResult:
    """Prepare the stack's database, start its server, drive both endpoints; its figures."""
    result = StackResult(stack=stack)
    secret = secrets.token_hex(32)
    run_id = secrets.token_hex(4)
    if stack == "embedded":
        database_url = f"sqlite:///{workdir / 'embedded.sqlite3'}"
        redis_url = None
    else:
        database_url = f"{PG_SERVER}/{PG_BENCH_DB}"
        redis_url = REDIS_URL
        # Both servers are checked before anything is created, so an absent one skips the row cleanly.
        redis_flush(redis_url, required=True)
        postgres_recreate(PG_BENCH_DB)
    env = stack_env(database_url=database_url, redis_url=redis_url, secret=secret)
    try:
        step(f"{stack}: migrating a fresh database")
        manage(["migrate", "--noinput", "-v0"], env)
        account_id = int(manage_json(_CREATE_ACCOUNT, env)["account_id"])
        common = {"run_id": run_id, "senders": args.senders, "secret": secret}
        warm_ours = make_payloads(label="warm", count=args.warmup, seed=1, **common)
        warm_bare = make_payloads(label="warb", count=args.warmup, seed=2, **common)
        ours_payloads = make_payloads(label="ours", count=args.requests, seed=3, **common)
        bare_payloads = make_payloads(label="bare", count=args.requests, seed=3, **common)
        ours_path = f"/webhooks/api/{account_id}/"
        bare_path = f"/bench/bare-insert/{account_id}/"
        # Each round gets its share of the time limit, so the whole run stays bounded by it per endpoint.
        load = {"concurrency": args.concurrency, "limit_s": args.phase_timeout / args.rounds}

        step(f"{stack}: starting daphne")
        with running_server(env, workdir / f"{stack}-server.log") as port:
            step(f"{stack}: warming up on port {port} ({args.warmup} requests per endpoint)")
            # Warm-up: first-request setup (URL resolver, connection to Redis) stays out of the figures.
            for warm_name, warm_path, warm_payloads in (
                ("warm-ours", ours_path, warm_ours),
                ("warm-bare", bare_path, warm_bare),
            ):
                warm = run_load(name=warm_name, port=port, path=warm_path, payloads=warm_payloads, **load)
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
                result.ours.add(run_load(name="ours", port=port, path=ours_path, payloads=ours_payloads[part], **load))
                result.bare.add(run_load(name="bare", port=port, path=bare_path, payloads=bare_payloads[part], **load))
        result.counts = manage_json(_COUNT_ROWS, env)
        result.measured = True
    finally:
        if stack == "postgres":
            postgres_drop(PG_BENCH_DB)
            redis_flush(REDIS_URL, required=False)
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
    widths = [max(len(header[col]), *(len(row[col]) for row in rows)) for col in range(len(header))]
    print(" | ".join(cell.ljust(widths[col]) for col, cell in enumerate(header)))
    print("-+-".join("-" * width for width in widths))
    for row in rows:
        print(" | ".join(cell.ljust(widths[col]) for col, cell in enumerate(row)).rstrip(" |"))
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
    unknown = set(args.stacks) - {"embedded", "postgres"}
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
