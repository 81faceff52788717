"""What Meta's three messaging platforms share: Messenger, Instagram and the WhatsApp Cloud API.

All three deliver webhooks the same way. The platform first verifies the callback URL with a GET carrying
`hub.mode=subscribe`, `hub.verify_token` (the token typed into the app dashboard) and `hub.challenge`, and
expects the challenge back. Every delivery after that is a POST of JSON `{"object": ..., "entry": [...]}`
signed with `X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the raw body with the app secret>` (older apps
also send the SHA-1 `X-Hub-Signature`, accepted only when the SHA-256 header is absent). Replies go through
the Graph API with the account's access token as a Bearer token, so it never appears in a URL or a log.
Files a contact sends come as Meta CDN URLs (Messenger, Instagram: no token needed) or as media ids looked up
in the Graph API (WhatsApp).

This module holds that common part, and Meta's ways of writing fields on top of the readers every connector
shares (tickets.connectors.fields): a field is named by its key and the path of the object that holds it,
timestamps may be numbers or strings, and coordinates are shown as Python writes them.
"""

import json
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from tickets.connectors import downloads
from tickets.connectors.base import (
    Attachment,
    Credentials,
    Delivery,
    Download,
    HandshakeAnswer,
    HandshakeFailed,
    PayloadInvalid,
    SendFailed,
    SignatureInvalid,
    base_url,
    configured,
    hmac_hex,
    http_get,
    post_json,
    safe_equal,
    signature_header,
)
from tickets.connectors.fields import (
    MAX_ID,
    MAX_TEXT,
    account_named,
    answer_value,
    coordinate,
    field_array,
    field_object,
    field_string,
    json_answer,
    json_object,
    location,
    unix_time,
)

GRAPH_URL = "https://graph.facebook.com"
GRAPH_VERSION = "v21.0"
SIGNATURE_HEADER = "X-Hub-Signature-256"
LEGACY_SIGNATURE_HEADER = "X-Hub-Signature"

MAX_URL = 4096  # the longest attachment URL taken from Meta (other platforms' are held to fields.MAX_URL)
_MAX_CHALLENGE = 255
_MAX_KIND = 64
_MAX_ERROR = 1000
# Graph API error codes that mean "not now" rather than "never": temporary failures and rate limits.
# Meta answers most of them with HTTP 400, which on its own would look final.
_TRANSIENT_CODES = {1, 2, 4, 17, 32, 613, 80001, 80002, 80004, 80005, 80006, 80007, 130429, 131048, 131056}


def sign(secret: str, body: bytes) -> str:
    """The X-Hub-Signature-256 value Meta puts on `body`."""
    return "sha256=" + hmac_hex(secret, body)


def sign_sha1(secret: str, body: bytes) -> str:
    """The legacy X-Hub-Signature value Meta puts on `body`."""
    return "sha1=" + hmac_hex(secret, body, algorithm="sha1")


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
    if not safe_equal(token, credentials.verify_token):
        raise HandshakeFailed("hub.verify_token is not this account's verify token")
    if not challenge or len(challenge) > _MAX_CHALLENGE or not challenge.isprintable():
        raise HandshakeFailed(f"hub.challenge must be 1 to {_MAX_CHALLENGE} printable characters")
    return HandshakeAnswer(body=challenge)


def verify(*, credentials: Credentials, delivery: Delivery) -> None:
    """Raise SignatureInvalid unless the delivery carries the HMAC of its body with the app secret."""
    if not credentials.secret:
        raise SignatureInvalid("the channel account has no app secret to check signatures with")
    if delivery.header(SIGNATURE_HEADER) or not delivery.header(LEGACY_SIGNATURE_HEADER):
        header, prefix, expected = SIGNATURE_HEADER, "sha256=", sign(credentials.secret, delivery.body)
    else:
        # Only apps that never got the SHA-256 header fall back to the weaker SHA-1 one.
        header, prefix, expected = LEGACY_SIGNATURE_HEADER, "sha1=", sign_sha1(credentials.secret, delivery.body)
    given = signature_header(delivery, header, prefix=prefix)
    if not safe_equal(prefix + given[len(prefix) :].lower(), expected):
        raise SignatureInvalid(f"{header} does not match the body signed with this account's app secret")


def entries(body: bytes, *, expected_object: str) -> list[Any]:
    """The `entry` list of a delivery for `expected_object` ("page", "instagram", "whatsapp_business_account")."""
    data = json_object(body)
    kind = data.get("object")
    if not isinstance(kind, str):
        raise PayloadInvalid("missing field 'object'")
    if kind != expected_object:
        raise PayloadInvalid(f"field 'object' must be {expected_object!r} for this channel, not {label(kind)!r}")
    return field_array(data.get("entry"), "entry")


def string(data: Mapping[str, Any], key: str, where: str, *, max_length: int, required: bool = True) -> str:
    """The string `data[key]` (`where` is the path of `data`), without NUL characters or surrounding blanks."""
    return field_string(data.get(key), f"{where}.{key}" if where else key, max_length=max_length, required=required)


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
    return unix_time(value, where, per_second=1000 if milliseconds else 1, digits=True, fractions=True)


def location_at(
    data: Mapping[str, Any], where: str, place: str, *, keys: tuple[str, str] = ("latitude", "longitude")
) -> tuple[Attachment, str]:
    """A shared location whose latitude and longitude are the JSON numbers at `keys` in `data` (`where` is its
    path), as an attachment and the text that shows it, the numbers written as Python writes them (52.5219, 1.0)."""
    latitude = coordinate(data.get(keys[0]), f"{where}.{keys[0]}", limit=90)
    longitude = coordinate(data.get(keys[1]), f"{where}.{keys[1]}", limit=180)
    return location(repr(latitude), repr(longitude), place)


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
    for index, raw in enumerate(field_array(errors, where)):
        error = field_object(raw, f"{where}[{index}]")
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
    return f"{base_url(credentials, GRAPH_URL)}/{GRAPH_VERSION}/{path}"


def graph_post(credentials: Credentials, path: str, payload: dict[str, Any], *, timeout: float) -> dict[str, Any]:
    """POST `payload` to the Graph API with the account's access token; the JSON object answered ({} if none).
    SendFailed when the reply does not go out, retryable when Meta says the error is temporary."""
    token = configured(credentials.access_token, "access token")
    body = json.dumps(payload, separators=(",", ":")).encode()
    headers = {"Authorization": f"Bearer {token}"}
    url = graph_url(credentials, path)
    return json_answer(_graph_call(lambda: post_json(url, body, headers=headers, timeout=timeout)))


def graph_lookup(credentials: Credentials, path: str, *, timeout: float) -> dict[str, Any]:
    """GET `path` from the Graph API with the account's access token; the JSON object answered. SendFailed
    as graph_post: retryable when Meta says the error is temporary."""
    headers = {"Authorization": f"Bearer {configured(credentials.access_token, 'access token')}"}
    url = graph_url(credentials, path)
    return json_answer(_graph_call(lambda: http_get(url, headers=headers, timeout=timeout)))


def fetch_cdn_file(attachment: Attachment, *, timeout: float, max_bytes: int) -> Download:
    """Messenger and Instagram: the file at the attachment's Meta CDN URL, which is signed and needs no token."""
    return downloads.fetch_url(attachment, timeout=timeout, max_bytes=max_bytes)


def graph_get(credentials: Credentials, path: str, *, timeout: float) -> dict[str, Any]:
    """GET `path` from the Graph API with the account's access token; the JSON object answered."""
    token = configured(credentials.access_token, "access token")
    answer = http_get(graph_url(credentials, path), headers={"Authorization": f"Bearer {token}"}, timeout=timeout)
    return json_answer(answer)


def check(*, credentials: Credentials, timeout: float) -> str:
    """Messenger and Instagram: the page (or Instagram account) the access token speaks for."""
    answer = graph_get(credentials, "me?fields=id,name,username", timeout=timeout)
    return account_named(answer, ("name",), ("username",), ("id",))


def graph_id(answer: object, *path: str | int) -> str | None:
    """The id at `path` in a Graph API answer, if it is one: Meta's ids are non-blank strings."""
    value = answer_value(answer, *path)
    if isinstance(value, str) and value.strip():
        return value.strip()[:MAX_ID]
    return None


def _graph_call(call: Callable[[], bytes]) -> bytes:
    """The answer of a Graph API call; its SendFailed made retryable when Meta says the error is temporary."""
    try:
        return call()
    except SendFailed as exc:
        if not exc.retryable and _transient(exc):
            raise SendFailed(exc.message, retryable=True, status=exc.status, answer=exc.answer) from exc
        raise


def _transient(exc: SendFailed) -> bool:
    """Whether an error answer's Graph error says retrying later may succeed (is_transient, a rate limit)."""
    error = json_answer(exc.answer).get("error")
    if not isinstance(error, dict):
        return False
    code = error.get("code")
    return error.get("is_transient") is True or (type(code) is int and code in _TRANSIENT_CODES)


def _query(query: Mapping[str, str], name: str) -> str:
    value = query.get(name, "")
    return value if isinstance(value, str) else ""
