"""What agents see of escalations on a ticket: the escalation policy it follows and why, and every firing.

A selector for the agent UI (a face imports it; the core of `tickets` never does). It reads the record the
tick left (policies.models.EscalationFiring, with the outcome of each action as it was done), never the
policy as it is now: a firing reads the same after its policy is edited or deleted.
"""

from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db.models import Prefetch

from policies.countdowns import policy_explanation
from policies.models import CallState, EscalationFiring, TicketSla, WebhookCall
from policies.services.escalations import level_summary
from tickets.models import Ticket

# What each action of a level is called on the page, by its key in EscalationFiring.outcomes.
ACTION_LABELS = {
    "assign": "Assign",
    "priority": "Set priority",
    "tags": "Add tags",
    "note": "Internal note",
    "notify": "Notify",
    "webhook": "Webhook",
}
STATUS_LABELS = {"done": "Done", "skipped": "Skipped", "failed": "Failed", "queued": "Queued"}
_CALL_STATUS = {CallState.PENDING: "queued", CallState.SUCCEEDED: "done", CallState.FAILED: "failed"}


@dataclass(frozen=True)
class OutcomeLine:
    """What one action of a firing did, in words."""

    action: str  # the key: "priority", "notify", ...
    action_label: str
    status: str  # "done", "skipped", "failed" or "queued": the page styles it, the label says it
    status_label: str
    detail: str


@dataclass(frozen=True)
class FiringLine:
    """One level that fired on the ticket."""

    id: int
    policy_name: str
    level_number: int
    target: str  # "First response, at the breach"
    cycle: int
    moment: datetime  # when the level was due
    fired_at: datetime
    outcomes: tuple[OutcomeLine, ...]


@dataclass(frozen=True)
class TicketEscalations:
    """A ticket's escalations: which policy applies and why (or why none does), and its firings, newest first."""

    policy_name: str  # "" when no escalation policy applies
    explanation: str
    reasons: tuple[str, ...]
    time_zone: str  # the zone the SLA panel shows instants in, so both read alike
    firings: tuple[FiringLine, ...]


def ticket_escalations(ticket: Ticket) -> TicketEscalations:
    """The escalations section of `ticket`'s page, in at most three queries whatever the number of firings."""
    sla = TicketSla.objects.select_related("policy__calendar").filter(ticket_id=ticket.pk).first()
    calls = Prefetch("webhook_calls", queryset=WebhookCall.objects.only("id", "firing_id", "state", "attempts"))
    # Prefetching costs no query when the ticket has no firings.
    firings = EscalationFiring.objects.filter(ticket_id=ticket.pk).order_by("-fired_at", "-id").prefetch_related(calls)
    calendar = sla.policy.calendar if sla is not None and sla.policy is not None else None
    name, explanation = _explanation(sla)
    return TicketEscalations(
        policy_name=name,
        explanation=explanation,
        reasons=tuple(sla.escalation_reasons) if sla is not None and name else (),
        time_zone=calendar.time_zone if calendar is not None else settings.TIME_ZONE,
        firings=tuple(_line(firing) for firing in firings),
    )


def _explanation(sla: TicketSla | None) -> tuple[str, str]:
    """The escalation policy's name (or "") and the sentence that introduces why it applies, or why none does."""
    return policy_explanation(
        name=sla.escalation_policy_name if sla is not None else None,
        deleted=sla is not None and sla.escalation_policy_id is None,
        what="escalation policy",
        conditions="SLA policy, channel, team, priority, tags",
    )


def _line(firing: EscalationFiring) -> FiringLine:
    calls = {str(call.pk): call for call in firing.webhook_calls.all()}
    return FiringLine(
        id=firing.pk,
        policy_name=firing.policy_name,
        level_number=firing.level_number,
        target=level_summary(firing.kind, firing.offset),
        cycle=firing.cycle,
        moment=firing.moment,
        fired_at=firing.fired_at,
        outcomes=tuple(_outcome(outcome, calls) for outcome in firing.outcomes or []),
    )


def _outcome(outcome: dict[str, str], calls: dict[str, WebhookCall]) -> OutcomeLine:
    action = str(outcome.get("action", ""))
    status = str(outcome.get("status", ""))
    detail = str(outcome.get("detail", ""))
    call = calls.get(str(outcome.get("call", "")))
    if call is not None:
        # The firing recorded the call as queued; the call itself knows how it went since.
        state = CallState(call.state)
        status = _CALL_STATUS.get(state, status)
        tries = f"{call.attempts} attempt{'s' if call.attempts != 1 else ''}"
        if state == CallState.PENDING and call.attempts:
            detail = f"{detail}; {tries} so far, will retry"
        elif state != CallState.PENDING:
            detail = f"{detail}; {state.label.lower()} after {tries}"
    return OutcomeLine(
        action=action,
        action_label=ACTION_LABELS.get(action, action.replace("_", " ").capitalize()),
        status=status,
        status_label=STATUS_LABELS.get(status, status.capitalize()),
        detail=detail[:1].upper() + detail[1:],
    )
