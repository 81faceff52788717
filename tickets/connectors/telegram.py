"""Telegram Bot API: a bot's updates arrive by webhook, its replies go out with sendMessage.

Telegram has no verification request: the bot registers its webhook with setWebhook, whose `secret_token`
Telegram sends back in the X-Telegram-Bot-Api-Secret-Token header of every update. Each request carries one
Update. Credentials: `secret` is that secret_token, `access_token` the bot token from @BotFather, `base_url`
the Bot API ("" for https://api.telegram.org).

Message ids are unique within a chat only, so a message's external id is "<chat id>:<message id>". The
contact is the chat: in a private chat it is the person (chat.id equals from.id); in a group it is the group,
since that is where a bot's reply goes. Telegram repeats none of the bot's own messages and reports no
delivery or read status, so this connector yields no Echo and no StatusUpdate.

The second half of this module holds the field readers the LINE and Twilio connectors share with it.
"""

import hmac
import json
import math
import urllib.parse
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from tickets.connectors.base import (
    Attachment,
    Credentials,
    Delivery,
    Event,
    HandshakeAnswer,
    HandshakeFailed,
    Ignored,
    InboundMessage,
    MessageEdit,
    OutboundReply,
    PayloadInvalid,
    SendFailed,
    SendResult,
    SignatureInvalid,
    post_json,
)

SIGNATURE_HEADER = "X-Telegram-Bot-Api-Secret-Token"
DEFAULT_BASE_URL = "https://api.telegram.org"

# The message fields that carry a file, in the order they are looked at: an animation also sets `document`
# (for old clients), so it must be seen first.
_FILE_FIELDS = (
    ("animation", "video"),
    ("video", "video"),
    ("video_note", "video"),
    ("audio", "audio"),
    ("voice", "audio"),
    ("document", "file"),
    ("sticker", "sticker"),
)


def handshake(*, credentials: Credentials, delivery: Delivery) -> HandshakeAnswer:
    """Telegram has no verification request."""
    raise HandshakeFailed(
        "Telegram has no handshake: register the webhook with setWebhook and a secret_token, "
        f"which Telegram sends back in the {SIGNATURE_HEADER} header"
    )


def verify(*, credentials: Credentials, delivery: Delivery) -> None:
    """Raise SignatureInvalid unless the secret-token header is the account's secret (compared in constant time)."""
    if not credentials.secret:
        raise SignatureInvalid("the channel account has no secret token to check deliveries against")
    given = delivery.header(SIGNATURE_HEADER)
    if not given:
        raise SignatureInvalid(f"missing {SIGNATURE_HEADER} header")
    if not hmac.compare_digest(given.encode("utf-8", "replace"), credentials.secret.encode("utf-8", "replace")):
        raise SignatureInvalid(f"{SIGNATURE_HEADER} is not this account's secret token")


def parse(*, credentials: Credentials, delivery: Delivery) -> list[Event]:
    """The one update in a delivery: a message, an edit, or an Ignored for every other kind of update."""
    update = json_object(delivery.body)
    clean_id(update.get("update_id"), "update_id")
    if "message" in update:
        return [_message(update["message"], "message")]
    if "edited_message" in update:
        return [_edit(update["edited_message"], "edited_message")]
    kind = next((key for key in update if key != "update_id"), "update")
    return [Ignored(kind=safe_label(kind), detail="a kind of update the helpdesk does not handle")]


def send_reply(*, credentials: Credentials, reply: OutboundReply, timeout: float) -> SendResult:
    """Send the reply with sendMessage; its id is "<chat id>:<message id>", like an inbound message's."""
    if not credentials.access_token:
        raise SendFailed("the channel account has no bot token", retryable=False)
    # The token goes in the path: quote it, so a stray "/" or "?" cannot point the call elsewhere.
    token = urllib.parse.quote(credentials.access_token, safe=":")
    url = f"{base_url(credentials, DEFAULT_BASE_URL)}/bot{token}/sendMessage"
    body = json.dumps({"chat_id": reply.recipient_id, "text": reply.text}).encode()
    try:
        answer = json_answer(post_json(url, body, headers={}, timeout=timeout))
    except SendFailed as exc:
        raise refusal(exc, _description) from exc
    if answer.get("ok") is False:
        raise SendFailed(f"Telegram refused the message: {_description(answer) or 'no reason given'}", retryable=False)
    result = answer.get("result")
    if not isinstance(result, dict) or not _is_id(result.get("message_id")):
        return SendResult(external_id=None)
    chat = result.get("chat")
    chat_id = chat.get("id") if isinstance(chat, dict) and _is_id(chat.get("id")) else reply.recipient_id
    return SendResult(external_id=f"{chat_id}:{result['message_id']}"[:MAX_ID])


def _description(answer: dict[str, Any]) -> str:
    description = answer.get("description")
    return description if isinstance(description, str) else ""


def _message(data: object, where: str) -> Event:
    message = json_field_object(data, where)
    chat = json_field_object(message.get("chat"), f"{where}.chat")
    chat_id, external_id = _ids(message, chat, where)
    sent_at = epoch_instant(message.get("date"), f"{where}.date")
    text, attachments = _content(message, where)
    if not text and not attachments:
        return Ignored(kind=where, detail="a message with no text, caption or media the helpdesk reads")
    return InboundMessage(
        external_id=external_id,
        sender_id=chat_id,
        sender_name=_sender_name(message, chat, where),
        text=text,
        sent_at=sent_at,
        attachments=attachments,
    )


def _edit(data: object, where: str) -> Event:
    message = json_field_object(data, where)
    chat_id, external_id = _ids(message, json_field_object(message.get("chat"), f"{where}.chat"), where)
    text = _text(message, where)
    if not text:
        # A live location moving, or a media message whose caption was removed: no text to record.
        return Ignored(kind=where, detail="an edit without text or caption")
    edited = "edit_date" if "edit_date" in message else "date"
    return MessageEdit(
        external_id=external_id,
        sender_id=chat_id,
        text=text,
        edited_at=epoch_instant(message.get(edited), f"{where}.{edited}"),
    )


def _ids(message: dict[str, Any], chat: dict[str, Any], where: str) -> tuple[str, str]:
    """The chat's id (the contact) and the message's external id, "<chat id>:<message id>"."""
    chat_id = clean_id(chat.get("id"), f"{where}.chat.id")
    message_id = clean_id(message.get("message_id"), f"{where}.message_id")
    return chat_id, clean_string(f"{chat_id}:{message_id}", f"{where}.message_id", max_length=MAX_ID)


def _text(message: dict[str, Any], where: str) -> str:
    """The message's text, or for a media message its caption ("" when it has neither)."""
    field = "text" if "text" in message else "caption"
    return clean_string(message.get(field), f"{where}.{field}", max_length=MAX_TEXT, required=False)


def _content(message: dict[str, Any], where: str) -> tuple[str, tuple[Attachment, ...]]:
    text = _text(message, where)
    if "photo" in message:
        return text, (_photo(message["photo"], f"{where}.photo"),)
    for field, kind in _FILE_FIELDS:
        if field in message:
            return text, (_file(message[field], f"{where}.{field}", kind),)
    if "venue" in message:
        venue = json_field_object(message["venue"], f"{where}.venue")
        title = clean_string(venue.get("title"), f"{where}.venue.title", max_length=MAX_NAME, required=False)
        address = clean_string(venue.get("address"), f"{where}.venue.address", max_length=MAX_NAME, required=False)
        return _located(venue.get("location"), f"{where}.venue.location", ", ".join(filter(None, (title, address))))
    if "location" in message:
        return _located(message["location"], f"{where}.location", "")
    return text, ()


def _located(data: object, where: str, label: str) -> tuple[str, tuple[Attachment, ...]]:
    point = json_field_object(data, where)
    attachment, text = location(
        point.get("latitude"), point.get("longitude"), (f"{where}.latitude", f"{where}.longitude"), label=label
    )
    return text, (attachment,)


def _photo(data: object, where: str) -> Attachment:
    """The largest of the sizes Telegram offers of a photo."""
    if not isinstance(data, list) or not data:
        raise PayloadInvalid(f"field '{where}' must be a non-empty list of photo sizes")
    sizes = [json_field_object(size, f"{where}[{index}]") for index, size in enumerate(data)]

    def area(size: dict[str, Any]) -> tuple[int, int]:
        numbers = [size.get(key) for key in ("width", "height", "file_size")]
        width, height, file_size = (n if isinstance(n, int) and not isinstance(n, bool) else 0 for n in numbers)
        return width * height, file_size

    index, largest = max(enumerate(sizes), key=lambda pair: area(pair[1]))
    return _file(largest, f"{where}[{index}]", "image")


def _file(data: object, where: str, kind: str) -> Attachment:
    media = json_field_object(data, where)
    return Attachment(
        kind=kind,
        media_id=clean_string(media.get("file_id"), f"{where}.file_id", max_length=MAX_ID),
        mime_type=clean_string(media.get("mime_type"), f"{where}.mime_type", max_length=MAX_NAME, required=False),
        name=clean_string(media.get("file_name"), f"{where}.file_name", max_length=MAX_ID, required=False),
    )


def _sender_name(message: dict[str, Any], chat: dict[str, Any], where: str) -> str:
    """The person's name in a private chat; a group's title in a group (the group is the contact there)."""
    if chat.get("type") != "private" and chat.get("title") is not None:
        return clean_name(chat.get("title"), f"{where}.chat.title")
    person = message.get("from", chat)
    if not isinstance(person, dict):
        raise PayloadInvalid(f"field '{where}.from' must be an object")
    name = " ".join(
        clean_name(person.get(field), f"{where}.from.{field}") for field in ("first_name", "last_name")
    ).strip()
    return name or clean_name(person.get("username"), f"{where}.from.username")


def _is_id(value: object) -> bool:
    return isinstance(value, (int, str)) and not isinstance(value, bool) and len(str(value)) <= MAX_ID


# --- Field readers shared by the Telegram, LINE and Twilio connectors ---------------------------------------
# Limits as the API channel keeps them: longer ids and texts are refused, names are cut.

MAX_ID = 255
MAX_NAME = 200
MAX_TEXT = 100_000
# Platforms send the moment a message was written; anything outside these years is a bug upstream, and
# extreme values cannot be stored or shown (PostgreSQL and Python disagree on the range).
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
LATEST = datetime(2100, 1, 1, tzinfo=UTC)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def base_url(credentials: Credentials, default: str) -> str:
    """The account's API base URL without a trailing slash: the platform's own unless another is set."""
    return (credentials.base_url or default).rstrip("/")


def json_object(body: bytes) -> dict[str, Any]:
    """The body as a JSON object, or PayloadInvalid."""
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


def json_field_object(value: object, where: str) -> dict[str, Any]:
    """`value`, the field at `where`, if it is a JSON object; PayloadInvalid if it is missing or anything else."""
    if value is None:
        raise PayloadInvalid(f"missing field '{where}'")
    if not isinstance(value, dict):
        raise PayloadInvalid(f"field '{where}' must be an object")
    return value


def json_answer(body: bytes) -> dict[str, Any]:
    """A platform's answer as a JSON object; {} when it is empty or not one (a 2xx is a success regardless)."""
    try:
        data = json.loads(body) if body.strip() else {}
    except (ValueError, RecursionError):
        return {}
    return data if isinstance(data, dict) else {}


def clean_string(value: object, where: str, *, max_length: int, required: bool = True, cut: bool = False) -> str:
    """The string at `where`, NUL characters dropped and trimmed; PayloadInvalid when it is missing (if required),
    not a string, not valid Unicode, or longer than `max_length` (unless `cut`: then it is shortened)."""
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


def safe_label(value: str) -> str:
    """A name taken from a delivery to record as is (a JSON key, an event type): storable and at most MAX_ID long."""
    return value.replace("\x00", "").encode("utf-8", "replace").decode("utf-8")[:MAX_ID]


def clean_name(value: object, where: str) -> str:
    """An optional display name: a long one is cut, not refused (it is only shown)."""
    return clean_string(value, where, max_length=MAX_NAME, required=False, cut=True)


def clean_id(value: object, where: str) -> str:
    """A required platform id given as a string or an integer, as a string."""
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    elif value is not None and not isinstance(value, str):
        raise PayloadInvalid(f"field '{where}' must be a string or an integer")
    return clean_string(value, where, max_length=MAX_ID)


def epoch_instant(value: object, where: str, *, per_second: int = 1) -> datetime:
    """The instant of a Unix time in whole seconds (or, with per_second=1000, milliseconds), between 2000 and 2100."""
    if value is None:
        raise PayloadInvalid(f"missing field '{where}'")
    if isinstance(value, bool) or not isinstance(value, int):
        raise PayloadInvalid(f"field '{where}' must be a whole number (a Unix time)")
    earliest, latest = (int((bound - _EPOCH).total_seconds()) * per_second for bound in (EARLIEST, LATEST))
    if not earliest <= value <= latest:
        raise PayloadInvalid(f"field '{where}' must be between {EARLIEST:%Y} and {LATEST:%Y}")
    seconds, fraction = divmod(value, per_second)
    return _EPOCH + timedelta(seconds=seconds, microseconds=fraction * 1_000_000 // per_second)


def checked_instant(value: datetime, where: str) -> datetime:
    """An aware instant in UTC, between 2000 and 2100, or PayloadInvalid."""
    if value.tzinfo is None:
        raise PayloadInvalid(f"field '{where}' must include a time zone")
    try:
        value = value.astimezone(UTC)
    except OverflowError as exc:
        raise PayloadInvalid(f"field '{where}' is out of range") from exc
    if not EARLIEST <= value <= LATEST:
        raise PayloadInvalid(f"field '{where}' must be between {EARLIEST:%Y} and {LATEST:%Y}")
    return value


def location(
    latitude: object, longitude: object, fields: tuple[str, str], *, label: str = ""
) -> tuple[Attachment, str]:
    """A shared location as an attachment (a geo: URL) and the text that says where it is. `fields` name the
    latitude and longitude fields, for error messages."""
    lat = _coordinate(latitude, fields[0], limit=90)
    lon = _coordinate(longitude, fields[1], limit=180)
    point = f"{lat:.6f}".rstrip("0").rstrip("."), f"{lon:.6f}".rstrip("0").rstrip(".")
    text = f"Location: {label} ({point[0]}, {point[1]})" if label else f"Location: ({point[0]}, {point[1]})"
    return Attachment(kind="location", url=f"geo:{point[0]},{point[1]}", name=label), text


def _coordinate(value: object, where: str, *, limit: int) -> float:
    """A latitude or longitude, given as a JSON number or (in forms) a decimal string."""
    if value is None:
        raise PayloadInvalid(f"missing field '{where}'")
    number: float | None = None
    if isinstance(value, (int, float)) and not isinstance(value, bool) and abs(value) <= limit:
        number = float(value)
    elif isinstance(value, str) and len(value) <= 64:
        try:
            number = float(value)
        except ValueError:
            number = None
    if number is None or not math.isfinite(number) or abs(number) > limit:
        raise PayloadInvalid(f"field '{where}' must be a number from -{limit} to {limit}")
    return number


def refusal(exc: SendFailed, describe: Callable[[dict[str, Any]], str]) -> SendFailed:
    """`exc` with the platform's own account of what went wrong, when its error answer gives one."""
    head, _, detail = exc.message.partition(": ")
    if not head.startswith("the platform answered HTTP"):
        return exc
    description = describe(json_answer(detail.encode()))
    if not description:
        return exc
    return SendFailed(f"{head}: {description}"[:2000], retryable=exc.retryable)
