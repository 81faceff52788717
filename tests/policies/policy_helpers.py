"""Policies and admin pages shared by the SLA policy admin tests."""

from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from policies.models import BusinessCalendar, SlaPolicy, SlaTarget
from tickets.models import Priority

HIGH, NORMAL = Priority.HIGH.value, Priority.NORMAL.value
FIRST, NEXT, RESOLUTION = "first_response", "next_response", "resolution"


def preview_url(policy: SlaPolicy) -> str:
    return f"/admin/policies/slapolicy/{policy.pk}/preview/"


def page_text(response: Any) -> str:
    return str(response.content.decode())


def make_policy(
    name: str = "Gold",
    *,
    calendar: BusinessCalendar | None = None,
    teams: Iterable[Any] = (),
    targets: Iterable[tuple[int, str, timedelta]] = ((HIGH, FIRST, timedelta(hours=4)),),
    **fields: Any,
) -> SlaPolicy:
    policy = SlaPolicy.objects.create(name=name, calendar=calendar, **fields)
    policy.teams.set(list(teams))
    for priority, kind, duration in targets:
        SlaTarget.objects.create(policy=policy, priority=priority, kind=kind, duration=duration)
    return policy
