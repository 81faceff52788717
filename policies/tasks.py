"""Celery tasks of the policies app: the tick, webhook calls, and recomputes after a policy or calendar edit."""

import time
from collections.abc import Callable

from celery import shared_task
from django.utils import timezone

from policies.schedule import TICK_EXPIRES_SECONDS
from policies.services.recompute import sla_recompute
from policies.services.tick import BATCH, clocks_check, more_due_than
from policies.services.webhooks import Claim, webhook_call_attempt, webhook_calls_claim

# A tick that finds more work than this keeps the rest for the next tick (one a second), so that a backlog
# never holds one worker for long.
TICK_BUDGET_SECONDS = 20.0


def tick_once(
    *, budget: float = TICK_BUDGET_SECONDS, batch: int = BATCH, on_backlog: Callable[[], object] | None = None
) -> int:
    """Run batches until nothing is due or the budget is spent; how many tickets were handled.

    `on_backlog` is called first if more clocks are due than one batch takes.
    """
    handled, deadline = 0, time.monotonic() + budget
    if on_backlog is not None and more_due_than(now=timezone.now(), count=batch):
        on_backlog()
    while True:
        done = clocks_check(now=timezone.now(), limit=batch)
        handled += done
        if done < batch or time.monotonic() > deadline:
            return handled


@shared_task(name="policies.sla_tick", ignore_result=True)
def sla_tick(helping: bool = False) -> int:
    """Record breaches and fire escalation levels that are due, then hand due webhook calls to the workers.

    A tick that finds more due than one batch asks one more worker to help before it starts (a `helping` tick,
    which asks nobody): a burst of levels due together is shared by two workers from its first moment, not
    from the next beat. They never take the same ticket (SKIP LOCKED).
    """
    handled = tick_once(on_backlog=None if helping else _help_ask)
    for claim in webhook_calls_claim(now=timezone.now()):
        webhook_attempt.delay(claim.call_id, claim.token)
    return handled


def _help_ask() -> None:
    # Expires as the beat's own tick messages do (policies/schedule.py): a stale helper has nothing to add.
    sla_tick.apply_async(kwargs={"helping": True}, expires=TICK_EXPIRES_SECONDS)


@shared_task(name="policies.webhook_attempt", ignore_result=True)
def webhook_attempt(call_id: int, token: str) -> str:
    """One try of an escalation's outbound webhook; a failed try is tried again by a later tick, with backoff."""
    return webhook_call_attempt(claim=Claim(call_id=call_id, token=token), now=timezone.now())


@shared_task(name="policies.sla_recompute", acks_late=True, ignore_result=True)
def sla_recompute_task(ticket_ids: list[int], reason: str) -> int:
    """Re-match and retarget the given open tickets after an edit of a policy or calendar."""
    return sla_recompute(ticket_ids=ticket_ids, now=timezone.now(), reason=reason)
