"""The generic API channel: any program can deliver messages as signed JSON and receive replies.

Inbound: POST a JSON object {message_id, sender_id, sender_name, text, sent_at} with
`X-Helpdesk-Signature: sha256=<hex HMAC-SHA256 of the raw body with the account's secret>`.
Outbound: the helpdesk POSTs {message_id, ticket, recipient_id, text, sent_at} to the account's callback
URL, signed the same way; a JSON answer with an "id" records the receiver's id for the message.
"""

import hmac
import json
from datetime import UTC, datetime
from typing import Any

from tickets.connectors.base import (
    Credentials,
    Delivery,
    Event,
    HandshakeAnswer,
    HandshakeFailed,
    InboundMessage,
    OutboundReply,
    PayloadInvalid,
    SendFailed,
    SendResult,
    SignatureInvalid,
    hmac_sha256_hex,
    post_json,
)

SIGNATURE_HEADER = "X-Helpdesk-Signature"
_MAX_ID = 255
_MAX_NAME = 200
_MAX_TEXT = 100_000
# Platforms send the moment a message was written; anything outside these years is a bug upstream, and
# extreme values cannot be stored or shown (PostgreSQL and Python disagree on the range).
_EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
_LATEST = datetime(2100, 1, 1, tzinfo=UTC)


def sign(secret: str, body: bytes) -> str:
    """The X-Helpdesk-Signature value for `body`."""
    return "sha256=" + hmac_sha256_hex(secret, body)


def handshake(*, credentials: Credentials, delivery: Delivery) -> HandshakeAnswer:
    """The API channel has no verification request."""
    raise HandshakeFailed("the API channel has no handshake: POST a signed JSON message")


def verify(*, credentials: Credentials, delivery: Delivery) -> None:
    """Raise SignatureInvalid unless the signature header is the HMAC of the body with the account's secret."""
    secret, body = credentials.secret, delivery.body
    given = delivery.header(SIGNATURE_HEADER)
    if not given:
        raise SignatureInvalid(f"missing {SIGNATURE_HEADER} header")
    if not given.startswith("sha256="):
        raise SignatureInvalid(f"{SIGNATURE_HEADER} must look like sha256=<hex digest>")
    if not hmac.compare_digest(given.encode(), sign(secret, body).encode()):
        raise SignatureInvalid(f"{SIGNATURE_HEADER} does not match the body signed with this account's secret")


def parse(*, credentials: Credentials, delivery: Delivery) -> list[Event]:
    """The one message in a delivery, or PayloadInvalid naming what is wrong."""
    try:
        data = json.loads(delivery.body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise PayloadInvalid(f"the body is not valid JSON: {exc}") from exc
    except (ValueError, RecursionError) as exc:
        # Python's own limits: integers over 4,300 digits, nesting deeper than the recursion limit.
        raise PayloadInvalid(f"the body is JSON this endpoint cannot read: {exc}") from exc
    if not isinstance(data, dict):
        raise PayloadInvalid("the body must be a JSON object")
    return [
        InboundMessage(
            external_id=_string(data, "message_id", max_length=_MAX_ID),
            sender_id=_string(data, "sender_id", max_length=_MAX_ID),
            sender_name=_string(data, "sender_name", max_length=_MAX_NAME, required=False),
            text=_string(data, "text", max_length=_MAX_TEXT),
            sent_at=_instant(data, "sent_at"),
        )
    ]


def send_reply(*, credentials: Credentials, reply: OutboundReply, timeout: float) -> SendResult:
    """POST the reply to the account's callback URL, signed; SendFailed when it does not go through."""
    secret, url = credentials.secret, credentials.callback_url
    if not url:
        raise SendFailed("the channel account has no callback URL", retryable=False)
    payload = {
        "message_id": str(reply.message_id),
        "ticket": reply.ticket_number,
        "recipient_id": reply.recipient_id,
        "text": reply.text,
        "sent_at": reply.sent_at.isoformat(),
    }
    body = json.dumps(payload, separators=(",", ":")).encode()
    answer = post_json(url, body, headers={SIGNATURE_HEADER: sign(secret, body)}, timeout=timeout)
    # A 2xx means the reply was accepted; an id in a JSON answer is a bonus, not a condition.
    try:
        parsed = json.loads(answer) if answer.strip() else {}
    except (ValueError, RecursionError):
        parsed = {}
    external_id = parsed.get("id") if isinstance(parsed, dict) else None
    if external_id is None or isinstance(external_id, (dict, list)):
        return SendResult(external_id=None)
    return SendResult(external_id=str(external_id)[:_MAX_ID] or None)


def _string(data: dict[str, Any], field: str, *, max_length: int, required: bool = True) -> str:
    value = data.get(field)
    if value is None:
        if required:
            raise PayloadInvalid(f"missing field '{field}'")
        return ""
    if not isinstance(value, str):
        raise PayloadInvalid(f"field '{field}' must be a string")
    # PostgreSQL text cannot hold NUL characters, and no person types one: drop them.
    value = value.replace("\x00", "").strip()
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise PayloadInvalid(f"field '{field}' is not valid Unicode (a lone surrogate escape)") from exc
    if required and not value:
        raise PayloadInvalid(f"field '{field}' must not be empty")
    if len(value) > max_length:
        raise PayloadInvalid(f"field '{field}' is longer than {max_length} characters")
    return value


def _instant(data: dict[str, Any], field: str) -> datetime:
    raw = _string(data, field, max_length=64)
    try:
        value = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError as exc:
        raise PayloadInvalid(f"field '{field}' must be an ISO 8601 date-time, like 2026-11-23T09:30:00Z") from exc
    if value.tzinfo is None:
        raise PayloadInvalid(f"field '{field}' must include a time zone, like 2026-11-23T09:30:00Z")
    try:
        value = value.astimezone(UTC)
    except OverflowError as exc:
        raise PayloadInvalid(f"field '{field}' is out of range") from exc
    if not _EARLIEST <= value <= _LATEST:
        raise PayloadInvalid(f"field '{field}' must be between {_EARLIEST:%Y} and {_LATEST:%Y}")
    return value
