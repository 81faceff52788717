"""Fixtures of the policies tests."""

from datetime import time

import pytest

from policies.models import BusinessCalendar, OpeningInterval


@pytest.fixture
def office(db: None) -> BusinessCalendar:
    """Monday to Friday, 09:00-17:00 in London."""
    calendar = BusinessCalendar.objects.create(name="Office", time_zone="Europe/London")
    for day in range(5):
        OpeningInterval.objects.create(calendar=calendar, weekday=day, start=time(9), end=time(17))
    return calendar
