"""Policy models: business calendars, SLA policies and targets, and per-ticket SLA clocks."""

from policies.models.calendars import BusinessCalendar, CalendarHoliday, OpeningInterval, Weekday
from policies.models.sla import RESPONSE_KINDS, SlaClock, SlaPolicy, SlaTarget, TargetKind, TicketSla

__all__ = [
    "RESPONSE_KINDS",
    "BusinessCalendar",
    "CalendarHoliday",
    "OpeningInterval",
    "SlaClock",
    "SlaPolicy",
    "SlaTarget",
    "TargetKind",
    "TicketSla",
    "Weekday",
]
