"""After an edit of a policy or calendar in the admin: recompute the open tickets it governs, in the background.

Both admins call `recompute_in_background`; SLA_SEMANTICS.md ("Clocks") says an edit of a policy or calendar
recomputes the open tickets it governs, the same way as a change of the ticket's own facts.
"""

from collections.abc import Iterable
from functools import partial

from django.contrib import admin, messages
from django.db import transaction
from django.http import HttpRequest

from policies.models import BusinessCalendar, SlaPolicy
from policies.services.recompute import tickets_to_recompute
from policies.tasks import sla_recompute_task

# A task per this many tickets: a worker's task stays short, and several workers share a large recompute.
CHUNK_SIZE = 500


def recompute_in_background(
    model_admin: admin.ModelAdmin,
    request: HttpRequest,
    *,
    subject: str,
    reason: str,
    policies: Iterable[SlaPolicy] = (),
    calendar: BusinessCalendar | None = None,
    ticket_ids: Iterable[int] | None = None,
) -> int:
    """Queue, once the transaction commits, a recompute of the open tickets `policies` or `calendar` govern.

    Call it after the edit is saved (the tickets that match the new conditions are wanted), or before a
    deletion (the tickets that still point at the policy are wanted). The user is told how many tickets;
    `subject` names what was edited ("the SLA policy “Gold”"), `reason` goes into each ticket's audit trail.
    Pass `ticket_ids` where the caller selected the tickets itself (an escalation policy's).
    """
    if ticket_ids is None:
        ticket_ids = tickets_to_recompute(policies=list(policies), calendar=calendar)
    ticket_ids = sorted(set(ticket_ids))
    for start in range(0, len(ticket_ids), CHUNK_SIZE):
        chunk = ticket_ids[start : start + CHUNK_SIZE]
        # After commit: the worker must read the saved edit, and a rolled-back edit must change nothing.
        transaction.on_commit(partial(sla_recompute_task.delay, chunk, reason), robust=True)
    model_admin.message_user(request, recompute_message(len(ticket_ids), subject), messages.INFO)
    return len(ticket_ids)


def recompute_message(count: int, subject: str) -> str:
    """What the admin says about a recompute of `count` tickets after an edit of `subject`."""
    if count == 0:
        return f"No open ticket is governed by {subject}; no SLA clock changes."
    tickets = "1 open ticket" if count == 1 else f"{count} open tickets"
    return f"SLA clocks of {tickets} are being recomputed in the background."
