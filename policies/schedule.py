"""The django-celery-beat schedule of the tick: created by a migration, editable in the admin."""

from typing import Any

TICK_TASK_NAME = "policies: SLA and escalation tick"
TICK_TASK = "policies.sla_tick"
# A tick message older than this is dropped rather than run: a later tick does the same work.
TICK_EXPIRES_SECONDS = 10


def tick_schedule_ensure(periodic_task: Any, interval_schedule: Any) -> None:
    """Create the every-second tick unless a schedule of that name exists (models passed in: migrations use theirs)."""
    if periodic_task.objects.filter(name=TICK_TASK_NAME).exists():
        return
    every_second, _ = interval_schedule.objects.get_or_create(every=1, period="seconds")
    periodic_task.objects.create(
        name=TICK_TASK_NAME,
        task=TICK_TASK,
        interval=every_second,
        expire_seconds=TICK_EXPIRES_SECONDS,
        description="Records SLA breaches and fires escalation levels that are due (policies.services.tick).",
    )
