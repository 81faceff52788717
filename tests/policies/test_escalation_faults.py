"""Exactly once under faults, on the production stack: PostgreSQL, Redis, real Celery workers and beat.

- 1,000 tickets whose levels come due together, two worker processes and beat: every level fires once.
- A worker killed with SIGKILL in the middle of a tick: its transaction is lost whole, and once a worker is
  back every level has fired exactly once, its actions done exactly once.
- An escalation webhook that fails three times is called until it answers; one that never answers ends as a
  recorded failure while other tickets' levels keep firing on time.
"""

import logging
import os
import signal
import threading
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from django.db import connection, transaction
from django.db.models import Count
from django.utils import timezone

from policies.models import (
    EscalationFiring,
    EscalationLevel,
    EscalationPolicy,
    SlaClock,
    SlaPolicy,
    SlaTarget,
    WebhookCall,
)
from policies.services.tick import clocks_check
from policies.services.webhooks import webhook_signature
from tests import support
from tickets.connectors.base import InboundMessage
from tickets.models import EventKind, Message, Priority, Tag, Ticket, TicketEvent
from tickets.services.messages import message_receive

pytestmark = [pytest.mark.production_stack, pytest.mark.django_db(transaction=True)]

FIRST = "first_response"
KILLED_APP = "helpdesk-killed-worker"


def escalating_policy(target: timedelta, *levels: dict[str, Any]) -> EscalationPolicy:
    """An SLA policy with a first-response `target`, and an escalation policy with `levels` on it."""
    sla = SlaPolicy.objects.create(name="Fast")
    for priority in Priority.values:
        SlaTarget.objects.create(policy=sla, priority=priority, kind=FIRST, duration=target)
    policy = EscalationPolicy.objects.create(name="Escalate", sla_policy=sla)
    for number, fields in enumerate(levels, start=1):
        tags = fields.pop("add_tags", [])
        level = EscalationLevel.objects.create(policy=policy, number=number, kind=FIRST, **fields)
        level.add_tags.set(tags)
    return policy


def open_tickets(account: Any, count: int, *, now: datetime, prefix: str) -> None:
    """`count` tickets opened at the same instant `now` (so their clocks come due together)."""
    with transaction.atomic():
        for n in range(count):
            inbound = InboundMessage(
                external_id=f"{prefix}-{n}", sender_id=f"{prefix}-{n}", sender_name="Customer", text="Help", sent_at=now
            )
            message_receive(account=account, inbound=inbound, now=now)


def two_levels(tag: Tag) -> list[dict[str, Any]]:
    return [
        {"offset": timedelta(0), "note": "Breached", "add_tags": [tag]},
        {"offset": timedelta(seconds=1), "note": "A second past the breach"},
    ]


def assert_exactly_once(tickets: int, levels: int) -> None:
    """Every level fired once per ticket, and each firing's actions were done once."""
    assert EscalationFiring.objects.count() == tickets * levels
    per_clock = EscalationFiring.objects.values("clock_id").annotate(n=Count("id"))
    assert {row["n"] for row in per_clock} == {levels}
    assert Message.objects.filter(internal=True).count() == tickets * levels
    assert TicketEvent.objects.filter(kind=EventKind.ESCALATED).count() == tickets * levels
    assert TicketEvent.objects.filter(kind=EventKind.TAGS).count() == tickets
    assert not SlaClock.objects.filter(kind=FIRST, next_check_at__isnull=False).exists()
    assert all(len(ids) == levels for ids in SlaClock.objects.filter(kind=FIRST).values_list("escalated", flat=True))


def test_a_thousand_tickets_due_together_fire_each_level_once(
    celery_beat_process: None, account_a: Any, tmp_path: Any
) -> None:
    from helpdesk.celery import app

    second = support.start_celery_worker(support.server_env(connection.settings_dict), name=f"second-{os.getpid()}")
    try:
        support.wait_for_worker(app, f"second-{os.getpid()}", second)
        escalating_policy(timedelta(seconds=30), *two_levels(Tag.objects.create(name="late")))
        # Opened 30 s ago in one transaction: at its commit every ticket's levels are due together.
        open_tickets(account_a, 1000, now=timezone.now() - timedelta(seconds=30), prefix="crowd")
        committed = timezone.now()
        support.wait_until(lambda: EscalationFiring.objects.count() >= 2000, what="2,000 firings", timeout=140)
        time.sleep(3)  # any double would be recorded by now: two more ticks have run
        last = EscalationFiring.objects.order_by("-recorded_at").values_list("recorded_at", flat=True).first()
        print(f"2,000 firings recorded within {(last - committed).total_seconds():.1f} s of the commit")
        assert_exactly_once(tickets=1000, levels=2)
        firing_ids = {event.data.get("firing") for event in TicketEvent.objects.filter(kind=EventKind.ESCALATED)}
        assert len(firing_ids) == 2000
    finally:
        support.stop_process(second)


def _killable_worker(queue: str) -> Any:
    env = support.server_env(connection.settings_dict)
    env.update(CELERY_TASK_DEFAULT_QUEUE=queue, PGAPPNAME=KILLED_APP)
    return support.start_celery_worker(env, name=f"kill-{os.getpid()}", concurrency=1, new_session=True)


def _tick_writing_firings() -> int | None:
    """The PostgreSQL backend of the killable worker, while its open transaction has written firings."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT a.pid FROM pg_stat_activity a JOIN pg_locks l ON l.pid = a.pid "
            "WHERE a.application_name = %s AND l.relation = 'policies_escalationfiring'::regclass "
            "AND l.mode = 'RowExclusiveLock' AND a.xact_start IS NOT NULL",
            [KILLED_APP],
        )
        row = cursor.fetchone()
    return row[0] if row else None


def _backend_gone(pid: int) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE pid = %s", [pid])
        return cursor.fetchone()[0] == 0


def test_a_worker_killed_mid_tick_loses_and_doubles_nothing(account_a: Any) -> None:
    from helpdesk.celery import app

    queue = f"kill-test-{os.getpid()}"
    escalating_policy(timedelta(hours=1), *two_levels(Tag.objects.create(name="late")))
    # Opened two hours ago: every level is due at once, 1,000 tickets of work for the tick.
    open_tickets(account_a, 1000, now=timezone.now() - timedelta(hours=2), prefix="kill")
    worker = _killable_worker(queue)
    try:
        support.wait_for_worker(app, f"kill-{os.getpid()}", worker)
        app.send_task("policies.sla_tick", queue=queue)
        backend = support.wait_until(_tick_writing_firings, what="a tick in the middle of its work", timeout=60)
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait(timeout=10)
        support.wait_until(lambda: _backend_gone(backend), what="PostgreSQL noticing the dead worker", timeout=30)
        done = EscalationFiring.objects.count()
        assert done < 2000, "the worker was killed after the tick had finished: nothing was interrupted"
        # What committed is whole: both levels of a ticket fire in the same batch, actions with them.
        assert Message.objects.filter(internal=True).count() == done
        assert {row["n"] for row in EscalationFiring.objects.values("clock_id").annotate(n=Count("id"))} <= {2}
    finally:
        if worker.poll() is None:
            os.killpg(worker.pid, signal.SIGKILL)
    restarted = _killable_worker(queue)
    try:
        support.wait_for_worker(app, f"kill-{os.getpid()}", restarted)
        deadline = time.monotonic() + 120
        while EscalationFiring.objects.count() < 2000 and time.monotonic() < deadline:
            app.send_task("policies.sla_tick", queue=queue)
            time.sleep(1)
        app.send_task("policies.sla_tick", queue=queue)
        time.sleep(2)
        assert_exactly_once(tickets=1000, levels=2)
    finally:
        support.stop_process(restarted)


class WebhookTarget:
    """An escalation webhook receiver on 127.0.0.1 that fails `failures` times, then answers 200 (or never)."""

    def __init__(self, *, failures: int = 0, hang: bool = False, secret: str = "") -> None:
        self.failures, self.hang, self.secret = failures, hang, secret
        self.requests: list[tuple[dict[str, str], bytes]] = []
        self.released = threading.Event()
        target = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                target.requests.append((dict(self.headers.items()), body))
                if target.hang:
                    target.released.wait(30)  # longer than the sender's timeout: it gives up first
                    return
                status = 500 if len(target.requests) <= target.failures else 200
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, format: str, *args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.released.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def flaky_target() -> Iterator[WebhookTarget]:
    target = WebhookTarget(failures=3, secret="flaky-secret")
    yield target
    target.close()


@pytest.fixture
def silent_target() -> Iterator[WebhookTarget]:
    target = WebhookTarget(hang=True, secret="silent-secret")
    yield target
    target.close()


def test_webhooks_are_retried_until_they_answer_or_fail_without_blocking_the_tick(
    celery_beat_process: None, account_a: Any, flaky_target: WebhookTarget, silent_target: WebhookTarget
) -> None:
    sla = SlaPolicy.objects.create(name="Fast")
    SlaTarget.objects.create(policy=sla, priority=Priority.NORMAL, kind=FIRST, duration=timedelta(seconds=2))
    policy = EscalationPolicy.objects.create(name="Hooks", sla_policy=sla)
    EscalationLevel.objects.create(
        policy=policy,
        number=1,
        kind=FIRST,
        offset=timedelta(0),
        webhook_url=flaky_target.url,
        webhook_secret=flaky_target.secret,
    )
    EscalationLevel.objects.create(
        policy=policy,
        number=2,
        kind=FIRST,
        offset=timedelta(seconds=1),
        webhook_url=silent_target.url,
        webhook_secret=silent_target.secret,
    )
    EscalationLevel.objects.create(policy=policy, number=3, kind=FIRST, offset=timedelta(seconds=4), note="Later")
    now = timezone.now()
    open_tickets(account_a, 1, now=now, prefix="hooked")

    flaky = support.wait_until(
        lambda: WebhookCall.objects.filter(url=flaky_target.url, state="succeeded").first(),
        what="the flaky target answering",
        timeout=60,
    )
    assert flaky.attempts == 4
    assert list(flaky.attempt_log.values_list("status_code", flat=True)) == [500, 500, 500, 200]
    for headers, body in flaky_target.requests:
        timestamp = int(headers["X-Helpdesk-Signature"].split(",")[0][2:])
        assert headers["X-Helpdesk-Signature"] == webhook_signature(
            secret=flaky_target.secret, body=body.decode(), timestamp=timestamp
        )
        assert headers["X-Helpdesk-Delivery"] == str(flaky.pk)

    # The silent target holds each try for its whole timeout, and the tick goes on firing meanwhile.
    silent = support.wait_until(
        lambda: WebhookCall.objects.filter(url=silent_target.url, state="failed").first(),
        what="the silent target given up",
        timeout=90,
    )
    assert silent.attempts == 4 == len(silent_target.requests)
    later = EscalationFiring.objects.get(level_number=3)
    assert silent.finished_at is not None and later.recorded_at < silent.finished_at
    assert all("could not be reached" in error for error in silent.attempt_log.values_list("error", flat=True))


def test_a_batch_whose_bulk_write_fails_is_done_one_ticket_at_a_time(account_a: Any, caplog: Any) -> None:
    """A firing insert that PostgreSQL refuses for one ticket (a trigger stands in for a bug or bad data) fails
    the batch's bulk write: the batch is done again ticket by ticket, and only that ticket waits a minute."""
    escalating_policy(timedelta(hours=1), {"offset": timedelta(0), "note": "Breached"})
    opened = timezone.now() - timedelta(hours=2)
    open_tickets(account_a, 3, now=opened, prefix="bulk")
    refused, *others = Ticket.objects.order_by("id")
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE FUNCTION test_refuse_firing() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            f"IF NEW.ticket_id = {int(refused.pk)} THEN RAISE EXCEPTION 'refused by the test'; END IF; "
            "RETURN NEW; END $$"
        )
        cursor.execute(
            "CREATE TRIGGER test_refuse_firing BEFORE INSERT ON policies_escalationfiring "
            "FOR EACH ROW EXECUTE FUNCTION test_refuse_firing()"
        )
    try:
        now = timezone.now()
        with caplog.at_level(logging.ERROR, logger="policies.services.tick"):
            assert clocks_check(now=now) == 3
    finally:
        with connection.cursor() as cursor:
            cursor.execute("DROP TRIGGER test_refuse_firing ON policies_escalationfiring")
            cursor.execute("DROP FUNCTION test_refuse_firing()")
    assert sorted(EscalationFiring.objects.values_list("ticket_id", flat=True)) == [t.pk for t in others]
    assert Message.objects.filter(internal=True).count() == 2
    assert "could not write its batch in bulk" in caplog.text
    assert f"could not handle ticket {refused.pk}" in caplog.text
    row = SlaClock.objects.get(ticket=refused, kind=FIRST)
    assert row.next_check_at == now + timedelta(minutes=1) and row.breached_at is None
    assert not TicketEvent.objects.filter(ticket=refused, kind=EventKind.ESCALATED).exists()
    # A minute later, with the database willing, it fires once.
    assert clocks_check(now=now + timedelta(minutes=1)) == 1
    assert EscalationFiring.objects.filter(ticket=refused).count() == 1
