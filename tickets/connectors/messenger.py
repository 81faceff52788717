"""Facebook Messenger, through the Messenger Platform's webhooks and Send API.

Inbound: Meta POSTs `{"object": "page", "entry": [{"id": <page id>, "messaging": [...]}]}`; each messaging
item has `sender.id`, `recipient.id`, a `timestamp` in milliseconds and one event: `message` (ours when
`is_echo`), `message_edit`, `delivery` (with `mids` and a `watermark`), `read` (a `watermark`, or a `mid` on
Instagram), or one the helpdesk does not act on (reaction, postback, referral, optin...), which is Ignored.
Signatures, the handshake and the Graph API call are Meta's common ones (tickets.connectors.meta).

Outbound: POST {base}/v21.0/me/messages with the page access token as `Authorization: Bearer` and
`{"recipient": {"id": ...}, "messaging_type": "RESPONSE", "message": {"text": ...}}`; Meta answers
`{"recipient_id": ..., "message_id": ...}`.

Files: an attachment's `payload.url` is a signed Meta CDN URL, fetched as it is (no token needed); it expires
after a while, and Meta then answers 403 or 404.

Instagram's messaging is the same platform with `"object": "instagram"` (tickets.connectors.instagram), so the
parser here also knows Instagram's own shapes: unsent (`is_deleted`) messages, shares, reels and story
mentions.

`credentials.account_id`, when set, is the page (or Instagram account) id: entries for another page are
Ignored, since one Meta app delivers every subscribed page's events to the same callback URL.
"""

from datetime import datetime
from typing import Any

from tickets.connectors import meta
from tickets.connectors.base import (
    Attachment,
    Credentials,
    Delivery,
    Download,
    Echo,
    Event,
    HandshakeAnswer,
    Ignored,
    InboundMessage,
    MessageEdit,
    OutboundReply,
    PayloadInvalid,
    SendResult,
    StatusUpdate,
)
from tickets.connectors.fields import MAX_ID, MAX_NAME, MAX_TEXT, field_array, field_object, field_string

OBJECT = "page"
SEND_PATH = "me/messages"

# Attachment types that carry a file to show, and what kind of file each is. A Messenger sticker is an
# image with a sticker_id; Instagram shares posts as images and reels as videos.
_MEDIA_KINDS = {
    "image": "image",
    "video": "video",
    "audio": "audio",
    "file": "file",
    "share": "image",
    "ig_post": "image",
    "reel": "video",
    "ig_reel": "video",
}
# The events a messaging item may carry besides its envelope (sender, recipient, timestamp).
_ENVELOPE = ("sender", "recipient", "timestamp")


def handshake(*, credentials: Credentials, delivery: Delivery) -> HandshakeAnswer:
    """Answer Meta's subscription check (see tickets.connectors.meta)."""
    return meta.handshake(credentials=credentials, delivery=delivery)


def verify(*, credentials: Credentials, delivery: Delivery) -> None:
    """Raise SignatureInvalid unless the delivery is signed with the app secret (X-Hub-Signature-256)."""
    meta.verify(credentials=credentials, delivery=delivery)


def parse(*, credentials: Credentials, delivery: Delivery) -> list[Event]:
    """The events of a Messenger delivery, in order."""
    return parse_messaging(credentials=credentials, delivery=delivery, expected_object=OBJECT)


check = meta.check


def send_reply(*, credentials: Credentials, reply: OutboundReply, timeout: float) -> SendResult:
    """Send the reply as a text message through the Send API; SendFailed when it does not go out."""
    return send_message(credentials=credentials, reply=reply, timeout=timeout)


def fetch_attachment(*, credentials: Credentials, attachment: Attachment, timeout: float, max_bytes: int) -> Download:
    """The file a contact sent, from the Meta CDN URL the delivery gave (see tickets.connectors.meta)."""
    return meta.fetch_cdn_file(attachment, timeout=timeout, max_bytes=max_bytes)


def parse_messaging(*, credentials: Credentials, delivery: Delivery, expected_object: str) -> list[Event]:
    """The events of a Messenger Platform delivery for `expected_object` ("page" or "instagram"), in order."""
    events: list[Event] = []
    for index, raw in enumerate(meta.entries(delivery.body, expected_object=expected_object)):
        events.extend(_entry(raw, f"entry[{index}]", credentials))
    return events


def send_message(*, credentials: Credentials, reply: OutboundReply, timeout: float) -> SendResult:
    """POST the reply to /me/messages as the page (or Instagram account) the access token belongs to."""
    payload = {
        "recipient": {"id": reply.recipient_id},
        "messaging_type": "RESPONSE",
        "message": {"text": reply.text},
    }
    answer = meta.graph_post(credentials, SEND_PATH, payload, timeout=timeout)
    return SendResult(external_id=meta.graph_id(answer, "message_id"))


def _entry(raw: Any, where: str, credentials: Credentials) -> list[Event]:
    entry = field_object(raw, where)
    page = meta.ident(entry, "id", where)
    if credentials.account_id and page != credentials.account_id:
        return [Ignored(kind="other_account", detail=f"{where} is for {page}, not {credentials.account_id}")]
    if "messaging" in entry:
        items = field_array(entry["messaging"], f"{where}.messaging")
        return [event for number, item in enumerate(items) for event in _item(item, f"{where}.messaging[{number}]")]
    # Standby (another app holds the conversation) and feed changes are not conversations we answer.
    fields = ", ".join(meta.label(key) for key in entry if key not in ("id", "time")) or "none"
    return [Ignored(kind="entry", detail=f"{where} has no messaging events (fields: {fields})")]


def _item(raw: Any, where: str) -> list[Event]:
    item = field_object(raw, where)
    if "message" in item:
        return [_message(item, where)]
    if "message_edit" in item:
        return [_edit(item, where)]
    if "delivery" in item:
        return _delivery(item, where)
    if "read" in item:
        return [_read(item, where)]
    # A reaction, postback, referral, optin, handover, or an event newer than this code.
    kinds = [key for key in item if key not in _ENVELOPE]
    if not kinds:
        return [Ignored(kind="empty", detail=f"{where} carries no event")]
    return [Ignored(kind=meta.label(kinds[0]), detail=where)]


def _message(item: dict[str, Any], where: str) -> Event:
    path = f"{where}.message"
    message = field_object(item["message"], path)
    mid = meta.ident(message, "mid", path)
    if meta.flag(message, "is_deleted", path):
        return Ignored(kind="message_deleted", detail=mid)
    if meta.flag(message, "is_unsupported", path):
        return Ignored(kind="unsupported_message", detail=mid)
    text = meta.string(message, "text", path, max_length=MAX_TEXT, required=False)
    attachments, extra, skipped = _attachments(message.get("attachments"), f"{path}.attachments")
    sent_at = meta.instant(item.get("timestamp"), f"{where}.timestamp", milliseconds=True)
    text = meta.joined(text, *extra, where=path)
    if meta.flag(message, "is_echo", path):
        return Echo(external_id=mid, recipient_id=_party(item, "recipient", where), text=text, sent_at=sent_at)
    sender = _party(item, "sender", where)
    if not text and not attachments:
        # A like, a story mention, a template: nothing a person typed or a file to show.
        return Ignored(kind=skipped[0] if skipped else "empty_message", detail=mid)
    return InboundMessage(
        external_id=mid, sender_id=sender, sender_name="", text=text, sent_at=sent_at, attachments=attachments
    )


def _attachments(raw: Any, where: str) -> tuple[tuple[Attachment, ...], list[str], list[str]]:
    """The files of a message, the text some attachments become (a location, a link), and the types skipped."""
    if raw is None:
        return (), [], []
    files: list[Attachment] = []
    texts: list[str] = []
    skipped: list[str] = []
    for index, value in enumerate(field_array(raw, where)):
        path = f"{where}[{index}]"
        attachment = field_object(value, path)
        kind = meta.string(attachment, "type", path, max_length=MAX_ID)
        payload = {} if attachment.get("payload") is None else field_object(attachment["payload"], f"{path}.payload")
        if kind in _MEDIA_KINDS:
            url = meta.string(payload, "url", f"{path}.payload", max_length=meta.MAX_URL)
            sticker = payload.get("sticker_id") is not None
            files.append(Attachment(kind="sticker" if sticker else _MEDIA_KINDS[kind], url=url))
        elif kind == "location":
            point, text = _location(attachment, payload, path)
            files.append(point)
            texts.append(text)
        elif kind == "fallback":
            texts.append(_link(attachment, payload, path))
        else:
            skipped.append(meta.label(kind))
    return tuple(files), texts, skipped


def _location(attachment: dict[str, Any], payload: dict[str, Any], where: str) -> tuple[Attachment, str]:
    """A location pin (Messenger's older clients): its coordinates, and its title as the place's name."""
    place = meta.string(attachment, "title", where, max_length=MAX_NAME, required=False)
    path = f"{where}.payload.coordinates"
    return meta.location_at(field_object(payload.get("coordinates"), path), path, place, keys=("lat", "long"))


def _link(attachment: dict[str, Any], payload: dict[str, Any], where: str) -> str:
    """A shared link Messenger cannot preview, as text: its title and URL, at the top level or in the payload."""
    source, path = (payload, f"{where}.payload") if "url" in payload else (attachment, where)
    title = meta.string(source, "title", path, max_length=MAX_NAME, required=False)
    url = meta.string(source, "url", path, max_length=meta.MAX_URL, required=False)
    return " ".join(part for part in (title, url) if part)


def _edit(item: dict[str, Any], where: str) -> MessageEdit:
    path = f"{where}.message_edit"
    edit = field_object(item["message_edit"], path)
    return MessageEdit(
        external_id=meta.ident(edit, "mid", path),
        sender_id=_party(item, "sender", where),
        text=meta.string(edit, "text", path, max_length=MAX_TEXT),
        edited_at=meta.instant(item.get("timestamp"), f"{where}.timestamp", milliseconds=True),
    )


def _delivery(item: dict[str, Any], where: str) -> list[Event]:
    """Every message to the contact up to the watermark arrived: one update, or one per mid it lists."""
    path = f"{where}.delivery"
    delivery = field_object(item["delivery"], path)
    contact = _party(item, "sender", where)
    watermark = meta.instant(delivery.get("watermark"), f"{path}.watermark", milliseconds=True)
    mids = [] if delivery.get("mids") is None else field_array(delivery["mids"], f"{path}.mids")
    if not mids:
        return [StatusUpdate(status="delivered", at=watermark, recipient_id=contact, watermark=watermark)]
    return [
        StatusUpdate(
            status="delivered",
            at=watermark,
            external_id=field_string(mid, f"{path}.mids[{index}]", max_length=MAX_ID),
            recipient_id=contact,
            watermark=watermark,
        )
        for index, mid in enumerate(mids)
    ]


def _read(item: dict[str, Any], where: str) -> StatusUpdate:
    """Read: Messenger gives a watermark (all up to it were read); Instagram the mid of the message seen."""
    path = f"{where}.read"
    read = field_object(item["read"], path)
    contact = _party(item, "sender", where)
    if "watermark" in read:
        watermark = meta.instant(read.get("watermark"), f"{path}.watermark", milliseconds=True)
        at = _optional_instant(item, where) or watermark
        return StatusUpdate(status="read", at=at, recipient_id=contact, watermark=watermark)
    if "mid" in read:
        at = meta.instant(item.get("timestamp"), f"{where}.timestamp", milliseconds=True)
        return StatusUpdate(status="read", at=at, external_id=meta.ident(read, "mid", path), recipient_id=contact)
    raise PayloadInvalid(f"field '{path}' must have a watermark or a mid")


def _party(item: dict[str, Any], role: str, where: str) -> str:
    """The id of the item's sender or recipient ({"id": ...})."""
    return meta.ident(field_object(item.get(role), f"{where}.{role}"), "id", f"{where}.{role}")


def _optional_instant(item: dict[str, Any], where: str) -> datetime | None:
    if item.get("timestamp") is None:
        return None
    return meta.instant(item["timestamp"], f"{where}.timestamp", milliseconds=True)
