"""LINE Messaging API: a channel's webhook events arrive signed, replies go out with the push API.

LINE has no verification request: its console's "Verify" button POSTs a signed body with an empty `events`
list, which parses into no events. Every delivery is signed with `x-line-signature`, the base64 HMAC-SHA256
of the raw body keyed with the channel secret. Credentials: `secret` is the channel secret, `access_token`
the channel access token, `base_url` the Messaging API ("" for https://api.line.me).

A message's external id is LINE's message id. A redelivered event (`deliveryContext.isRedelivery`) parses
the same as the first delivery: its message id makes it a duplicate downstream. The contact is the user
(`source.userId`), also for a message in a group or room; a message whose sender LINE withholds (a group
member who has not consented to share it) is ignored. LINE webhooks carry no display names, so
`sender_name` is "". LINE repeats none of our messages and reports no delivery status: no Echo, no
StatusUpdate.

Replies use the push API rather than the reply token, which expires within a minute of the event. Each push
carries an `X-Line-Retry-Key` derived from the reply, so a retry after a lost answer cannot send the message
twice: LINE answers 409 and the reply counts as sent.

Files: GET {data base}/v2/bot/message/{message id}/content with the channel access token, on LINE's content
host (https://api-data.line.me; `base_url`, when set, serves both). LINE answers 202 while a video or audio
is still being prepared (retry later). Content hosted elsewhere (`contentProvider.type` "external") is
fetched from its URL without the token. A sticker has no content to fetch.
"""

import json
import urllib.parse
import uuid
from collections.abc import Callable
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
    MessageEdit,
    OutboundReply,
    PayloadInvalid,
    SendFailed,
    SendResult,
    SignatureInvalid,
    base_url,
    configured,
    hmac_base64,
    http_download,
    http_get,
    post_json,
    safe_equal,
    signature_header,
)
from tickets.connectors.fields import (
    MAX_ID,
    MAX_NAME,
    MAX_TEXT,
    MAX_URL,
    account_named,
    answer_id,
    decimal_location,
    field_array,
    field_id,
    field_object,
    field_string,
    json_answer,
    json_object,
    refusal,
    unix_time,
)

SIGNATURE_HEADER = "x-line-signature"
DEFAULT_BASE_URL = "https://api.line.me"
DEFAULT_DATA_BASE_URL = "https://api-data.line.me"  # where LINE serves the content of messages
# Retry keys are UUIDs; deriving them from the reply makes every attempt at one reply carry the same key.
_RETRY_KEYS = uuid.UUID("6f0c1d2e-9a57-4b8e-8d0a-3c1e5b7f9a21")

Content = tuple[str, tuple[Attachment, ...]]


def handshake(*, credentials: Credentials, delivery: Delivery) -> HandshakeAnswer:
    """LINE has no verification request."""
    raise HandshakeFailed("LINE has no handshake: its Verify button POSTs a signed delivery with no events")


def sign(secret: str, body: bytes) -> str:
    """The x-line-signature value for `body`: base64 of its HMAC-SHA256 keyed with the channel secret."""
    return hmac_base64(secret, body)


def verify(*, credentials: Credentials, delivery: Delivery) -> None:
    """Raise SignatureInvalid unless x-line-signature is the body signed with the channel secret."""
    if not credentials.secret:
        raise SignatureInvalid("the channel account has no channel secret to check deliveries against")
    given = signature_header(delivery, SIGNATURE_HEADER).strip()
    if not safe_equal(given, sign(credentials.secret, delivery.body)):
        raise SignatureInvalid(f"{SIGNATURE_HEADER} does not match the body signed with this channel's secret")


def parse(*, credentials: Credentials, delivery: Delivery) -> list[Event]:
    """The delivery's events in order: messages, edits, and an Ignored for every other kind."""
    events = field_array(json_object(delivery.body).get("events"), "events")
    return [_event(event, f"events[{index}]") for index, event in enumerate(events)]


def send_reply(*, credentials: Credentials, reply: OutboundReply, timeout: float) -> SendResult:
    """Push the reply to the user; its id is the id LINE gives the sent message."""
    token = configured(credentials.access_token, "channel access token")
    url = f"{base_url(credentials, DEFAULT_BASE_URL)}/v2/bot/message/push"
    body = json.dumps({"to": reply.recipient_id, "messages": [{"type": "text", "text": reply.text}]}).encode()
    headers = {"Authorization": f"Bearer {token}", "X-Line-Retry-Key": retry_key(reply)}
    try:
        answer = json_answer(post_json(url, body, headers=headers, timeout=timeout))
    except SendFailed as exc:
        if exc.status == 409:
            # The retry key was accepted before: an earlier attempt went out and only its answer was lost.
            return SendResult(external_id=_sent_id(json_answer(exc.answer)))
        raise refusal(exc, _description) from exc
    return SendResult(external_id=_sent_id(answer))


def check(*, credentials: Credentials, timeout: float) -> str:
    """The bot the channel access token belongs to (its display name)."""
    token = configured(credentials.access_token, "channel access token")
    url = f"{base_url(credentials, DEFAULT_BASE_URL)}/v2/bot/info"
    try:
        answer = json_answer(http_get(url, headers={"Authorization": f"Bearer {token}"}, timeout=timeout))
    except SendFailed as exc:
        raise refusal(exc, _description) from exc
    return account_named(answer, ("displayName",), ("basicId",), ("userId",))


def fetch_attachment(*, credentials: Credentials, attachment: Attachment, timeout: float, max_bytes: int) -> Download:
    """The content of an image, video, audio or file message, from LINE (or from its external host)."""
    downloads.require_file(attachment, fileless=("location", "sticker"))
    if attachment.url:
        return downloads.fetch_url(attachment, timeout=timeout, max_bytes=max_bytes)
    message_id = urllib.parse.quote(downloads.require(attachment.media_id, "LINE message id"), safe="")
    token = configured(credentials.access_token, "channel access token")
    url = f"{base_url(credentials, DEFAULT_DATA_BASE_URL)}/v2/bot/message/{message_id}/content"
    try:
        download = http_download(url, timeout=timeout, max_bytes=max_bytes, auth={"Authorization": f"Bearer {token}"})
    except SendFailed as exc:
        raise refusal(exc, _description) from exc
    return downloads.described(download, attachment)


def retry_key(reply: OutboundReply) -> str:
    """The X-Line-Retry-Key of a reply: the same for every attempt at it, different for every other reply."""
    name = f"{reply.message_id}:{reply.ticket_number}:{reply.recipient_id}:{reply.sent_at.isoformat()}"
    return str(uuid.uuid5(_RETRY_KEYS, name))


def _sent_id(answer: dict[str, Any]) -> str | None:
    """The id LINE gave the pushed message: {"sentMessages": [{"id": ..., "quoteToken": ...}]}."""
    return answer_id(answer, "sentMessages", 0, "id")


def _description(answer: dict[str, Any]) -> str:
    """LINE's error answer: {"message": ..., "details": [{"message": ..., "property": ...}]}."""
    message = answer.get("message")
    parts = [message] if isinstance(message, str) else []
    details = answer.get("details")
    for detail in details if isinstance(details, list) else []:
        if isinstance(detail, dict) and isinstance(detail.get("message"), str):
            where = detail.get("property")
            parts.append(f"{where}: {detail['message']}" if isinstance(where, str) else detail["message"])
    return "; ".join(parts)


def _event(data: object, where: str) -> Event:
    event = field_object(data, where)
    kind = field_string(event.get("type"), f"{where}.type", max_length=MAX_ID)
    if kind == "message":
        return _message(event, where)
    if kind == "messageEdited":
        return _edit(event, where)
    return Ignored(kind=kind, detail=f"a LINE {kind} event")


def _message(event: dict[str, Any], where: str) -> Event:
    message = field_object(event.get("message"), f"{where}.message")
    kind = field_string(message.get("type"), f"{where}.message.type", max_length=MAX_ID)
    reader = _READERS.get(kind)
    if reader is None:
        return Ignored(kind="message", detail=f"a message of a type the helpdesk does not read: {kind}")
    user_id = _user_id(event, where)
    if not user_id:
        return Ignored(kind="message", detail="a message whose sender LINE does not name (no source.userId)")
    message_id = field_id(message.get("id"), f"{where}.message.id")
    sent_at = unix_time(event.get("timestamp"), f"{where}.timestamp", per_second=1000)
    text, attachments = reader(message, f"{where}.message", message_id)
    if not text and not attachments:
        return Ignored(kind="message", detail="an empty message")
    return InboundMessage(
        external_id=message_id,
        sender_id=user_id,
        sender_name="",
        text=text,
        sent_at=sent_at,
        attachments=attachments,
    )


def _edit(event: dict[str, Any], where: str) -> Event:
    message = field_object(event.get("message"), f"{where}.message")
    kind = field_string(message.get("type"), f"{where}.message.type", max_length=MAX_ID)
    user_id = _user_id(event, where)
    if not user_id:
        return Ignored(kind="messageEdited", detail="an edit whose sender LINE does not name (no source.userId)")
    if kind != "text":
        return Ignored(kind="messageEdited", detail=f"an edit of a message of type {kind}")
    return MessageEdit(
        external_id=field_id(message.get("id"), f"{where}.message.id"),
        sender_id=user_id,
        text=field_string(message.get("text"), f"{where}.message.text", max_length=MAX_TEXT),
        edited_at=unix_time(event.get("timestamp"), f"{where}.timestamp", per_second=1000),
    )


def _user_id(event: dict[str, Any], where: str) -> str:
    """The sending user's id, or "" when the source names none (a group member who has not consented)."""
    source = field_object(event.get("source"), f"{where}.source")
    return field_string(source.get("userId"), f"{where}.source.userId", max_length=MAX_ID, required=False)


def _text(message: dict[str, Any], where: str, message_id: str) -> Content:
    if message.get("text") is None:
        raise PayloadInvalid(f"missing field '{where}.text'")
    return field_string(message.get("text"), f"{where}.text", max_length=MAX_TEXT, required=False), ()


def _media(kind: str) -> Callable[[dict[str, Any], str, str], Content]:
    """The reader of an image, video or audio message: LINE's content id, and the URL of externally hosted content."""

    def read(message: dict[str, Any], where: str, message_id: str) -> Content:
        url = ""
        if message.get("contentProvider") is not None:
            provider = field_object(message.get("contentProvider"), f"{where}.contentProvider")
            if provider.get("type") == "external":
                where_url = f"{where}.contentProvider.originalContentUrl"
                url = field_string(provider.get("originalContentUrl"), where_url, max_length=MAX_URL, required=False)
        return "", (Attachment(kind=kind, url=url, media_id=message_id),)

    return read


def _file(message: dict[str, Any], where: str, message_id: str) -> Content:
    name = field_string(message.get("fileName"), f"{where}.fileName", max_length=MAX_ID, required=False, cut=True)
    return "", (Attachment(kind="file", media_id=message_id, name=name),)


def _location(message: dict[str, Any], where: str, message_id: str) -> Content:
    title = field_string(message.get("title"), f"{where}.title", max_length=MAX_NAME, required=False, cut=True)
    address = field_string(message.get("address"), f"{where}.address", max_length=MAX_NAME, required=False, cut=True)
    label = ", ".join(filter(None, (title, address)))
    fields = (f"{where}.latitude", f"{where}.longitude")
    attachment, text = decimal_location(message.get("latitude"), message.get("longitude"), fields, place=label)
    return text, (attachment,)


def _sticker(message: dict[str, Any], where: str, message_id: str) -> Content:
    """A sticker: its sticker id, and the text a "message sticker" carries."""
    sticker_id = field_id(message.get("stickerId"), f"{where}.stickerId")
    package_id = field_id(message.get("packageId"), f"{where}.packageId")
    text = field_string(message.get("text"), f"{where}.text", max_length=MAX_TEXT, required=False)
    return text, (Attachment(kind="sticker", media_id=sticker_id, name=f"package {package_id}"[:MAX_ID]),)


_READERS: dict[str, Callable[[dict[str, Any], str, str], Content]] = {
    "text": _text,
    "image": _media("image"),
    "video": _media("video"),
    "audio": _media("audio"),
    "file": _file,
    "location": _location,
    "sticker": _sticker,
}
