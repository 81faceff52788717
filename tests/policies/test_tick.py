"""The SLA tick on a running stack: breaches are recorded by themselves, with nobody calling the service.

Embedded default: the live server's own ticker thread. Production stack: Celery beat sends policies.sla_tick
every second and a real worker runs it. Either way a clock that passes its due instant becomes breached and
a "sla" ticket event tells the browsers.
"""

from datetime import timedelta
from typing import Any

import pytest

from policies.models import SlaClock, SlaPolicy, SlaTarget
from policies.tasks import sla_tick
from tests.support import post_signed, wait_until, webhook_ticket
from tickets.models import EventKind, Priority, TicketEvent

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_clock_past_its_due_instant_is_breached_by_the_tick(
    sla_ticker: str, live_server_url: str, account_a: Any
) -> None:
    quick = SlaPolicy.objects.create(name="Quick")
    SlaTarget.objects.create(
        policy=quick, priority=Priority.NORMAL, kind="first_response", duration=timedelta(seconds=1)
    )
    post_signed(live_server_url, account_a, sender_id=f"tick-{sla_ticker}")
    row = wait_until(
        lambda: SlaClock.objects.filter(kind="first_response", state="breached").first(), what="the breach"
    )
    assert row.breached_at == row.due_at and row.next_check_at is None
    event = wait_until(
        lambda: TicketEvent.objects.filter(ticket_id=row.ticket_id, kind=EventKind.SLA).first(), what="the event"
    )
    assert event.data == {"clock": "first_response", "cycle": 1, "state": "breached"}


def test_the_tick_task_records_what_is_due(task_runner: str, client: Any, account_a: Any) -> None:
    quick = SlaPolicy.objects.create(name="Quick")
    SlaTarget.objects.create(
        policy=quick, priority=Priority.NORMAL, kind="first_response", duration=timedelta(microseconds=1)
    )
    ticket = webhook_ticket(account_a, sender="tick-task", client=client)
    sla_tick.delay()
    row = wait_until(lambda: SlaClock.objects.filter(ticket=ticket, state="breached").first(), what="the breach")
    assert row.kind == "first_response"


def test_the_migrations_make_the_every_second_beat_schedule() -> None:
    from django.core.management import call_command
    from django_celery_beat.models import PeriodicTask

    from policies.schedule import TICK_TASK, TICK_TASK_NAME

    call_command("migrate", "policies", "0003", verbosity=0)
    assert not PeriodicTask.objects.filter(name=TICK_TASK_NAME).exists()
    call_command("migrate", "policies", verbosity=0)
    task = PeriodicTask.objects.select_related("interval").get(name=TICK_TASK_NAME)
    assert (task.task, task.enabled, task.expire_seconds) == (TICK_TASK, True, 10)
    assert (task.interval.every, task.interval.period) == (1, "seconds")
