"""Fixtures shared by every test: the test database's live ASGI server, a Celery worker, a fake platform."""

import os
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.conf import settings
from django.contrib.sessions.backends.db import SessionStore
from django.db import connection

from tests import support
from tests.factories import ChannelAccountFactory, TeamFactory, UserFactory

# The second pass of `make test` sets these; the first (embedded default) leaves them unset.
PRODUCTION_STACK = os.environ.get("DATABASE_URL", "").startswith("postgres") and bool(os.environ.get("REDIS_URL"))

# The tests tick SLA clocks themselves, with `now` passed in: no ticker thread in the test process (the live
# server subprocess keeps the embedded default's ticker).
settings.HELPDESK_SLA_TICKER = False
# Files the tests fetch land under build/ (the live server and the worker inherit it), never in the demo's media.
os.environ["HELPDESK_MEDIA_ROOT"] = settings.MEDIA_ROOT = str(settings.BASE_DIR / "build" / "test-media")


def pytest_runtest_setup(item: pytest.Item) -> None:
    # Tests marked production_stack are deselected in the embedded pass (`-m "not production_stack"`), never
    # skipped; one selected anyway without the servers must fail loudly rather than pass on the wrong stack.
    if item.get_closest_marker("production_stack") and not PRODUCTION_STACK:
        pytest.fail("this test needs DATABASE_URL=postgres://... and REDIS_URL (make test-production)")


@pytest.fixture(scope="session", autouse=True)
def _clean_redis() -> None:
    if settings.REDIS_URL:
        import redis

        redis.Redis.from_url(settings.REDIS_URL).flushdb()


@pytest.fixture(scope="session")
def live_server_url(django_db_setup: None, django_db_blocker: Any) -> Iterator[str]:
    """A real ASGI server (daphne, HTTP and websockets) in its own process, on the test database."""
    port = support.free_port()
    env = support.server_env(connection.settings_dict)
    process = support.start_process(
        ["-m", "daphne", "-b", "127.0.0.1", "-p", str(port), "helpdesk.asgi:application"],
        env=env,
        log_name="live-server.log",
    )
    try:
        support.wait_for_port(port, process=process)
        yield f"http://127.0.0.1:{port}"
    finally:
        support.stop_process(process)


@pytest.fixture(scope="session")
def celery_worker_process(django_db_setup: None) -> Iterator[None]:
    """A real Celery worker process on Redis and the test database (production stack only)."""
    from helpdesk.celery import app

    assert PRODUCTION_STACK, "a Celery worker needs the production stack"
    app.control.purge()
    name = f"test-{os.getpid()}"
    process = support.start_celery_worker(support.server_env(connection.settings_dict), name=name)
    try:
        support.wait_for_worker(app, name, process)
        yield
    finally:
        support.stop_process(process)


@pytest.fixture
def celery_beat_process(celery_worker_process: None, django_db_blocker: Any) -> Iterator[None]:
    """Celery beat, as in production: the DatabaseScheduler reading the migration-made every-second tick.

    One per test that asks for it: tests that drive the tick themselves must not have beat ticking too.
    """
    with django_db_blocker.unblock():
        tick_schedule_present()
    env = support.server_env(connection.settings_dict)
    process = support.start_process(
        [
            "-m",
            "celery",
            "-A",
            "helpdesk",
            "beat",
            "--scheduler",
            "django_celery_beat.schedulers:DatabaseScheduler",
            "--loglevel",
            "INFO",
        ],
        env=env,
        log_name="celery-beat.log",
    )
    try:
        yield
    finally:
        support.stop_process(process)


def tick_schedule_present() -> None:
    """Put the tick's schedule back where a test emptied the tables (the migration made it once)."""
    from django_celery_beat.models import IntervalSchedule, PeriodicTask

    from policies.schedule import tick_schedule_ensure

    tick_schedule_ensure(PeriodicTask, IntervalSchedule)


@pytest.fixture
def sla_ticker(request: pytest.FixtureRequest) -> str:
    """What ticks SLA clocks for the live server: its own thread (embedded), or Celery beat and a worker."""
    if PRODUCTION_STACK:
        request.getfixturevalue("celery_beat_process")
        return "beat"
    return "in-process"


@pytest.fixture
def task_runner(request: pytest.FixtureRequest) -> str:
    """How Celery tasks run in this pass: 'eager' in-process, or 'worker' in a real worker process."""
    if PRODUCTION_STACK:
        request.getfixturevalue("celery_worker_process")
        return "worker"
    return "eager"


@pytest.fixture
def eager_tasks() -> Iterator[None]:
    """Celery tasks run in this process, in both passes: for tests of a task's outcome under this test's settings
    (a limit, a failing platform); the end-to-end tests leave tasks to the real worker of the production pass."""
    from helpdesk.celery import app

    before = app.conf.task_always_eager
    app.conf.task_always_eager = True
    try:
        yield
    finally:
        app.conf.task_always_eager = before


@pytest.fixture
def fake_platform() -> Iterator[support.FakePlatform]:
    yield from support.serve_fake_platform()


@pytest.fixture
def session_cookie() -> Callable[[Any], str]:
    """A signed-in session for `user`, as the value of the sessionid cookie."""

    def make(user: Any) -> str:
        session = SessionStore()
        session["_auth_user_id"] = str(user.pk)
        session["_auth_user_backend"] = "django.contrib.auth.backends.ModelBackend"
        session["_auth_user_hash"] = user.get_session_auth_hash()
        session.create()
        return str(session.session_key)

    return make


@pytest.fixture
def team_a(db: None) -> Any:
    return TeamFactory(name="Team A")


@pytest.fixture
def team_b(db: None) -> Any:
    return TeamFactory(name="Team B")


@pytest.fixture
def account_a(team_a: Any) -> Any:
    return ChannelAccountFactory(team=team_a, secret="secret-a")


@pytest.fixture
def account_b(team_b: Any) -> Any:
    return ChannelAccountFactory(team=team_b, secret="secret-b")


@pytest.fixture
def agent_a(team_a: Any) -> Any:
    return UserFactory(username="agent_a", teams=[team_a])


@pytest.fixture
def agent_b(team_b: Any) -> Any:
    return UserFactory(username="agent_b", teams=[team_b])


@pytest.fixture
def platform_api() -> Iterator[Any]:
    """A fake social platform's API: a real HTTP server on 127.0.0.1 (tests.fake_platform.FakePlatform)."""
    from tests.fake_platform import running_fake_platform

    yield from running_fake_platform()
