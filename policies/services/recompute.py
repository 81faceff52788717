"""Recomputing tickets after a policy or calendar edit: which open tickets an edit may change, and matching
each again in a transaction of its own (policies.services.sla.sla_apply does the matching)."""

import logging
from collections.abc import Iterable
from datetime import datetime

from django.db import DatabaseError, transaction
from django.db.models import Q

from policies.models import BusinessCalendar, EscalationPolicy, SlaPolicy
from policies.services.sla import LIVE_STATUSES, sla_apply
from tickets.models import EventKind, Ticket
from tickets.services.audit import ticket_event_record

logger = logging.getLogger(__name__)


def sla_recompute(*, ticket_ids: Iterable[int], now: datetime, reason: str) -> int:
    """Re-match and retarget each open ticket in `ticket_ids` (after a policy or calendar edit); how many."""
    done = 0
    for ticket_id in ticket_ids:
        try:
            done += _recompute_one(ticket_id, now=now, reason=reason)
        except DatabaseError:
            # One ticket (a deadlock, a lock timeout) must not cost the rest of the batch; the next edit or
            # event on it recomputes it again.
            logger.exception("SLA recompute of ticket %s failed", ticket_id)
    return done


def _recompute_one(ticket_id: int, *, now: datetime, reason: str) -> int:
    with transaction.atomic():
        # FOR NO KEY UPDATE: the tick inserts events for this ticket meanwhile (a foreign-key share lock on
        # it), which a plain FOR UPDATE would block, and a deadlock with the tick's clock locks would follow.
        ticket = (
            Ticket.objects.select_for_update(no_key=True, of=("self",))
            .select_related("team", "identity__channel_account")
            .filter(pk=ticket_id, status__in=LIVE_STATUSES)
            .first()
        )
        if ticket is None:
            return 0
        sla = sla_apply(ticket=ticket, now=now)
        ticket_event_record(
            ticket=ticket,
            kind=EventKind.SLA,
            now=now,
            data={"recomputed": reason, "policy": sla.policy_name},
        )
        return 1


def tickets_to_recompute(*, policies: Iterable[SlaPolicy], calendar: BusinessCalendar | None = None) -> list[int]:
    """The open tickets an edit of `policies` (or of `calendar`) may change: governed by them, or matching them now."""
    governed = Q(sla__policy__in=[policy.pk for policy in policies])
    if calendar is not None:
        governed |= Q(sla__policy__calendar=calendar)
    wanted = governed
    for policy in policies:
        wanted |= policy_conditions_q(policy)
    return list(Ticket.objects.filter(wanted, status__in=LIVE_STATUSES).values_list("pk", flat=True).distinct())


def policy_conditions_q(policy: SlaPolicy | EscalationPolicy) -> Q:
    """The tickets an SLA or escalation policy's conditions match, as a query (whatever their current policy)."""
    if not policy.enabled or policy.pk is None:
        return Q(pk__in=[])
    conditions = Q()
    if policy.channel_kinds:
        conditions &= Q(identity__channel_account__kind__in=policy.channel_kinds)
    if policy.priorities:
        conditions &= Q(priority__in=policy.priorities)
    team_ids = list(policy.teams.values_list("pk", flat=True))
    if team_ids:
        conditions &= Q(team_id__in=team_ids)
    tag_ids = list(policy.tags.values_list("pk", flat=True))
    if tag_ids:
        conditions &= Q(tags__in=tag_ids)
    return conditions
