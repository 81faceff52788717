"""Policy models: business calendars now; SLA policies, clocks and escalations follow (issues 4 and 5)."""

from policies.models.calendars import BusinessCalendar, CalendarHoliday, OpeningInterval, Weekday

__all__ = ["BusinessCalendar", "CalendarHoliday", "OpeningInterval", "Weekday"]
