"""Business calendars as team leads edit them: a time zone, weekly opening intervals and holidays.

The rules of business time live in policies/engine (SLA_SEMANTICS.md); `BusinessCalendar.to_spec()` turns
the rows into the engine's frozen CalendarSpec.
"""

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from django.core.exceptions import ValidationError
from django.db import models

from policies.engine import CalendarSpec, Holiday, WeeklyInterval
from tickets.models import Team


def validate_time_zone(value: str) -> None:
    """Refuse anything that is not an IANA time zone name."""
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValidationError(f"{value!r} is not an IANA time zone name, like Europe/London") from exc


def time_zone_choices() -> list[tuple[str, str]]:
    """Every IANA zone, sorted, for the admin's drop-down."""
    return [(name, name) for name in sorted(available_timezones())]


class Weekday(models.IntegerChoices):
    MONDAY = 0, "Monday"
    TUESDAY = 1, "Tuesday"
    WEDNESDAY = 2, "Wednesday"
    THURSDAY = 3, "Thursday"
    FRIDAY = 4, "Friday"
    SATURDAY = 5, "Saturday"
    SUNDAY = 6, "Sunday"


class BusinessCalendar(models.Model):
    """When a team is open for business, in one time zone."""

    name = models.CharField(max_length=100)
    team = models.ForeignKey(
        Team,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="calendars",
        help_text="The team whose leads may edit this calendar. Empty: only superusers may.",
    )
    time_zone = models.CharField(
        max_length=64,
        default="UTC",
        validators=[validate_time_zone],
        help_text="Opening hours are wall-clock hours in this zone, whatever its UTC offset that day.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["team", "name"], name="calendar_name_unique_per_team")]

    def __str__(self) -> str:
        return f"{self.name} ({self.time_zone})"

    def to_spec(self) -> CalendarSpec:
        """The engine's value for this calendar (prefetch `intervals` and `holidays` when loading many)."""
        return CalendarSpec(
            tz=self.time_zone,
            weekly=tuple(interval.to_spec() for interval in self.intervals.all()),
            holidays=tuple(holiday.to_spec() for holiday in self.holidays.all()),
        )


class OpeningInterval(models.Model):
    """Opening hours on one weekday. An end at or before the start runs past midnight (22:00-06:00)."""

    calendar = models.ForeignKey(BusinessCalendar, on_delete=models.CASCADE, related_name="intervals")
    weekday = models.PositiveSmallIntegerField(choices=Weekday.choices)
    start = models.TimeField(help_text="Local time, e.g. 09:00.")
    end = models.TimeField(
        null=True,
        blank=True,
        help_text="Local time, e.g. 17:00. Empty means 24:00. At or before the start: the next day (overnight).",
    )

    class Meta:
        ordering = ["weekday", "start"]
        constraints = [
            models.CheckConstraint(condition=models.Q(weekday__gte=0, weekday__lte=6), name="interval_weekday_valid"),
            models.CheckConstraint(
                condition=models.Q(end__isnull=True) | ~models.Q(end=models.F("start")),
                name="interval_not_empty",
            ),
        ]

    def __str__(self) -> str:
        return self.to_spec().label()

    def to_spec(self) -> WeeklyInterval:
        return WeeklyInterval(weekday=self.weekday, start=self.start, end=self.end)


class CalendarHoliday(models.Model):
    """A closed date, or only some wall-clock hours of it (24 December 12:00-24:00)."""

    calendar = models.ForeignKey(BusinessCalendar, on_delete=models.CASCADE, related_name="holidays")
    date = models.DateField()
    name = models.CharField(max_length=200, blank=True)
    start = models.TimeField(null=True, blank=True, help_text="Empty with an empty end: the whole day is closed.")
    end = models.TimeField(null=True, blank=True, help_text="Empty means 24:00.")

    class Meta:
        ordering = ["date", "start"]
        constraints = [
            models.UniqueConstraint(
                fields=["calendar", "date"],
                condition=models.Q(start__isnull=True, end__isnull=True),
                name="one_whole_day_holiday_per_date",
            ),
            models.CheckConstraint(
                condition=models.Q(start__isnull=True)
                | models.Q(end__isnull=True)
                | models.Q(end__gt=models.F("start")),
                name="holiday_hours_ordered",
            ),
        ]

    def __str__(self) -> str:
        label = self.to_spec().label()
        return f"{label} {self.name}".strip()

    def to_spec(self) -> Holiday:
        return Holiday(date=self.date, start=self.start, end=self.end)
