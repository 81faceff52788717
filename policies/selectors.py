"""Reads of the policies app that carry a rule: which calendars (and later policies) a user may edit."""

from typing import Any

from django.db.models import Count, QuerySet

from policies.models import BusinessCalendar
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
