"""Policy models: business calendars, SLA and escalation policies, per-ticket SLA clocks and firings."""

from policies.models.calendars import BusinessCalendar, CalendarHoliday, OpeningInterval, Weekday
from policies.models.escalations import (
    CallState,
    EscalationFiring,
    EscalationLevel,
    EscalationPolicy,
    WebhookAttempt,
    WebhookCall,
)
from policies.models.sla import RESPONSE_KINDS, SlaClock, SlaPolicy, SlaTarget, TargetKind, TicketSla

__all__ = [
    "RESPONSE_KINDS",
    "BusinessCalendar",
    "CalendarHoliday",
    "CallState",
    "EscalationFiring",
    "EscalationLevel",
    "EscalationPolicy",
    "OpeningInterval",
    "SlaClock",
    "SlaPolicy",
    "SlaTarget",
    "TargetKind",
    "TicketSla",
    "WebhookAttempt",
    "WebhookCall",
    "Weekday",
]
