"""The stacks a benchmark runs the helpdesk on, and the server process it measures.

Two stacks: `embedded` (SQLite in a work directory, no Redis) and `postgres` (PostgreSQL and Redis on this
machine). For either, a benchmark gets a fresh migrated database, an environment for the server that carries
only this stack's URLs, an API channel account to post to, and daphne started as a separate process on a free
port, or a Celery worker and beat on it. Nothing here knows what a benchmark sends; that is the caller's business.
"""

import contextlib
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
STACKS = ("embedded", "postgres")
PG_SERVER = "postgres://postgres@127.0.0.1:5432"
PG_BENCH_DB = "helpdesk_bench"
REDIS_URL = "redis://127.0.0.1:6379/8"

# Every external step is bounded, so a benchmark always finishes by itself.
MANAGE_TIMEOUT_S = 180
SERVER_START_TIMEOUT_S = 60
SERVER_STOP_TIMEOUT_S = 10
CONNECT_TIMEOUT_S = 3

# Settings variables of the project that an inherited environment could set; the benchmark sets its own.
_PROJECT_ENV_PREFIXES = ("DJANGO_", "DATABASE_", "REDIS_", "CELERY_", "HELPDESK_", "WHITENOISE_")


class NotMeasured(Exception):
    """A stack was skipped for a reason outside the project (its servers are not running)."""


# --- Environments and manage.py -------------------------------------------------------------------------------


def venv_bin(name: str) -> str:
    """An executable of the project's virtualenv, else the one beside this interpreter."""
    candidate = ROOT / ".venv" / "bin" / name
    if candidate.exists():
        return str(candidate)
    return str(Path(sys.executable).parent / name)


def stack_env(*, database_url: str, redis_url: str | None, settings_module: str = "bench.settings") -> dict[str, str]:
    """The server's environment: production-like (no DEBUG, explicit hosts and key), only this stack's URLs."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(_PROJECT_ENV_PREFIXES)}
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": settings_module,
            "DJANGO_DEBUG": "0",
            "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
            "DJANGO_ALLOWED_HOSTS": HOST,
            "DATABASE_URL": database_url,
            # Production default: a connection per request. Persistent connections would flatter every run.
            "DATABASE_CONN_MAX_AGE": "0",
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


def migrate(env: dict[str, str]) -> None:
    """Apply every migration to the stack's database."""
    manage(["migrate", "--noinput", "-v0"], env)


_CREATE_API_ACCOUNT = """
import json, os
from datetime import time, timedelta
from policies.models import BusinessCalendar, OpeningInterval, SlaPolicy, SlaTarget, TargetKind
from tickets.models import ChannelAccount, ChannelKind, Priority, Team
team = Team.objects.create(name="Bench team")
account = ChannelAccount.objects.create(
    name="bench-api", kind=ChannelKind.API, team=team, secret=os.environ["BENCH_ACCOUNT_SECRET"]
)
# As a real helpdesk: an urgent-only policy that does not match, then office hours that do.
office = BusinessCalendar.objects.create(name="Office", time_zone="Europe/London")
for weekday in range(5):
    OpeningInterval.objects.create(calendar=office, weekday=weekday, start=time(9), end=time(17))
urgent = SlaPolicy.objects.create(name="Urgent", position=1, priorities=[Priority.URGENT])
standard = SlaPolicy.objects.create(name="Office hours", position=2, calendar=office)
standard.teams.add(team)
for policy, priority in ((urgent, Priority.URGENT), (standard, Priority.NORMAL)):
    for kind in TargetKind.values:
        SlaTarget.objects.create(policy=policy, priority=priority, kind=kind, duration=timedelta(hours=4))
print(json.dumps({"account_id": account.pk}))
"""


def create_api_account(env: dict[str, str], *, secret: str) -> int:
    """Create a team, an API channel account signing with `secret` and two SLA policies; the account's id."""
    # Through the environment rather than the command line, where other users of the machine could read it.
    return int(manage_json(_CREATE_API_ACCOUNT, {**env, "BENCH_ACCOUNT_SECRET": secret})["account_id"])


# --- Databases --------------------------------------------------------------------------------------------------


@contextlib.contextmanager
def fresh_stack(stack: str, *, workdir: Path) -> Iterator[dict[str, str]]:
    """Empty (not yet migrated) databases for `stack`; yields the server's environment, then drops them.

    NotMeasured when the stack's servers are not reachable; both are checked before anything is created, so
    an absent one skips the stack cleanly.
    """
    if stack == "embedded":
        database_url = f"sqlite:///{workdir / 'embedded.sqlite3'}"
        redis_url = None
    elif stack == "postgres":
        database_url = f"{PG_SERVER}/{PG_BENCH_DB}"
        redis_url = REDIS_URL
        redis_flush(redis_url, required=True)
        postgres_recreate(PG_BENCH_DB)
    else:
        raise ValueError(f"unknown stack {stack!r}; known: {', '.join(STACKS)}")
    try:
        yield stack_env(database_url=database_url, redis_url=redis_url)
    finally:
        if stack == "postgres":
            postgres_drop(PG_BENCH_DB)
            redis_flush(REDIS_URL, required=False)


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
    """Drop the benchmark database; a failure is only reported, the figures are already taken."""
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


# --- The server process -----------------------------------------------------------------------------------------


def free_port() -> int:
    """A TCP port on HOST that nothing listens on right now."""
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


# --- Celery worker and beat -------------------------------------------------------------------------------------

# A worker's warm shutdown waits for the task it runs; a tick may take a while.
CELERY_STOP_TIMEOUT_S = 30


@contextlib.contextmanager
def running_celery(
    env: dict[str, str], workdir: Path, *, name: str, concurrency: int = 2
) -> Iterator[tuple[subprocess.Popen[bytes], subprocess.Popen[bytes]]]:
    """Start a Celery worker named `name` and Celery beat (the DatabaseScheduler) with `env`; always stop them.

    Yields (worker, beat) once beat has sent a task and the worker has received one. Both run from `workdir`
    (beat's schedule and pid files go there) and log to it; each is a process group of its own, so a worker is
    stopped with its children. `env` chooses the database, the broker and the queue (CELERY_TASK_DEFAULT_QUEUE).
    """
    env = {**env, "PYTHONPATH": str(ROOT)}
    worker_log, beat_log = workdir / f"{name}-worker.log", workdir / f"{name}-beat.log"
    worker_args = ["worker", "--concurrency", str(concurrency), "--without-gossip", "--without-mingle"]
    beat_args = ["beat", "--scheduler", "django_celery_beat.schedulers:DatabaseScheduler"]
    beat_args += ["--schedule", str(workdir / f"{name}-beat-schedule"), "--pidfile", str(workdir / f"{name}-beat.pid")]
    processes: list[subprocess.Popen[bytes]] = []
    try:
        processes.append(_celery_start([*worker_args, "--hostname", f"{name}@%h"], env, worker_log, workdir))
        _wait_for_log(processes[0], worker_log, f"{name}@{socket.gethostname()} ready", "the Celery worker")
        processes.append(_celery_start(beat_args, env, beat_log, workdir))
        _wait_for_log(processes[1], beat_log, "Sending due task", "Celery beat")
        _wait_for_log(processes[0], worker_log, " received", "the worker's first task")
        yield processes[0], processes[1]
    finally:
        for process in reversed(processes):
            stop_group(process)


def _celery_start(args: list[str], env: dict[str, str], log_path: Path, workdir: Path) -> subprocess.Popen[bytes]:
    with log_path.open("wb") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "helpdesk", *args, "--loglevel", "INFO"],
            cwd=workdir,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def _wait_for_log(process: subprocess.Popen[bytes], log_path: Path, text: str, what: str) -> None:
    deadline = time.monotonic() + SERVER_START_TIMEOUT_S
    while text.encode() not in log_path.read_bytes():
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited with {process.returncode}:\n{log_tail(log_path)}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what} was not ready within {SERVER_START_TIMEOUT_S}s:\n{log_tail(log_path)}")
        time.sleep(0.2)


def stop_group(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM the process group we started (a worker and its children), then SIGKILL it if it lingers."""
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=CELERY_STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=CELERY_STOP_TIMEOUT_S)
