"""Durations as team leads write them ("4h", "1h 30m", "2d 4h", "90m", "01:30"), and back again."""

import re
from datetime import timedelta

_UNITS = {"d": 86400, "h": 3600, "m": 60, "s": 1}
_PART = re.compile(r"(\d+)\s*([dhms])")
_WHOLE = re.compile(r"^\s*(-?)\s*((?:\d+\s*[dhms]\s*)+)$")
_CLOCK = re.compile(r"^\s*(-?)(\d+):([0-5]\d)(?::([0-5]\d))?\s*$")


class DurationSyntax(ValueError):
    """The text is not a duration."""


def duration_parse(text: str) -> timedelta:
    """Read "2d 4h 30m 10s" (any of the parts, in that order or not), "90m", or "HH:MM[:SS]"; may be negative."""
    lowered = text.strip().lower()
    whole = _WHOLE.match(lowered)
    if whole:
        seconds = sum(int(amount) * _UNITS[unit] for amount, unit in _PART.findall(whole.group(2)))
        return timedelta(seconds=-seconds if whole.group(1) else seconds)
    clock = _CLOCK.match(lowered)
    if clock:
        sign, hours, minutes, secs = clock.groups()
        value = timedelta(hours=int(hours), minutes=int(minutes), seconds=int(secs or 0))
        return -value if sign else value
    raise DurationSyntax(f"“{text}” is not a duration: write it like 4h, 1h 30m, 2d 4h, 90m or 01:30.")


def duration_text(value: timedelta) -> str:
    """A short reading of `value` that `duration_parse` reads back: "1d 2h 30m", "45s", "0m"."""
    total = int(value.total_seconds())
    sign = "-" if total < 0 else ""
    total = abs(total)
    parts = []
    for unit, size in _UNITS.items():
        amount, total = divmod(total, size)
        if amount:
            parts.append(f"{amount}{unit}")
    return sign + (" ".join(parts) or "0m")
