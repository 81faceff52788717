"""The cached book of policies: one query when nothing changed, reloaded after any edit, however it is made."""

from datetime import time, timedelta
from typing import Any

import pytest

from policies.models import BusinessCalendar, OpeningInterval, SlaPolicy, SlaTarget
from policies.services.rulebook import rulebook
from policies.services.sla import calendar_spec
from tickets.models import Priority, Tag

pytestmark = pytest.mark.django_db


def test_an_unchanged_book_costs_one_query(django_assert_num_queries: Any) -> None:
    policy = SlaPolicy.objects.create(name="Standard")
    SlaTarget.objects.create(
        policy=policy, priority=Priority.NORMAL, kind="first_response", duration=timedelta(hours=1)
    )
    rulebook()
    with django_assert_num_queries(1):
        [entry] = rulebook()
    assert entry.targets_for(Priority.NORMAL) == {"first_response": timedelta(hours=1)}


def test_every_kind_of_edit_reloads_the_book(team_a: Any) -> None:
    policy = SlaPolicy.objects.create(name="Standard")
    assert [entry.rule.name for entry in rulebook()] == ["Standard"]
    target = SlaTarget.objects.create(
        policy=policy, priority=Priority.HIGH, kind="resolution", duration=timedelta(hours=8)
    )
    assert rulebook()[0].targets_for(Priority.HIGH) == {"resolution": timedelta(hours=8)}
    target.duration = timedelta(hours=4)
    target.save()
    assert rulebook()[0].targets_for(Priority.HIGH) == {"resolution": timedelta(hours=4)}
    policy.teams.add(team_a)
    assert rulebook()[0].rule.team_ids == {team_a.pk}
    vip = Tag.objects.create(name="vip")
    vip.sla_policies.add(policy)  # from the other side of the relation
    assert rulebook()[0].rule.tags == {vip.pk}
    target.delete()
    assert rulebook()[0].targets == {}
    policy.enabled = False
    policy.save()
    assert rulebook() == []


def test_editing_opening_hours_in_code_changes_the_calendar_the_engine_sees() -> None:
    calendar = BusinessCalendar.objects.create(name="Office", time_zone="Europe/London")
    interval = OpeningInterval.objects.create(calendar=calendar, weekday=0, start=time(9), end=time(17))
    assert calendar_spec(BusinessCalendar.objects.get()).weekly[0].end == time(17)  # type: ignore[union-attr]
    interval.end = time(12)
    interval.save()
    assert calendar_spec(BusinessCalendar.objects.get()).weekly[0].end == time(12)  # type: ignore[union-attr]
