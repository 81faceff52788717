"""Reads of the policies app that carry a rule: which calendars, SLA and escalation policies a user may edit,
and which open tickets an edit of an escalation policy may change."""

from collections.abc import Iterable
from typing import Any

from django.contrib.auth.models import User
from django.db.models import Count, Q, QuerySet

from policies.models import BusinessCalendar, EscalationPolicy, SlaPolicy
from policies.services.recompute import policy_conditions_q
from policies.services.sla import LIVE_STATUSES
from tickets.models import Ticket
from tickets.selectors import team_ids_with_permission, team_members

# Holding `manage_policies` on a team lets a team lead edit that team's calendars and policies.
MANAGE_PERMISSION = "manage_policies"


def managed_team_ids(user: Any) -> list[int]:
    """The teams whose calendars and policies `user` may edit (every team for a superuser)."""
    return team_ids_with_permission(user, MANAGE_PERMISSION)


def editable_calendars(user: Any) -> QuerySet[BusinessCalendar]:
    """The calendars `user` may see and edit in the admin: their teams' (all, for a superuser)."""
    calendars = BusinessCalendar.objects.select_related("team").annotate(
        interval_count=Count("intervals", distinct=True), holiday_count=Count("holidays", distinct=True)
    )
    if getattr(user, "is_superuser", False):
        return calendars
    return calendars.filter(team_id__in=managed_team_ids(user))


def policy_calendars(user: Any) -> QuerySet[BusinessCalendar]:
    """The calendars `user` may give a policy: their teams' and the global ones, with no team (all, for a superuser)."""
    calendars = BusinessCalendar.objects.select_related("team")
    if getattr(user, "is_superuser", False):
        return calendars
    return calendars.filter(Q(team_id__in=managed_team_ids(user)) | Q(team__isnull=True))


def editable_policies(user: Any) -> QuerySet[SlaPolicy]:
    """The SLA policies `user` may see and edit in the admin (all, for a superuser).

    A lead's policies are those that name teams, every one of them managed by the lead: a policy without
    teams applies to every team, and one that also names another team governs tickets the lead may not rule.
    """
    policies = (
        SlaPolicy.objects.select_related("calendar")
        .prefetch_related("teams", "tags")
        .annotate(target_count=Count("targets", distinct=True))
    )
    if getattr(user, "is_superuser", False):
        return policies
    return policies.filter(pk__in=_lead_sla_policy_ids(managed_team_ids(user)))


def _lead_sla_policy_ids(team_ids: Iterable[int]) -> QuerySet[SlaPolicy, Any]:
    """A subquery of the SLA policies that name teams, all of them among `team_ids`."""
    # Subqueries on the through table rather than joins, so a policy with several teams is one row.
    memberships = SlaPolicy.teams.through.objects
    foreign = memberships.exclude(team_id__in=list(team_ids)).values("slapolicy_id")
    return SlaPolicy.objects.filter(pk__in=memberships.values("slapolicy_id")).exclude(pk__in=foreign).values("pk")


def editable_escalation_policies(user: Any) -> QuerySet[EscalationPolicy]:
    """The escalation policies `user` may see and edit in the admin (all, for a superuser).

    A lead's are those whose own teams are all theirs and whose SLA policy, if any, is one of their SLA
    policies; at least one of the two must bound the policy, since one with neither applies to every ticket.
    """
    policies = (
        EscalationPolicy.objects.select_related("sla_policy")
        .prefetch_related("teams", "tags")
        .annotate(level_count=Count("levels", distinct=True))
    )
    if getattr(user, "is_superuser", False):
        return policies
    team_ids = managed_team_ids(user)
    memberships = EscalationPolicy.teams.through.objects
    foreign = memberships.exclude(team_id__in=team_ids).values("escalationpolicy_id")
    bounded = Q(pk__in=memberships.values("escalationpolicy_id")) | Q(sla_policy__isnull=False)
    sla_allowed = Q(sla_policy__isnull=True) | Q(sla_policy__in=_lead_sla_policy_ids(team_ids))
    return policies.filter(bounded, sla_allowed).exclude(pk__in=foreign)


def policy_agents(user: Any) -> QuerySet[User]:
    """The active agents `user` may name in an escalation level: their teams' agents (all, for a superuser)."""
    if getattr(user, "is_superuser", False):
        return User.objects.filter(is_active=True).order_by("username")
    return team_members(managed_team_ids(user)).order_by("username")


def escalation_tickets_to_recompute(policy: EscalationPolicy) -> list[int]:
    """The open tickets an edit of `policy` may change: following it now, or matching its conditions now.

    Call it after a save (the tickets that match the new conditions are wanted) or before a deletion (the
    tickets that still follow the policy are wanted).
    """
    wanted = Q(sla__escalation_policy_id=policy.pk) if policy.pk is not None else Q(pk__in=[])
    if policy.enabled and policy.pk is not None:
        # The condition fields policy_conditions_q reads are the same on both kinds of policy.
        matching = policy_conditions_q(policy)
        if policy.sla_policy_id is not None:
            matching &= Q(sla__policy_id=policy.sla_policy_id)
        wanted |= matching
    tickets = Ticket.objects.filter(wanted, status__in=LIVE_STATUSES)
    return list(tickets.values_list("pk", flat=True).distinct())
