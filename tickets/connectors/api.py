"""The generic API channel: any program can deliver messages as signed JSON and receive replies.

Inbound: POST a JSON object {message_id, sender_id, sender_name, text, sent_at} with
`X-Helpdesk-Signature: sha256=<hex HMAC-SHA256 of the raw body with the account's secret>`.
Outbound: the helpdesk POSTs {message_id, ticket, recipient_id, text, sent_at} to the account's callback
URL, signed the same way; a JSON answer with an "id" records the receiver's id for the message.
Files: an attachment's URL is fetched with a plain GET, no credentials.
"""

import json
from datetime import datetime
from typing import Any

from tickets.connectors import downloads
from tickets.connectors.base import (
    Attachment,
    Credentials,
    Delivery,
    Download,
    Event,
    HandshakeAnswer,
    HandshakeFailed,
    InboundMessage,
    OutboundReply,
    PayloadInvalid,
    SendResult,
    SignatureInvalid,
    configured,
    hmac_hex,
    post_json,
    safe_equal,
    signature_header,
)
from tickets.connectors.fields import MAX_ID, MAX_NAME, MAX_TEXT, field_string, json_answer, json_object, utc_instant

SIGNATURE_HEADER = "X-Helpdesk-Signature"


def sign(secret: str, body: bytes) -> str:
    """The X-Helpdesk-Signature value for `body`."""
    return "sha256=" + hmac_hex(secret, body)


def handshake(*, credentials: Credentials, delivery: Delivery) -> HandshakeAnswer:
    """The API channel has no verification request."""
    raise HandshakeFailed("the API channel has no handshake: POST a signed JSON message")


def verify(*, credentials: Credentials, delivery: Delivery) -> None:
    """Raise SignatureInvalid unless the signature header is the HMAC of the body with the account's secret."""
    given = signature_header(delivery, SIGNATURE_HEADER, prefix="sha256=")
    if not safe_equal(given, sign(credentials.secret, delivery.body)):
        raise SignatureInvalid(f"{SIGNATURE_HEADER} does not match the body signed with this account's secret")


def parse(*, credentials: Credentials, delivery: Delivery) -> list[Event]:
    """The one message in a delivery, or PayloadInvalid naming what is wrong."""
    data = json_object(delivery.body)
    return [
        InboundMessage(
            external_id=_string(data, "message_id", max_length=MAX_ID),
            sender_id=_string(data, "sender_id", max_length=MAX_ID),
            sender_name=_string(data, "sender_name", max_length=MAX_NAME, required=False),
            text=_string(data, "text", max_length=MAX_TEXT),
            sent_at=_instant(data, "sent_at"),
        )
    ]


def send_reply(*, credentials: Credentials, reply: OutboundReply, timeout: float) -> SendResult:
    """POST the reply to the account's callback URL, signed; SendFailed when it does not go through."""
    url = configured(credentials.callback_url, "callback URL")
    payload = {
        "message_id": str(reply.message_id),
        "ticket": reply.ticket_number,
        "recipient_id": reply.recipient_id,
        "text": reply.text,
        "sent_at": reply.sent_at.isoformat(),
    }
    body = json.dumps(payload, separators=(",", ":")).encode()
    answer = post_json(url, body, headers={SIGNATURE_HEADER: sign(credentials.secret, body)}, timeout=timeout)
    # A 2xx means the reply was accepted; an id in a JSON answer is a bonus, not a condition.
    # Any scalar id is taken, as the receiver wrote it: this channel's receivers are programs of every kind.
    external_id = json_answer(answer).get("id")
    if external_id is None or isinstance(external_id, (dict, list)):
        return SendResult(external_id=None)
    return SendResult(external_id=str(external_id)[:MAX_ID] or None)


def check(*, credentials: Credentials, timeout: float) -> str:
    """Nothing to ask: the generic API channel's receiver is any program. Its callback URL is checked on send."""
    return "the API channel"


def fetch_attachment(*, credentials: Credentials, attachment: Attachment, timeout: float, max_bytes: int) -> Download:
    """The file at the attachment's URL, fetched without credentials (the sender's program hosts it)."""
    return downloads.fetch_url(attachment, timeout=timeout, max_bytes=max_bytes)


def _string(data: dict[str, Any], field: str, *, max_length: int, required: bool = True) -> str:
    return field_string(data.get(field), field, max_length=max_length, required=required)


def _instant(data: dict[str, Any], field: str) -> datetime:
    raw = _string(data, field, max_length=64)
    try:
        value = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError as exc:
        raise PayloadInvalid(f"field '{field}' must be an ISO 8601 date-time, like 2026-11-23T09:30:00Z") from exc
    if value.tzinfo is None:
        raise PayloadInvalid(f"field '{field}' must include a time zone, like 2026-11-23T09:30:00Z")
    return utc_instant(value, field)
