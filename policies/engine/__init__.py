"""The SLA engine: pure functions over plain values. No Django, no models; time is always passed in.

Business time (SLA_SEMANTICS.md, "Business time"): build a `CalendarSpec`, then `add_business`,
`business_between`, `open_spans` and `is_open`. See policies/engine/business_time.py for the rules at clock
changes and the edge cases.
"""

from policies.engine.business_time import HORIZON, add_business, business_between, is_open, open_spans
from policies.engine.calendar import CalendarSpec, Holiday, WeeklyInterval, validate
from policies.engine.errors import BusinessTimeError, InvalidCalendar, NoOpening, RangeTooLong

__all__ = [
    "HORIZON",
    "BusinessTimeError",
    "CalendarSpec",
    "Holiday",
    "InvalidCalendar",
    "NoOpening",
    "RangeTooLong",
    "WeeklyInterval",
    "add_business",
    "business_between",
    "is_open",
    "open_spans",
    "validate",
]
