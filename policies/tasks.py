"""Celery tasks of the policies app: the SLA tick, and recomputes after a policy or calendar edit."""

from celery import shared_task
from django.utils import timezone

from policies.services.clocks import clocks_check
from policies.services.sla import sla_recompute


@shared_task(name="policies.sla_tick", ignore_result=True)
def sla_tick() -> int:
    """Record the SLA breaches whose moment has come (Celery beat runs this every few seconds)."""
    return clocks_check(now=timezone.now())


@shared_task(name="policies.sla_recompute", acks_late=True, ignore_result=True)
def sla_recompute_task(ticket_ids: list[int], reason: str) -> int:
    """Re-match and retarget the given open tickets after an edit of a policy or calendar."""
    return sla_recompute(ticket_ids=ticket_ids, now=timezone.now(), reason=reason)
