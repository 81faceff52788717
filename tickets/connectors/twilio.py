"""Twilio Programmable Messaging, SMS and WhatsApp: messages and status callbacks arrive as signed forms,
replies go out through the Messages API.

Twilio has no verification request. Every webhook is an application/x-www-form-urlencoded POST signed with
`X-Twilio-Signature`: the base64 HMAC-SHA1, keyed with the account's auth token, of the URL Twilio called
followed by each POST parameter's name and value, sorted by name. Credentials: `secret` is the auth token,
`account_id` the account SID (AC...), `access_token` the auth token again for sending (the secret is used when
it is empty), `sender_address` our number ("+1...", "whatsapp:+1...") or a Messaging Service SID (MG...),
`base_url` the REST API ("" for https://api.twilio.com).

A contact is their address exactly as Twilio gives it in `From` ("+14155550100", "whatsapp:+14155550100"),
so a reply goes back over the same channel. Twilio's form carries no timestamp: a message's `sent_at` and a
status's `at` are the delivery's arrival, from its Date header when it has a valid one, else the moment it is
parsed. A message body that looks like base64 is kept as written: Twilio does not encode bodies, and a person
may type such text. Twilio repeats none of our messages and has no edits: no Echo, no MessageEdit.

Files: a message's MediaUrl<n> is fetched with the account SID and auth token (HTTP basic auth), which
Twilio needs when the account enforces authentication on media. It redirects to a storage host, which must
not see them: they go to the MediaUrl only.

Twilio wants TwiML or nothing in answer; `ANSWER` is an empty TwiML response (send no automatic reply).
"""

import base64
import mimetypes
import urllib.parse
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
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
    Ignored,
    InboundMessage,
    OutboundReply,
    PayloadInvalid,
    SendFailed,
    SendResult,
    SignatureInvalid,
    StatusUpdate,
    base_url,
    hmac_base64,
    http_get,
    http_post,
    safe_equal,
    signature_header,
)
from tickets.connectors.fields import (
    MAX_ID,
    MAX_TEXT,
    MAX_URL,
    account_named,
    decimal_location,
    field_name,
    field_string,
    json_answer,
    refusal,
    utc_instant,
)

ANSWER = ('<?xml version="1.0" encoding="UTF-8"?><Response></Response>', "text/xml")
SIGNATURE_HEADER = "X-Twilio-Signature"
DEFAULT_BASE_URL = "https://api.twilio.com"
FORM_TYPE = "application/x-www-form-urlencoded"
_MAX_FIELDS = 500  # an inbound message has about 20, with media up to 40
_MAX_MEDIA = 10  # Twilio's limit per message
_STATUSES = {"sent": "sent", "delivered": "delivered", "read": "read", "failed": "failed", "undelivered": "failed"}
# Steps before "sent", or not about delivery (scheduling, an inbound message still arriving): nothing to record.
_NOT_YET = {"queued", "sending", "accepted", "scheduled", "receiving", "canceled", "partially_delivered"}


def handshake(*, credentials: Credentials, delivery: Delivery) -> HandshakeAnswer:
    """Twilio has no verification request."""
    raise HandshakeFailed("Twilio has no handshake: it POSTs forms signed with X-Twilio-Signature")


def sign(auth_token: str, url: str, fields: list[tuple[str, str]]) -> str:
    """The X-Twilio-Signature of a POST to `url` with form `fields`, as Twilio's own libraries compute it."""
    signed = url + "".join(
        name + value
        for name in sorted({name for name, _ in fields})
        for value in sorted({value for key, value in fields if key == name})
    )
    return hmac_base64(auth_token, signed.encode(), algorithm="sha1")


def verify(*, credentials: Credentials, delivery: Delivery) -> None:
    """Raise SignatureInvalid unless X-Twilio-Signature signs the delivery's URL and form with the auth token."""
    if not credentials.secret:
        raise SignatureInvalid("the channel account has no auth token to check deliveries against")
    given = signature_header(delivery, SIGNATURE_HEADER).strip()
    # The URL exactly as Twilio called it (scheme, host, port, query): a proxy that rewrites it breaks this.
    if not safe_equal(given, sign(credentials.secret, delivery.url, form_fields(delivery))):
        raise SignatureInvalid(f"{SIGNATURE_HEADER} does not match this URL and form signed with the auth token")


def parse(*, credentials: Credentials, delivery: Delivery) -> list[Event]:
    """The one event in a delivery: an inbound message or a status callback (an Ignored for other statuses)."""
    fields = _unique(form_fields(delivery))
    status = fields.get("MessageStatus") or fields.get("SmsStatus") or ""
    if status in ("", "received"):
        return [_message(fields, arrived_at(delivery))]
    if status in _STATUSES:
        return [_status(fields, _STATUSES[status], arrived_at(delivery))]
    detail = f"a {status} status" if status in _NOT_YET else f"an unknown status: {status[:MAX_ID]}"
    return [Ignored(kind="status", detail=field_name(detail, "MessageStatus"))]


def send_reply(*, credentials: Credentials, reply: OutboundReply, timeout: float) -> SendResult:
    """Create a message with the Messages API; its id is the message SID Twilio answers with."""
    account, token = credentials.account_id, credentials.access_token or credentials.secret
    if not account or not token:
        raise SendFailed("the channel account needs its account SID and auth token to send", retryable=False)
    fields = {"To": reply.recipient_id, "Body": reply.text}
    sender = credentials.sender_address.strip()
    if sender.startswith("MG"):
        fields["MessagingServiceSid"] = sender
    elif sender:
        # A WhatsApp contact is answered from our WhatsApp sender: the same number, with the channel prefix.
        whatsapp = reply.recipient_id.startswith("whatsapp:") and not sender.startswith("whatsapp:")
        fields["From"] = f"whatsapp:{sender}" if whatsapp else sender
    else:
        raise SendFailed("the channel account has no sender number or Messaging Service SID", retryable=False)
    if credentials.webhook_url:
        # Twilio reports this message's statuses (sent, delivered, read, failed) to our webhook.
        fields["StatusCallback"] = credentials.webhook_url
    path = f"/2010-04-01/Accounts/{urllib.parse.quote(account, safe='')}/Messages.json"
    auth = base64.b64encode(f"{account}:{token}".encode()).decode()
    headers = {"Content-Type": FORM_TYPE, "Authorization": f"Basic {auth}"}
    body = urllib.parse.urlencode(fields).encode()
    try:
        answer = json_answer(
            http_post(base_url(credentials, DEFAULT_BASE_URL) + path, body, headers=headers, timeout=timeout)
        )
    except SendFailed as exc:
        raise refusal(exc, _description) from exc
    sid = answer.get("sid")
    return SendResult(external_id=sid[:MAX_ID] if isinstance(sid, str) and sid else None)


def check(*, credentials: Credentials, timeout: float) -> str:
    """The Twilio account the SID and auth token open (its friendly name)."""
    account, token = credentials.account_id, credentials.access_token or credentials.secret
    if not account or not token:
        raise SendFailed("the channel account needs its account SID and auth token", retryable=False)
    path = f"/2010-04-01/Accounts/{urllib.parse.quote(account, safe='')}.json"
    auth = base64.b64encode(f"{account}:{token}".encode()).decode()
    url = base_url(credentials, DEFAULT_BASE_URL) + path
    try:
        answer = json_answer(http_get(url, headers={"Authorization": f"Basic {auth}"}, timeout=timeout))
    except SendFailed as exc:
        raise refusal(exc, _description) from exc
    return account_named(answer, ("friendly_name",), ("sid",))


def fetch_attachment(*, credentials: Credentials, attachment: Attachment, timeout: float, max_bytes: int) -> Download:
    """The media at a message's MediaUrl, fetched with the account SID and auth token (not after a redirect)."""
    downloads.require_file(attachment)
    account, token = credentials.account_id, credentials.access_token or credentials.secret
    if not account or not token:
        raise SendFailed("the channel account needs its account SID and auth token to fetch media", retryable=False)
    auth = {"Authorization": f"Basic {base64.b64encode(f'{account}:{token}'.encode()).decode()}"}
    try:
        return downloads.fetch_url(attachment, timeout=timeout, max_bytes=max_bytes, auth=auth)
    except SendFailed as exc:
        raise refusal(exc, _description) from exc


def form_fields(delivery: Delivery) -> list[tuple[str, str]]:
    """The delivery's form fields in order, or PayloadInvalid when the body is not a UTF-8 urlencoded form."""
    content_type = delivery.header("Content-Type").split(";")[0].strip().lower()
    if content_type and content_type != FORM_TYPE:
        raise PayloadInvalid(f"the body must be {FORM_TYPE}, not {content_type[:100]}")
    try:
        text = delivery.body.decode("utf-8")
        return urllib.parse.parse_qsl(
            text, keep_blank_values=True, strict_parsing=True, errors="strict", max_num_fields=_MAX_FIELDS
        )
    except UnicodeDecodeError as exc:
        raise PayloadInvalid(f"the body is not UTF-8 form data: {exc}") from exc
    except ValueError as exc:
        raise PayloadInvalid(f"the body is not a urlencoded form: {exc}"[:500]) from exc


def arrived_at(delivery: Delivery) -> datetime:
    """When the delivery arrived: its Date header if that is a valid date, else now (Twilio sends no timestamp)."""
    raw = delivery.header("Date")
    try:
        value = parsedate_to_datetime(raw) if raw else None
        return utc_instant(value, "Date") if value is not None else datetime.now(UTC)
    except (TypeError, ValueError, IndexError, OverflowError, PayloadInvalid):
        return datetime.now(UTC)


def _unique(pairs: list[tuple[str, str]]) -> dict[str, str]:
    fields: dict[str, str] = {}
    for name, value in pairs:
        if name in fields:
            raise PayloadInvalid(f"field '{name[:MAX_ID]}' appears more than once")
        fields[name] = value
    return fields


def _sid(fields: dict[str, str]) -> str:
    name = next((name for name in ("MessageSid", "SmsSid", "SmsMessageSid") if fields.get(name)), "MessageSid")
    return field_string(fields.get(name), name, max_length=MAX_ID)


def _message(fields: dict[str, str], arrived: datetime) -> Event:
    # A WhatsApp quick-reply button's label is what the person chose: it is the message.
    text_field = "ButtonText" if fields.get("ButtonText", "").strip() else "Body"
    text = field_string(fields.get(text_field), text_field, max_length=MAX_TEXT, required=False)
    attachments = _media(fields)
    if fields.get("Latitude") or fields.get("Longitude"):
        label = ", ".join(filter(None, (field_name(fields.get(name), name) for name in ("Label", "Address"))))
        attachment, text = decimal_location(
            fields.get("Latitude"), fields.get("Longitude"), ("Latitude", "Longitude"), place=label
        )
        attachments = (*attachments, attachment)
    external_id, sender_id = _sid(fields), field_string(fields.get("From"), "From", max_length=MAX_ID)
    if not text and not attachments:
        return Ignored(kind="message", detail="a message with neither text nor media")
    return InboundMessage(
        external_id=external_id,
        sender_id=sender_id,
        sender_name=field_name(fields.get("ProfileName"), "ProfileName"),
        text=text,
        sent_at=arrived,
        attachments=attachments,
    )


def _media(fields: dict[str, str]) -> tuple[Attachment, ...]:
    count = fields.get("NumMedia", "").strip() or "0"
    if not (count.isascii() and count.isdigit() and int(count) <= _MAX_MEDIA):
        raise PayloadInvalid(f"field 'NumMedia' must be a whole number from 0 to {_MAX_MEDIA}")
    attachments = []
    for index in range(int(count)):
        url = field_string(fields.get(f"MediaUrl{index}"), f"MediaUrl{index}", max_length=MAX_URL)
        mime = field_string(
            fields.get(f"MediaContentType{index}"), f"MediaContentType{index}", max_length=MAX_ID, required=False
        )
        attachments.append(Attachment(kind=_kind(mime or mimetypes.guess_type(url)[0] or ""), url=url, mime_type=mime))
    return tuple(attachments)


def _kind(mime_type: str) -> str:
    major = mime_type.split("/")[0].lower()
    return major if major in ("image", "video", "audio") else "file"


def _status(fields: dict[str, str], status: str, arrived: datetime) -> StatusUpdate:
    error = ""
    if status == "failed":
        code = field_string(fields.get("ErrorCode"), "ErrorCode", max_length=MAX_ID, required=False)
        message = field_name(fields.get("ErrorMessage"), "ErrorMessage")
        error = f"Twilio error {code}: {message}" if code and message else (f"Twilio error {code}" if code else message)
    return StatusUpdate(status=status, at=arrived, external_id=_sid(fields), error=error)


def _description(answer: dict[str, Any]) -> str:
    """Twilio's error answer: {"code": 21211, "message": "...", "more_info": "...", "status": 400}."""
    message, code = answer.get("message"), answer.get("code")
    if not isinstance(message, str):
        return ""
    return f"{message} (Twilio error {code})" if isinstance(code, int) and not isinstance(code, bool) else message
