"""The due-time preview on an SLA policy's admin page: start instant and priority in, due instants out."""

from datetime import time as clock_time
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client

from policies.models import BusinessCalendar, OpeningInterval, SlaPolicy
from tests.policies.policy_helpers import FIRST, HIGH, NORMAL, RESOLUTION, make_policy, page_text, preview_url
from tickets.models import Priority

pytestmark = pytest.mark.django_db


def preview(client: Client, policy: SlaPolicy, start: str | None, priority: int | str = HIGH) -> str:
    query = {} if start is None else {"start": start, "priority": str(priority)}
    response = client.get(preview_url(policy), query)
    assert response.status_code == 200
    return page_text(response)


def test_the_preview_counts_business_hours_in_the_calendar_zone(admin_client: Client, office: BusinessCalendar) -> None:
    policy = make_policy(
        calendar=office,
        targets=[
            (HIGH, FIRST, timedelta(hours=2)),
            (HIGH, RESOLUTION, timedelta(hours=8)),
            (NORMAL, FIRST, timedelta(1)),
        ],
    )
    empty = preview(admin_client, policy, None)
    assert "Times are read and shown in Europe/London, the time zone of the calendar “Office”" in empty
    winter = preview(admin_client, policy, "2026-11-27T16:00")  # a Friday; London is on GMT
    assert "High tickets from Fri 2026-11-27 16:00 GMT (UTC+00:00)" in winter
    assert "<td>First response</td><td>2h</td><td>Mon 2026-11-30 10:00 GMT (UTC+00:00)</td>" in winter
    assert "<td>Resolution</td><td>8h</td><td>Mon 2026-11-30 16:00 GMT (UTC+00:00)</td>" in winter
    assert "Next response" not in winter  # no such target for High
    summer = preview(admin_client, policy, "2026-07-03 16:00")  # a Friday on BST
    assert "Mon 2026-07-06 10:00 BST (UTC+01:00)" in summer
    low = preview(admin_client, policy, "2026-07-03 16:00", priority=Priority.LOW)
    assert "This policy has no target for Low tickets" in low


def test_the_preview_of_a_calendar_time_policy_counts_every_hour_in_the_site_zone(admin_client: Client) -> None:
    policy = make_policy(targets=[(HIGH, FIRST, timedelta(hours=2))])
    page = preview(admin_client, policy, "2026-11-27 16:00")
    assert "counts calendar time (it has no business calendar)" in page and "site" in page and "UTC." in page
    assert "<td>First response</td><td>2h</td><td>Fri 2026-11-27 18:00 UTC (UTC+00:00)</td>" in page


@pytest.mark.parametrize(
    ("start", "priority", "message"),
    [
        ("next friday", HIGH, "“next friday” is not a date and time: write it like 2026-11-27 16:00."),
        ("2026-02-30 10:00", HIGH, "is not a date and time"),
        ("", HIGH, "Give a start date and time, like 2026-11-27 16:00."),
        ("2026-11-27 16:00", "", "Choose a priority: each priority has its own targets."),
        ("2026-11-27 16:00", "9", "Select a valid choice."),
        (
            "2027-03-28 01:30",
            HIGH,
            "2027-03-28 01:30 does not exist in Europe/London: that night the clocks go forward "
            "(from UTC+00:00 to UTC+01:00) and skip it. Choose an earlier or a later time.",
        ),
        ("9999-12-31 23:00", HIGH, "The due instants cannot be computed from this start"),
    ],
)
def test_the_preview_explains_what_it_cannot_read(
    admin_client: Client, office: BusinessCalendar, start: str, priority: Any, message: str
) -> None:
    policy = make_policy(calendar=office, targets=[(HIGH, FIRST, timedelta(hours=2))])
    page = preview(admin_client, policy, start, priority)
    assert message in page
    assert "due-times" not in page


def test_a_repeated_local_time_is_read_as_its_first_occurrence_and_the_preview_says_so(
    admin_client: Client,
) -> None:
    london = BusinessCalendar.objects.create(name="Night desk", time_zone="Europe/London")
    for day in range(7):
        OpeningInterval.objects.create(calendar=london, weekday=day, start=clock_time(0), end=None)  # 24/7
    policy = make_policy(calendar=london, targets=[(HIGH, FIRST, timedelta(hours=1))])
    page = preview(admin_client, policy, "2026-10-25 01:30")  # the clocks go back at 02:00 BST
    assert (
        "2026-10-25 01:30 happens twice in Europe/London: that night the clocks go back (from UTC+01:00 to "
        "UTC+00:00). The first reading was used: Sun 2026-10-25 01:30 BST (UTC+01:00)."
    ) in page
    # One real hour later, the local clock reads 01:30 again.
    assert "<td>First response</td><td>1h</td><td>Sun 2026-10-25 01:30 GMT (UTC+00:00)</td>" in page
