"""The django-celery-beat schedule of the tick: created by a migration, editable in the admin."""

from typing import Any

TICK_TASK_NAME = "policies: SLA and escalation tick"
TICK_TASK = "policies.sla_tick"


def tick_schedule_ensure(periodic_task: Any, interval_schedule: Any) -> None:
    """Create the every-second tick unless a schedule of that name exists (models passed in: migrations use theirs).

    A tick message older than 10 seconds is dropped rather than run: a later tick does the same work.
    """
    if periodic_task.objects.filter(name=TICK_TASK_NAME).exists():
        return
    every_second, _ = interval_schedule.objects.get_or_create(every=1, period="seconds")
    periodic_task.objects.create(
        name=TICK_TASK_NAME,
        task=TICK_TASK,
        interval=every_second,
        expire_seconds=10,
        description="Records SLA breaches and fires escalation levels that are due (policies.services.tick).",
    )
