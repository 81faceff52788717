"""Reads of the policies app that carry a rule: which calendars and SLA policies a user may edit."""

from typing import Any

from django.db.models import Count, Q, QuerySet

from policies.models import BusinessCalendar, SlaPolicy
from tickets.selectors import team_ids_with_permission

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
    # Subqueries on the through table rather than joins, so a policy with several teams is one row.
    memberships = SlaPolicy.teams.through.objects
    foreign = memberships.exclude(team_id__in=managed_team_ids(user)).values("slapolicy_id")
    return policies.filter(pk__in=memberships.values("slapolicy_id")).exclude(pk__in=foreign)
