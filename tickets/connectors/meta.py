"""What Meta's three messaging platforms share: Messenger, Instagram and the WhatsApp Cloud API.

All three deliver webhooks the same way. The platform first verifies the callback URL with a GET carrying
`hub.mode=subscribe`, `hub.verify_token` (the token typed into the app dashboard) and `hub.challenge`, and
expects the challenge back. Every delivery after that is a POST of JSON `{"object": ..., "entry": [...]}`
signed with `X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the raw body with the app secret>` (older apps
also send the SHA-1 `X-Hub-Signature`, accepted only when the SHA-256 header is absent). Replies go through
the Graph API with the account's access token as a Bearer token, so it never appears in a URL or a log.

This module holds that common part, and the strict readers of JSON fields the parsers use: every malformed
field is a PayloadInvalid that names the field by its path, like `entry[0].messaging[1].message.mid`.
"""

import hashlib
import hmac
import json
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from tickets.connectors.base import (
    Attachment,
    Credentials,
    Delivery,
    HandshakeAnswer,
    HandshakeFailed,
    PayloadInvalid,
    SendFailed,
    SignatureInvalid,
    hmac_sha256_hex,
    post_json,
)

GRAPH_URL = "https://graph.facebook.com"
GRAPH_VERSION = "v21.0"
SIGNATURE_HEADER = "X-Hub-Signature-256"
LEGACY_SIGNATURE_HEADER = "X-Hub-Signature"

MAX_ID = 255
MAX_NAME = 200
MAX_TEXT = 100_000
MAX_URL = 4096
_MAX_CHALLENGE = 255
_MAX_KIND = 64
_MAX_ERROR = 1000
# Platforms send the moment a message was written; anything outside these years is a bug upstream, and
# extreme values cannot be stored or shown (PostgreSQL and Python disagree on the range).
_EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
_LATEST = datetime(2100, 1, 1, tzinfo=UTC)
# Graph API error codes that mean "not now" rather than "never": temporary failures and rate limits.
# Meta answers most of them with HTTP 400, which on its own would look final.
_TRANSIENT_CODES = {1, 2, 4, 17, 32, 613, 80001, 80002, 80004, 80005, 80006, 80007, 130429, 131048, 131056}


def sign(secret: str, body: bytes) -> str:
    """The X-Hub-Signature-256 value Meta puts on `body`."""
    return "sha256=" + hmac_sha256_hex(secret, body)


def sign_sha1(secret: str, body: bytes) -> str:
    """The legacy X-Hub-Signature value Meta puts on `body`."""
    return "sha1=" + hmac.new(secret.encode(), body, hashlib.sha1).hexdigest()


def handshake(*, credentials: Credentials, delivery: Delivery) -> HandshakeAnswer:
    """Answer Meta's subscription check with its challenge, if the verify token is the account's."""
    if delivery.method.upper() != "GET":
        raise HandshakeFailed("Meta's verification request is a GET")
    if not credentials.verify_token:
        raise HandshakeFailed("the channel account has no verify token")
    mode = _query(delivery.query, "hub.mode")
    token = _query(delivery.query, "hub.verify_token")
    challenge = _query(delivery.query, "hub.challenge")
    if mode != "subscribe":
        raise HandshakeFailed("hub.mode must be 'subscribe'")
    if not hmac.compare_digest(_bytes(token), _bytes(credentials.verify_token)):
        raise HandshakeFailed("hub.verify_token is not this account's verify token")
    if not challenge or len(challenge) > _MAX_CHALLENGE or not challenge.isprintable():
        raise HandshakeFailed(f"hub.challenge must be 1 to {_MAX_CHALLENGE} printable characters")
    return HandshakeAnswer(body=challenge)


def verify(*, credentials: Credentials, delivery: Delivery) -> None:
    """Raise SignatureInvalid unless the delivery carries the HMAC of its body with the app secret."""
    if not credentials.secret:
        raise SignatureInvalid("the channel account has no app secret to check signatures with")
    given = delivery.header(SIGNATURE_HEADER)
    header, prefix, expected = SIGNATURE_HEADER, "sha256=", sign(credentials.secret, delivery.body)
    if not given:
        # Only apps that never got the SHA-256 header fall back to the weaker SHA-1 one.
        given = delivery.header(LEGACY_SIGNATURE_HEADER)
        header, prefix, expected = LEGACY_SIGNATURE_HEADER, "sha1=", sign_sha1(credentials.secret, delivery.body)
    if not given:
        raise SignatureInvalid(f"missing {SIGNATURE_HEADER} header")
    if not given.startswith(prefix):
        raise SignatureInvalid(f"{header} must look like {prefix}<hex digest>")
    if not hmac.compare_digest(_bytes(prefix + given[len(prefix) :].lower()), _bytes(expected)):
        raise SignatureInvalid(f"{header} does not match the body signed with this account's app secret")


def entries(body: bytes, *, expected_object: str) -> list[Any]:
    """The `entry` list of a delivery for `expected_object` ("page", "instagram", "whatsapp_business_account")."""
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise PayloadInvalid(f"the body is not valid JSON: {exc}") from exc
    except (ValueError, RecursionError) as exc:
        # Python's own limits: integers over 4,300 digits, nesting deeper than the recursion limit.
        raise PayloadInvalid(f"the body is JSON this endpoint cannot read: {exc}") from exc
    if not isinstance(data, dict):
        raise PayloadInvalid("the body must be a JSON object")
    kind = data.get("object")
    if not isinstance(kind, str):
        raise PayloadInvalid("missing field 'object'")
    if kind != expected_object:
        raise PayloadInvalid(f"field 'object' must be {expected_object!r} for this channel, not {label(kind)!r}")
    return array(data.get("entry"), "entry")


def obj(value: Any, where: str) -> dict[str, Any]:
    """`value`, which must be a JSON object."""
    if value is None:
        raise PayloadInvalid(f"missing field '{where}'")
    if not isinstance(value, dict):
        raise PayloadInvalid(f"field '{where}' must be an object")
    return value


def array(value: Any, where: str) -> list[Any]:
    """`value`, which must be a JSON array."""
    if value is None:
        raise PayloadInvalid(f"missing field '{where}'")
    if not isinstance(value, list):
        raise PayloadInvalid(f"field '{where}' must be an array")
    return value


def string(data: Mapping[str, Any], key: str, where: str, *, max_length: int, required: bool = True) -> str:
    """The string `data[key]` (`where` is its path), without NUL characters or surrounding blanks."""
    return value_string(data.get(key), f"{where}.{key}" if where else key, max_length=max_length, required=required)


def value_string(value: Any, path: str, *, max_length: int, required: bool = True) -> str:
    """`value` (the field at `path`) as a string without NUL characters or surrounding blanks."""
    if value is None:
        if required:
            raise PayloadInvalid(f"missing field '{path}'")
        return ""
    if not isinstance(value, str):
        raise PayloadInvalid(f"field '{path}' must be a string")
    # PostgreSQL text cannot hold NUL characters, and no person types one: drop them.
    value = value.replace("\x00", "").strip()
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise PayloadInvalid(f"field '{path}' is not valid Unicode (a lone surrogate escape)") from exc
    if required and not value:
        raise PayloadInvalid(f"field '{path}' must not be empty")
    if len(value) > max_length:
        raise PayloadInvalid(f"field '{path}' is longer than {max_length} characters")
    return value


def ident(data: Mapping[str, Any], key: str, where: str) -> str:
    """The required id `data[key]`."""
    return string(data, key, where, max_length=MAX_ID)


def flag(data: Mapping[str, Any], key: str, where: str) -> bool:
    """The optional boolean `data[key]` (false when absent)."""
    value = data.get(key, False)
    if not isinstance(value, bool):
        raise PayloadInvalid(f"field '{where}.{key}' must be true or false")
    return value


def instant(value: Any, where: str, *, milliseconds: bool) -> datetime:
    """A platform timestamp: seconds (WhatsApp, as a string) or milliseconds (Messenger) since the epoch."""
    if value is None:
        raise PayloadInvalid(f"missing field '{where}'")
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 20:
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        unit = "milliseconds" if milliseconds else "seconds"
        raise PayloadInvalid(f"field '{where}' must be a number of {unit} since 1970")
    scale = 1000 if milliseconds else 1
    # Compared before dividing: a huge integer cannot become a float, and NaN fails every comparison.
    if not _EARLIEST.timestamp() * scale <= value <= _LATEST.timestamp() * scale:
        raise PayloadInvalid(f"field '{where}' must be between {_EARLIEST:%Y} and {_LATEST:%Y}")
    return datetime.fromtimestamp(value / scale, UTC)


def coordinate(data: Mapping[str, Any], key: str, where: str, *, limit: float) -> float:
    """The latitude or longitude `data[key]`, between -limit and limit."""
    value = data.get(key)
    if value is None:
        raise PayloadInvalid(f"missing field '{where}.{key}'")
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not -limit <= value <= limit:
        raise PayloadInvalid(f"field '{where}.{key}' must be a number between {-limit:g} and {limit:g}")
    return float(value)


def location(latitude: float, longitude: float, place: str) -> tuple[Attachment, str]:
    """A shared location as an attachment (a geo: URI) and the text that shows it in the ticket."""
    point = f"{latitude!r}, {longitude!r}"
    text = f"Location: {place} ({point})" if place else f"Location: ({point})"
    return Attachment(kind="location", url=f"geo:{latitude!r},{longitude!r}"), text


def label(value: str) -> str:
    """A name taken from a delivery (an event or message type), safe to show in a summary."""
    cleaned = "".join(character for character in value if character.isprintable())
    return cleaned[:_MAX_KIND] or "unnamed"


def joined(*parts: str, where: str) -> str:
    """Non-empty `parts` as one text, one per line, refused when longer than a message may be."""
    text = "\n".join(part for part in parts if part)
    if len(text) > MAX_TEXT:
        raise PayloadInvalid(f"the text of '{where}' is longer than {MAX_TEXT} characters")
    return text


def error_text(errors: Any, where: str) -> str:
    """What a list of Graph API error objects ({code, title, message, error_data.details}) says, briefly."""
    described = []
    for index, raw in enumerate(array(errors, where)):
        error = obj(raw, f"{where}[{index}]")
        path = f"{where}[{index}]"
        title = string(error, "title", path, max_length=MAX_TEXT, required=False)
        message = string(error, "message", path, max_length=MAX_TEXT, required=False)
        data = error.get("error_data")
        detail = ""
        if isinstance(data, dict):
            detail = string(data, "details", f"{path}.error_data", max_length=MAX_TEXT, required=False)
        code = error.get("code")
        parts = list(dict.fromkeys(part for part in (title, message, detail) if part))
        text = ": ".join(parts) or "unknown error"
        if isinstance(code, int) and not isinstance(code, bool):
            text = f"{text} (code {code})"
        described.append(text)
    return "; ".join(described)[:_MAX_ERROR]


def graph_url(credentials: Credentials, path: str) -> str:
    """The Graph API URL of `path` (after the version) at the account's base URL, or Meta's own."""
    base = (credentials.base_url or GRAPH_URL).rstrip("/")
    return f"{base}/{GRAPH_VERSION}/{path}"


def graph_post(credentials: Credentials, path: str, payload: dict[str, Any], *, timeout: float) -> Any:
    """POST `payload` to the Graph API with the account's access token; the parsed JSON answer (None if not
    JSON). SendFailed when the reply does not go out, retryable when Meta says the error is temporary."""
    if not credentials.access_token:
        raise SendFailed("the channel account has no access token", retryable=False)
    body = json.dumps(payload, separators=(",", ":")).encode()
    headers = {"Authorization": f"Bearer {credentials.access_token}"}
    try:
        answer = post_json(graph_url(credentials, path), body, headers=headers, timeout=timeout)
    except SendFailed as exc:
        if not exc.retryable and _transient(exc.message):
            raise SendFailed(exc.message, retryable=True) from exc
        raise
    try:
        return json.loads(answer) if answer.strip() else None
    except (ValueError, RecursionError):
        return None


def answer_id(value: Any) -> str | None:
    """An id from a send answer, if it is one."""
    if isinstance(value, str) and value.strip():
        return value.strip()[:MAX_ID]
    return None


def _transient(message: str) -> bool:
    """Whether an error answer's Graph error says retrying later may succeed (is_transient, a rate limit)."""
    match = re.search(r"HTTP \d+: (\{.*\})\s*$", message, re.DOTALL)
    if match is None:
        return False
    try:
        answer = json.loads(match.group(1))
    except (ValueError, RecursionError):
        return False
    error = answer.get("error") if isinstance(answer, dict) else None
    if not isinstance(error, dict):
        return False
    code = error.get("code")
    return error.get("is_transient") is True or (type(code) is int and code in _TRANSIENT_CODES)


def _query(query: Mapping[str, str], name: str) -> str:
    value = query.get(name, "")
    return value if isinstance(value, str) else ""


def _bytes(value: str) -> bytes:
    # compare_digest refuses non-ASCII str; header and query values may hold anything.
    return value.encode("utf-8", "replace")
