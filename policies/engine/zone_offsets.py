"""A time zone's UTC offset over a stretch of real time, as pieces of constant offset.

zoneinfo answers "what is the offset at this instant" but does not list its transitions, so they are found
by sampling the offset every 12 hours and bisecting to the exact second wherever two samples differ.
Sampling would miss an offset change that is undone within one step; tzdata has none: its closest pair of
offset changes is almost 4 days apart (Africa/Freetown, 1939), and its rules for the future are yearly DST.
Transitions in tzdata fall on whole seconds, so bisecting to one second finds them exactly.
"""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

SECOND_US = 1_000_000
_SAMPLE_STEP_S = 12 * 3600
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def offset_pieces(zone: ZoneInfo, start_us: int, end_us: int) -> list[tuple[int, int, int]]:
    """(start_us, end_us, offset_us) for each stretch of constant offset covering [start_us, end_us).

    Instants are microseconds since the Unix epoch (UTC); both bounds must be whole seconds.
    """
    if start_us % SECOND_US or end_us % SECOND_US:
        raise ValueError("offset pieces are computed between whole seconds")
    first, last = start_us // SECOND_US, end_us // SECOND_US
    pieces: list[tuple[int, int, int]] = []
    piece_start, piece_offset = first, _offset_s(zone, first)
    sample = first
    # Samples run up to the last second inside the range (the end is exclusive).
    while sample < last - 1:
        following = min(sample + _SAMPLE_STEP_S, last - 1)
        following_offset = _offset_s(zone, following)
        known = sample
        while following_offset != piece_offset:
            change = _first_change(zone, known, piece_offset, following)
            pieces.append((piece_start * SECOND_US, change * SECOND_US, piece_offset * SECOND_US))
            piece_start, piece_offset = change, _offset_s(zone, change)
            known = change
        sample = following
    pieces.append((piece_start * SECOND_US, last * SECOND_US, piece_offset * SECOND_US))
    return pieces


def _first_change(zone: ZoneInfo, known: int, known_offset: int, changed: int) -> int:
    """The first second after `known` (offset `known_offset`) and up to `changed` whose offset differs."""
    low, high = known, changed
    while high - low > 1:
        middle = (low + high) // 2
        if _offset_s(zone, middle) == known_offset:
            low = middle
        else:
            high = middle
    return high


def _offset_s(zone: ZoneInfo, instant_s: int) -> int:
    offset = (_EPOCH + timedelta(seconds=instant_s)).astimezone(zone).utcoffset()
    if offset is None:  # pragma: no cover - a ZoneInfo always has an offset
        raise ValueError(f"{zone.key} has no UTC offset")
    # Old local mean times have offsets in seconds (Europe/Amsterdam +00:19:32), never finer.
    return offset.days * 86_400 + offset.seconds
