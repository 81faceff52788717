"""Telegram Bot API: a bot's updates arrive by webhook, its replies go out with sendMessage.

Telegram has no verification request: the bot registers its webhook with setWebhook, whose `secret_token`
Telegram sends back in the X-Telegram-Bot-Api-Secret-Token header of every update. Each request carries one
Update. Credentials: `secret` is that secret_token, `access_token` the bot token from @BotFather, `base_url`
the Bot API ("" for https://api.telegram.org).

Message ids are unique within a chat only, so a message's external id is "<chat id>:<message id>". The
contact is the chat: in a private chat it is the person (chat.id equals from.id); in a group it is the group,
since that is where a bot's reply goes. Telegram repeats none of the bot's own messages and reports no
delivery or read status, so this connector yields no Echo and no StatusUpdate.

Files: getFile turns a message's file_id into a `file_path`, fetched from {base}/file/bot<token>/<file_path>.
Both URLs hold the bot token, so no error message ever quotes them.
"""

import json
import urllib.parse
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
    answer_text,
    answer_value,
    decimal_location,
    field_id,
    field_name,
    field_object,
    field_string,
    json_answer,
    json_object,
    refusal,
    unix_time,
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
    if not safe_equal(signature_header(delivery, SIGNATURE_HEADER), credentials.secret):
        raise SignatureInvalid(f"{SIGNATURE_HEADER} is not this account's secret token")


def parse(*, credentials: Credentials, delivery: Delivery) -> list[Event]:
    """The one update in a delivery: a message, an edit, or an Ignored for every other kind of update."""
    update = json_object(delivery.body)
    field_id(update.get("update_id"), "update_id")
    if "message" in update:
        return [_message(update["message"], "message")]
    if "edited_message" in update:
        return [_edit(update["edited_message"], "edited_message")]
    kind = next((key for key in update if key != "update_id"), "update")
    return [Ignored(kind=_label(kind), detail="a kind of update the helpdesk does not handle")]


def send_reply(*, credentials: Credentials, reply: OutboundReply, timeout: float) -> SendResult:
    """Send the reply with sendMessage; its id is "<chat id>:<message id>", like an inbound message's."""
    # The token goes in the path: quote it, so a stray "/" or "?" cannot point the call elsewhere.
    token = urllib.parse.quote(configured(credentials.access_token, "bot token"), safe=":")
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


def check(*, credentials: Credentials, timeout: float) -> str:
    """The bot the token belongs to (@username), with getMe."""
    if not credentials.access_token:
        raise SendFailed("the channel account has no bot token", retryable=False)
    token = urllib.parse.quote(credentials.access_token, safe=":")
    url = f"{base_url(credentials, DEFAULT_BASE_URL)}/bot{token}/getMe"
    try:
        answer = json_answer(http_get(url, headers={}, timeout=timeout))
    except SendFailed as exc:
        raise refusal(exc, _description) from exc
    username = account_named(answer, ("result", "username"))
    return f"@{username}" if username != "the account" else account_named(answer, ("result", "first_name"))


def fetch_attachment(*, credentials: Credentials, attachment: Attachment, timeout: float, max_bytes: int) -> Download:
    """The file behind a file_id: its path asked of getFile, then fetched from the Bot API's file server."""
    downloads.require_file(attachment)
    file_id = urllib.parse.quote(downloads.require(attachment.media_id, "Telegram file_id"), safe="")
    token = configured(credentials.access_token, "bot token")
    with downloads.token_hidden(token):
        return _fetch_file(credentials, attachment, file_id=file_id, token=token, timeout=timeout, max_bytes=max_bytes)


def _fetch_file(
    credentials: Credentials, attachment: Attachment, *, file_id: str, token: str, timeout: float, max_bytes: int
) -> Download:
    """getFile, then the file server: both URLs hold the token (quoted, so it stays one path segment)."""
    base = downloads.token_api_base(credentials, DEFAULT_BASE_URL)
    token = urllib.parse.quote(token, safe=":")
    try:
        answer = json_answer(http_get(f"{base}/bot{token}/getFile?file_id={file_id}", headers={}, timeout=timeout))
    except SendFailed as exc:
        raise refusal(exc, _description) from exc
    if answer.get("ok") is not True:
        code = answer_value(answer, "error_code")
        retryable = isinstance(code, int) and (code == 429 or code >= 500)
        raise SendFailed(f"Telegram refused the file: {_description(answer) or 'no reason given'}", retryable=retryable)
    path = answer_text(answer, "result", "file_path").strip()
    if not path or len(path) > MAX_URL:
        # Telegram gives no path for a file the Bot API does not serve (larger than 20 MB, say).
        raise SendFailed("Telegram's getFile answer has no file_path", retryable=False)
    download = http_download(
        f"{base}/file/bot{token}/{urllib.parse.quote(path, safe='/')}",
        timeout=timeout,
        max_bytes=max_bytes,
        expected_size=downloads.announced_size(answer_value(answer, "result", "file_size")),
    )
    # The name the contact's file had comes first: the path's own name is Telegram's ("file_12.jpg").
    return downloads.described(download, attachment, name=attachment.name, last_name=path)


def _description(answer: dict[str, Any]) -> str:
    """Why Telegram refused a call: its answer's description ("Forbidden: bot was blocked by the user")."""
    return answer_text(answer, "description")


def _message(data: object, where: str) -> Event:
    message = field_object(data, where)
    chat = field_object(message.get("chat"), f"{where}.chat")
    chat_id, external_id = _ids(message, chat, where)
    sent_at = unix_time(message.get("date"), f"{where}.date")
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
    message = field_object(data, where)
    chat_id, external_id = _ids(message, field_object(message.get("chat"), f"{where}.chat"), where)
    text = _text(message, where)
    if not text:
        # A live location moving, or a media message whose caption was removed: no text to record.
        return Ignored(kind=where, detail="an edit without text or caption")
    edited = "edit_date" if "edit_date" in message else "date"
    return MessageEdit(
        external_id=external_id,
        sender_id=chat_id,
        text=text,
        edited_at=unix_time(message.get(edited), f"{where}.{edited}"),
    )


def _ids(message: dict[str, Any], chat: dict[str, Any], where: str) -> tuple[str, str]:
    """The chat's id (the contact) and the message's external id, "<chat id>:<message id>"."""
    chat_id = field_id(chat.get("id"), f"{where}.chat.id")
    message_id = field_id(message.get("message_id"), f"{where}.message_id")
    return chat_id, field_string(f"{chat_id}:{message_id}", f"{where}.message_id", max_length=MAX_ID)


def _text(message: dict[str, Any], where: str) -> str:
    """The message's text, or for a media message its caption ("" when it has neither)."""
    field = "text" if "text" in message else "caption"
    return field_string(message.get(field), f"{where}.{field}", max_length=MAX_TEXT, required=False)


def _content(message: dict[str, Any], where: str) -> tuple[str, tuple[Attachment, ...]]:
    text = _text(message, where)
    if "photo" in message:
        return text, (_photo(message["photo"], f"{where}.photo"),)
    for field, kind in _FILE_FIELDS:
        if field in message:
            return text, (_file(message[field], f"{where}.{field}", kind),)
    if "venue" in message:
        venue = field_object(message["venue"], f"{where}.venue")
        title = field_string(venue.get("title"), f"{where}.venue.title", max_length=MAX_NAME, required=False)
        address = field_string(venue.get("address"), f"{where}.venue.address", max_length=MAX_NAME, required=False)
        return _located(venue.get("location"), f"{where}.venue.location", ", ".join(filter(None, (title, address))))
    if "location" in message:
        return _located(message["location"], f"{where}.location", "")
    return text, ()


def _located(data: object, where: str, label: str) -> tuple[str, tuple[Attachment, ...]]:
    point = field_object(data, where)
    fields = (f"{where}.latitude", f"{where}.longitude")
    attachment, text = decimal_location(point.get("latitude"), point.get("longitude"), fields, place=label)
    return text, (attachment,)


def _photo(data: object, where: str) -> Attachment:
    """The largest of the sizes Telegram offers of a photo."""
    if not isinstance(data, list) or not data:
        raise PayloadInvalid(f"field '{where}' must be a non-empty list of photo sizes")
    sizes = [field_object(size, f"{where}[{index}]") for index, size in enumerate(data)]

    def area(size: dict[str, Any]) -> tuple[int, int]:
        numbers = [size.get(key) for key in ("width", "height", "file_size")]
        width, height, file_size = (n if isinstance(n, int) and not isinstance(n, bool) else 0 for n in numbers)
        return width * height, file_size

    index, largest = max(enumerate(sizes), key=lambda pair: area(pair[1]))
    return _file(largest, f"{where}[{index}]", "image")


def _file(data: object, where: str, kind: str) -> Attachment:
    media = field_object(data, where)
    return Attachment(
        kind=kind,
        media_id=field_string(media.get("file_id"), f"{where}.file_id", max_length=MAX_ID),
        mime_type=field_string(media.get("mime_type"), f"{where}.mime_type", max_length=MAX_NAME, required=False),
        name=field_string(media.get("file_name"), f"{where}.file_name", max_length=MAX_ID, required=False),
    )


def _sender_name(message: dict[str, Any], chat: dict[str, Any], where: str) -> str:
    """The person's name in a private chat; a group's title in a group (the group is the contact there)."""
    if chat.get("type") != "private" and chat.get("title") is not None:
        return field_name(chat.get("title"), f"{where}.chat.title")
    person = message.get("from", chat)
    if not isinstance(person, dict):
        raise PayloadInvalid(f"field '{where}.from' must be an object")
    name = " ".join(
        field_name(person.get(field), f"{where}.from.{field}") for field in ("first_name", "last_name")
    ).strip()
    return name or field_name(person.get("username"), f"{where}.from.username")


def _is_id(value: object) -> bool:
    return isinstance(value, (int, str)) and not isinstance(value, bool) and len(str(value)) <= MAX_ID


def _label(value: str) -> str:
    """A name taken from a delivery to record as is (a JSON key): storable, and at most MAX_ID long."""
    return value.replace("\x00", "").encode("utf-8", "replace").decode("utf-8")[:MAX_ID]
