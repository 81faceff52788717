"""Business calendars in the admin, through the test client: editing, validation, .ics import, who may edit."""

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pytest
from django.contrib.auth.models import Permission
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from guardian.shortcuts import assign_perm

from policies.engine import add_business
from policies.models import BusinessCalendar, CalendarHoliday, SlaClock, SlaPolicy, SlaTarget
from tests.factories import TeamFactory, UserFactory
from tests.support import admin_change_data, wait_until, webhook_ticket
from tickets.models import EventKind, Priority, TicketEvent

pytestmark = pytest.mark.django_db

ADD_URL = "/admin/policies/businesscalendar/add/"


def calendar_post(
    *,
    name: str = "Office",
    tz: str = "Europe/London",
    team: Any = None,
    intervals: list[tuple[int, str, str]] = (),
    holidays: list[tuple[str, str, str]] = (),  # type: ignore[assignment]
) -> dict[str, str]:
    data = {"name": name, "time_zone": tz, "team": str(team.pk) if team else ""}
    for prefix, rows, fields in (
        ("intervals", intervals, ["weekday", "start", "end"]),
        ("holidays", holidays, ["date", "start", "end"]),
    ):
        data.update(
            {
                f"{prefix}-TOTAL_FORMS": str(len(rows)),
                f"{prefix}-INITIAL_FORMS": "0",
                f"{prefix}-MIN_NUM_FORMS": "0",
                f"{prefix}-MAX_NUM_FORMS": "1000",
            }
        )
        for index, row in enumerate(rows):
            for field, value in zip(fields, row, strict=True):
                data[f"{prefix}-{index}-{field}"] = str(value)
    return data


WEEKDAYS_9_TO_5 = [(day, "09:00", "17:00") for day in range(5)]


def errors_of(response: Any) -> str:
    return response.content.decode()


def test_a_calendar_saved_in_the_admin_drives_the_engine(admin_client: Client) -> None:
    response = admin_client.post(ADD_URL, calendar_post(intervals=WEEKDAYS_9_TO_5, holidays=[("2026-12-25", "", "")]))
    assert response.status_code == 302, errors_of(response)
    calendar = BusinessCalendar.objects.get()
    assert calendar.intervals.count() == 5 and calendar.holidays.count() == 1
    friday_4pm = datetime(2026, 11, 27, 16, 0, tzinfo=UTC)  # London is on UTC in November
    assert add_business(calendar.to_spec(), friday_4pm, timedelta(hours=2)) == datetime(2026, 11, 30, 10, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("intervals", "holidays", "message"),
    [
        ([], [], "no opening hours"),
        ([(0, "09:00", "17:00"), (0, "16:00", "18:00")], [], "overlap"),
        ([(0, "22:00", "06:00"), (1, "05:00", "09:00")], [], "overlap"),
        ([(0, "09:00", "09:00")], [], "09:00"),
        (WEEKDAYS_9_TO_5, [("2026-12-24", "14:00", "12:00")], "2026-12-24"),
    ],
)
def test_the_admin_refuses_impossible_hours_with_a_clear_message(
    admin_client: Client, intervals: Any, holidays: Any, message: str
) -> None:
    response = admin_client.post(ADD_URL, calendar_post(intervals=intervals, holidays=holidays))
    assert response.status_code == 200
    assert message in errors_of(response)
    assert not BusinessCalendar.objects.exists()


def test_the_admin_refuses_an_unknown_time_zone(admin_client: Client) -> None:
    response = admin_client.post(ADD_URL, calendar_post(tz="Mars/Olympus", intervals=WEEKDAYS_9_TO_5))
    assert response.status_code == 200
    assert "Select a valid choice" in errors_of(response)


ICS = b"""BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//test//holidays//EN
BEGIN:VEVENT
UID:1
DTSTART;VALUE=DATE:20261225
DTEND;VALUE=DATE:20261227
SUMMARY:Christmas
END:VEVENT
BEGIN:VEVENT
UID:2
DTSTART;TZID=Europe/London:20261224T120000
DTEND;TZID=Europe/London:20261225T000000
SUMMARY:Christmas Eve afternoon
END:VEVENT
BEGIN:VEVENT
UID:3
DTSTART;VALUE=DATE:20270101
RRULE:FREQ=YEARLY
SUMMARY:New Year
END:VEVENT
END:VCALENDAR
"""


def upload(client: Client, calendar: BusinessCalendar, content: bytes) -> Any:
    url = f"/admin/policies/businesscalendar/{calendar.pk}/import-holidays/"
    return client.post(url, {"ics_file": SimpleUploadedFile("h.ics", content, "text/calendar")}, follow=True)


def test_holidays_import_from_an_ics_file_with_a_summary(admin_client: Client, office: BusinessCalendar) -> None:
    page = errors_of(upload(admin_client, office, ICS))
    assert "Holidays imported: 4 added, 0 already present, 1 ignored." in page
    assert "New Year: repeats; only its first occurrence was imported" in page
    rows = sorted(CalendarHoliday.objects.values_list("date", "start", "end", "name"))
    assert rows == [
        (date(2026, 12, 24), time(12), None, "Christmas Eve afternoon"),
        (date(2026, 12, 25), None, None, "Christmas"),
        (date(2026, 12, 26), None, None, "Christmas"),
        (date(2027, 1, 1), None, None, "New Year"),
    ]
    again = errors_of(upload(admin_client, office, ICS))
    assert "Holidays imported: 0 added, 4 already present, 1 ignored." in again


def test_a_file_that_is_not_icalendar_is_refused(admin_client: Client, office: BusinessCalendar) -> None:
    page = errors_of(upload(admin_client, office, b"this is not a calendar"))
    assert "not a readable iCalendar (.ics) file" in page
    assert not CalendarHoliday.objects.exists()


@pytest.fixture
def lead() -> Any:
    user = UserFactory(username="lead", is_staff=True)
    user.user_permissions.set(
        Permission.objects.filter(
            codename__in=[
                "view_businesscalendar",
                "change_businesscalendar",
                "add_businesscalendar",
                "view_openinginterval",
                "add_openinginterval",
                "change_openinginterval",
                "delete_openinginterval",
                "view_calendarholiday",
                "add_calendarholiday",
                "change_calendarholiday",
                "delete_calendarholiday",
            ]
        )
    )
    return user


def test_a_team_lead_edits_only_their_teams_calendars(lead: Any) -> None:
    team_a, team_b = TeamFactory(name="Team A"), TeamFactory(name="Team B")
    assign_perm("manage_policies", lead, team_a)
    mine = BusinessCalendar.objects.create(name="A hours", team=team_a)
    theirs = BusinessCalendar.objects.create(name="B hours", team=team_b)
    client = Client()
    client.force_login(lead)
    listing = client.get("/admin/policies/businesscalendar/").content.decode()
    assert "A hours" in listing and "B hours" not in listing and "Team B" not in listing
    assert client.get(f"/admin/policies/businesscalendar/{mine.pk}/change/").status_code == 200
    response = client.get(f"/admin/policies/businesscalendar/{theirs.pk}/change/", follow=True)
    assert "B hours" not in response.content.decode()
    assert client.get(f"/admin/policies/businesscalendar/{theirs.pk}/import-holidays/").status_code == 404
    # A new calendar must belong to one of the lead's teams.
    refused = client.post(ADD_URL, calendar_post(team=team_b, intervals=WEEKDAYS_9_TO_5))
    assert "Select a valid choice" in refused.content.decode()
    orphan = client.post(ADD_URL, calendar_post(team=None, intervals=WEEKDAYS_9_TO_5))
    assert "This field is required" in orphan.content.decode()
    created = client.post(ADD_URL, calendar_post(name="A weekend", team=team_a, intervals=WEEKDAYS_9_TO_5))
    assert created.status_code == 302
    assert BusinessCalendar.objects.filter(name="A weekend", team=team_a).exists()


# Recompute: a changed calendar moves the clocks of the open tickets whose policy counts its hours.


def governed_ticket(account: Any, calendar: BusinessCalendar) -> Any:
    """An open ticket (made by a signed webhook delivery) under a policy that counts `calendar`'s hours."""
    policy = SlaPolicy.objects.create(name="Office hours", calendar=calendar)
    SlaTarget.objects.create(
        policy=policy, priority=Priority.NORMAL, kind="first_response", duration=timedelta(hours=2)
    )
    return webhook_ticket(account)


def first_response_clock(ticket: Any) -> SlaClock:
    return SlaClock.objects.get(ticket=ticket, kind="first_response", stopped_at__isnull=True)


@pytest.mark.django_db(transaction=True)
def test_a_changed_calendar_recomputes_the_clocks_of_the_tickets_it_governs(
    task_runner: str, admin_client: Client, office: BusinessCalendar, account_a: Any
) -> None:
    ticket = governed_ticket(account_a, office)
    before = first_response_clock(ticket)
    url = f"/admin/policies/businesscalendar/{office.pk}/change/"
    data = admin_change_data(admin_client.get(url))
    data["time_zone"] = "Asia/Tokyo"  # same hours, read on Tokyo's clock: opening windows that never meet London's
    response = admin_client.post(url, data, follow=True)
    assert "SLA clocks of 1 open ticket are being recomputed in the background." in errors_of(response)
    tokyo = BusinessCalendar.objects.prefetch_related("intervals", "holidays").get(pk=office.pk).to_spec()
    # Business time already used counts on the new calendar: the clock is due where Tokyo's hours say.
    expected = add_business(tokyo, before.running_since, before.target - before.elapsed)
    wait_until(lambda: first_response_clock(ticket).due_at == expected, what="the recompute")
    event = TicketEvent.objects.filter(ticket=ticket, kind=EventKind.SLA).latest("id")
    assert event.data["recomputed"] == "calendar “Office” changed"


def test_a_calendar_no_policy_uses_says_no_ticket_is_recomputed(admin_client: Client, office: BusinessCalendar) -> None:
    url = f"/admin/policies/businesscalendar/{office.pk}/change/"
    data = admin_change_data(admin_client.get(url))
    data["name"] = "Head office"
    page = errors_of(admin_client.post(url, data, follow=True))
    assert "No open ticket is governed by the calendar “Head office”; no SLA clock changes." in page


def test_imported_holidays_recompute_the_tickets_the_calendar_governs(
    admin_client: Client, office: BusinessCalendar, account_a: Any
) -> None:
    governed_ticket(account_a, office)
    page = errors_of(upload(admin_client, office, ICS))
    assert "SLA clocks of 1 open ticket are being recomputed in the background." in page
    again = errors_of(upload(admin_client, office, ICS))  # nothing added: nothing to recompute
    assert "recomputed" not in again
