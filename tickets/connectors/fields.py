"""Readers of what platforms send, shared by every connector: the fields of a delivery, and the answers to
our replies.

A delivery is untrusted input: each field reader checks one field and either returns it cleaned or raises
PayloadInvalid naming the field by its path (`where`, like `entry[0].messaging[1].message.mid`), so the
platform's developers, and ours, can see at once what was wrong. The same limits hold on every channel, as
the API channel set them first: a longer id or text is refused, while a display name read with field_name is
cut instead (it is only shown).

An answer to a reply is read leniently instead: once the platform has accepted a reply, an answer without
the id we hoped for, or one that is not even JSON, still means the reply was sent.
"""

import json
import math
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from tickets.connectors.base import Attachment, PayloadInvalid, SendFailed

MAX_ID = 255
MAX_NAME = 200
MAX_TEXT = 100_000
MAX_URL = 2000
# Platforms send the moment a message was written; anything outside these years is a bug upstream, and
# extreme values cannot be stored or shown (PostgreSQL and Python disagree on the range).
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
LATEST = datetime(2100, 1, 1, tzinfo=UTC)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def json_object(body: bytes) -> dict[str, Any]:
    """The body as a JSON object, or PayloadInvalid saying why it is not one."""
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise PayloadInvalid(f"the body is not valid JSON: {exc}") from exc
    except (ValueError, RecursionError) as exc:
        # Python's own limits: integers over 4,300 digits, nesting deeper than the recursion limit.
        raise PayloadInvalid(f"the body is JSON this endpoint cannot read: {exc}") from exc
    if not isinstance(data, dict):
        raise PayloadInvalid("the body must be a JSON object")
    return data


def field_object(value: object, where: str) -> dict[str, Any]:
    """`value`, the field at `where`, which must be a JSON object."""
    if value is None:
        raise PayloadInvalid(f"missing field '{where}'")
    if not isinstance(value, dict):
        raise PayloadInvalid(f"field '{where}' must be an object")
    return value


def field_array(value: object, where: str) -> list[Any]:
    """`value`, the field at `where`, which must be a JSON array."""
    if value is None:
        raise PayloadInvalid(f"missing field '{where}'")
    if not isinstance(value, list):
        raise PayloadInvalid(f"field '{where}' must be an array")
    return value


def field_string(value: object, where: str, *, max_length: int, required: bool = True, cut: bool = False) -> str:
    """The string at `where`, NUL characters dropped and trimmed.

    PayloadInvalid when it is missing or empty (if `required`), not a string, not valid Unicode, or longer
    than `max_length`; with `cut` a longer one is shortened instead, for text that is only shown.
    """
    if value is None:
        if required:
            raise PayloadInvalid(f"missing field '{where}'")
        return ""
    if not isinstance(value, str):
        raise PayloadInvalid(f"field '{where}' must be a string")
    # PostgreSQL text cannot hold NUL characters, and no person types one: drop them.
    value = value.replace("\x00", "").strip()
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise PayloadInvalid(f"field '{where}' is not valid Unicode (a lone surrogate escape)") from exc
    if required and not value:
        raise PayloadInvalid(f"field '{where}' must not be empty")
    if len(value) > max_length:
        if not cut:
            raise PayloadInvalid(f"field '{where}' is longer than {max_length} characters")
        value = value[:max_length].rstrip()
    return value


def field_id(value: object, where: str) -> str:
    """A required platform id given as a string or an integer, as a string."""
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    elif value is not None and not isinstance(value, str):
        raise PayloadInvalid(f"field '{where}' must be a string or an integer")
    return field_string(value, where, max_length=MAX_ID)


def field_name(value: object, where: str) -> str:
    """An optional display name: a long one is cut, not refused (it is only shown)."""
    return field_string(value, where, max_length=MAX_NAME, required=False, cut=True)


def unix_time(
    value: object, where: str, *, per_second: int = 1, digits: bool = False, fractions: bool = False
) -> datetime:
    """A platform's Unix time as an aware UTC datetime between 2000 and 2100.

    `per_second` is 1 for a time in seconds, 1000 for one in milliseconds. A whole number is always read; with
    `digits` also a string of digits (platforms that send numbers as text), with `fractions` also a fractional
    number. PayloadInvalid naming the field otherwise.
    """
    unit = "seconds" if per_second == 1 else "milliseconds"
    if value is None:
        raise PayloadInvalid(f"missing field '{where}'")
    if digits and isinstance(value, str):
        text = value.strip()
        value = int(text) if text.isascii() and text.isdigit() and len(text) <= 20 else value
    number: int | float
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif fractions and isinstance(value, float):
        number = value
    else:
        raise PayloadInvalid(f"field '{where}' must be a Unix time in {unit}")
    # Compared before converting: a huge integer cannot become a float, and NaN fails every comparison.
    if not EARLIEST.timestamp() * per_second <= number <= LATEST.timestamp() * per_second:
        raise PayloadInvalid(f"field '{where}' must be between {EARLIEST:%Y} and {LATEST:%Y}")
    if isinstance(number, int):
        # Whole numbers are converted exactly, to the microsecond, without passing through a float.
        return _EPOCH + timedelta(microseconds=number * (1_000_000 // per_second))
    return datetime.fromtimestamp(number / per_second, UTC)


def utc_instant(value: datetime, where: str) -> datetime:
    """`value`, the field at `where`, as an aware instant in UTC between 2000 and 2100, or PayloadInvalid."""
    if value.tzinfo is None:
        raise PayloadInvalid(f"field '{where}' must include a time zone")
    try:
        value = value.astimezone(UTC)
    except OverflowError as exc:
        raise PayloadInvalid(f"field '{where}' is out of range") from exc
    if not EARLIEST <= value <= LATEST:
        raise PayloadInvalid(f"field '{where}' must be between {EARLIEST:%Y} and {LATEST:%Y}")
    return value


def coordinate(value: object, where: str, *, limit: int, text: bool = False) -> float:
    """The latitude (`limit` 90) or longitude (`limit` 180) at `where`: a JSON number, or with `text` also a
    decimal string (as forms and XML carry numbers)."""
    if value is None:
        raise PayloadInvalid(f"missing field '{where}'")
    number: float | None = None
    # The limit is checked before float(): a huge integer cannot become a float.
    if isinstance(value, (int, float)) and not isinstance(value, bool) and abs(value) <= limit:
        number = float(value)
    elif text and isinstance(value, str) and len(value) <= 64:
        try:
            number = float(value)
        except ValueError:
            number = None
    if number is None or not math.isfinite(number) or abs(number) > limit:
        raise PayloadInvalid(f"field '{where}' must be a number between -{limit} and {limit}")
    return number


def location(latitude: str, longitude: str, place: str = "", *, named: bool = False) -> tuple[Attachment, str]:
    """A shared location as an attachment (a geo: URI) and the text that shows it in the ticket.

    The coordinates come written as the ticket should show them (each platform writes numbers its own way);
    `place` is the name or address the contact shared, and with `named` it names the attachment too.
    """
    point = f"{latitude}, {longitude}"
    text = f"Location: {place} ({point})" if place else f"Location: ({point})"
    return Attachment(kind="location", url=f"geo:{latitude},{longitude}", name=place if named else ""), text


def decimal_location(
    latitude: object, longitude: object, where: tuple[str, str], *, place: str = ""
) -> tuple[Attachment, str]:
    """A location given as numbers or decimal strings (Telegram, LINE, Twilio), shown to six decimals at most,
    with `place` naming the attachment. `where` names the latitude and longitude fields, for error messages."""
    lat = coordinate(latitude, where[0], limit=90, text=True)
    lon = coordinate(longitude, where[1], limit=180, text=True)
    return location(_six_decimals(lat), _six_decimals(lon), place, named=True)


def _six_decimals(number: float) -> str:
    """`number` rounded to six decimals (about 10 cm), without trailing zeros: 51.501364, -0.14189, 35."""
    return f"{number:.6f}".rstrip("0").rstrip(".")


# --- Answers to our replies ----------------------------------------------------------------------------------


def json_answer(body: bytes | str) -> dict[str, Any]:
    """A platform's answer as a JSON object; {} when it is empty or not one (a 2xx is a success regardless)."""
    try:
        data = json.loads(body) if body.strip() else {}
    except (ValueError, RecursionError):
        return {}
    return data if isinstance(data, dict) else {}


def answer_value(answer: object, *path: str | int) -> object:
    """The value at `path` (keys of objects, indexes of arrays) in a platform's parsed answer, or None."""
    value = answer
    for step in path:
        if isinstance(step, int):
            value = value[step] if isinstance(value, list) and -len(value) <= step < len(value) else None
        else:
            value = value.get(step) if isinstance(value, dict) else None
    return value


def account_named(answer: object, *paths: tuple[str | int, ...]) -> str:
    """What a platform's answer about our account calls it: the first non-empty string at one of `paths`
    (capped at MAX_NAME), or "the account" when it names none."""
    for path in paths:
        value = answer_value(answer, *path)
        if isinstance(value, str) and value.strip():
            return value.strip()[:MAX_NAME]
    return "the account"


def answer_id(answer: object, *path: str | int) -> str | None:
    """The id (a string or an integer) at `path` in a platform's parsed answer, or None when there is none."""
    value = answer_value(answer, *path)
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        return None
    return str(value)[:MAX_ID] or None


def answer_text(answer: object, *path: str | int) -> str:
    """The string at `path` in a platform's parsed answer (an error's description, say), or ""."""
    value = answer_value(answer, *path)
    return value if isinstance(value, str) else ""


def refusal(exc: SendFailed, describe: Callable[[dict[str, Any]], str]) -> SendFailed:
    """`exc` with the platform's own account of what went wrong, when its error answer gives one.

    `describe` reads that account out of the answer's JSON object ("" when it holds none): it replaces the
    raw answer in the message, which then reads "the platform answered HTTP 400: <the platform's words>".
    """
    if exc.status is None:
        return exc
    description = describe(json_answer(exc.answer))
    if not description:
        return exc
    message = f"the platform answered HTTP {exc.status}: {description}"[:2000]
    return SendFailed(message, retryable=exc.retryable, status=exc.status, answer=exc.answer)
