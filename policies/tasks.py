"""Celery tasks of the policies app: the tick, webhook calls, and recomputes after a policy or calendar edit."""

import time

from celery import shared_task
from django.utils import timezone

from policies.services.sla import sla_recompute
from policies.services.tick import BATCH, clocks_check
from policies.services.webhooks import Claim, webhook_call_attempt, webhook_calls_claim

# A tick that finds more work than this keeps the rest for the next tick (one a second), so that a backlog
# never holds one worker for long.
TICK_BUDGET_SECONDS = 20.0


def tick_once(*, budget: float = TICK_BUDGET_SECONDS) -> int:
    """Run batches until nothing is due or the budget is spent; how many tickets were handled."""
    handled, deadline = 0, time.monotonic() + budget
    while True:
        done = clocks_check(now=timezone.now())
        handled += done
        if done < BATCH or time.monotonic() > deadline:
            return handled


@shared_task(name="policies.sla_tick", ignore_result=True)
def sla_tick() -> int:
    """Record breaches and fire escalation levels that are due, then hand due webhook calls to the workers."""
    handled = tick_once()
    for claim in webhook_calls_claim(now=timezone.now()):
        webhook_attempt.delay(claim.call_id, claim.token)
    return handled


@shared_task(name="policies.webhook_attempt", ignore_result=True)
def webhook_attempt(call_id: int, token: str) -> str:
    """One try of an escalation's outbound webhook; a failed try is tried again by a later tick, with backoff."""
    return webhook_call_attempt(claim=Claim(call_id=call_id, token=token), now=timezone.now())


@shared_task(name="policies.sla_recompute", acks_late=True, ignore_result=True)
def sla_recompute_task(ticket_ids: list[int], reason: str) -> int:
    """Re-match and retarget the given open tickets after an edit of a policy or calendar."""
    return sla_recompute(ticket_ids=ticket_ids, now=timezone.now(), reason=reason)
