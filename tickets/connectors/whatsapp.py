"""WhatsApp, through the WhatsApp Cloud API's webhooks and messages endpoint.

Inbound: Meta POSTs `{"object": "whatsapp_business_account", "entry": [{"id": <WABA id>, "changes": [...]}]}`;
each change has a `field` and a `value`. For field "messages" the value holds `metadata.phone_number_id`
(which of the business's numbers), `contacts` (the profile name of each `wa_id`), `messages` (from
contacts) and `statuses` (what became of ours: sent, delivered, read, failed with `errors`). For field
"smb_message_echoes" (a number also used in the WhatsApp Business app) it holds `message_echoes`: messages
the business sent from the app. Every other field (template and account updates...) is Ignored.

Message types read: text; image, video, audio, document, sticker (a media id to fetch, with the caption as
text); location; interactive button and list replies and template quick-reply buttons (their titles as
text); edit (a MessageEdit of the original message). Reactions, revokes, system notices, unsupported and
unknown types are Ignored.

Signatures and the handshake are Meta's common ones (tickets.connectors.meta).

Outbound: POST {base}/v21.0/{phone number id}/messages with the access token as `Authorization: Bearer` and
`{"messaging_product": "whatsapp", "to": ..., "type": "text", "text": {"body": ...}}`; Meta answers
`{"messages": [{"id": ...}]}`. Outside the 24-hour customer service window only an approved template may be
sent: `send_template` posts `"type": "template"` to the same endpoint.

Files: a media id is looked up with GET {base}/v21.0/{media id} (Bearer), which answers
`{"url", "mime_type", "sha256", "file_size", "id", "messaging_product"}`; the URL (valid for 5 minutes) is then
fetched with the same Bearer token, sent to that URL only, never after a redirect.

`credentials.account_id` is the phone number id: replies are sent from it, and changes for another of the
business's numbers are Ignored (one app delivers every number's events to the same callback URL).
"""

import urllib.parse
from typing import Any

from tickets.connectors import downloads, meta
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
    SendFailed,
    SendResult,
    StatusUpdate,
    configured,
    http_download,
)
from tickets.connectors.fields import (
    MAX_ID,
    MAX_NAME,
    MAX_TEXT,
    MAX_URL,
    account_named,
    answer_text,
    answer_value,
    field_array,
    field_object,
)

OBJECT = "whatsapp_business_account"
STATUSES = ("sent", "delivered", "read", "failed")

# Media message types and the attachment kind each becomes.
_MEDIA_KINDS = {"image": "image", "video": "video", "audio": "audio", "document": "file", "sticker": "sticker"}

# What a message's content reads as: its text and files. None for a type the helpdesk does not show.
_Content = tuple[str, tuple[Attachment, ...]]


def handshake(*, credentials: Credentials, delivery: Delivery) -> HandshakeAnswer:
    """Answer Meta's subscription check (see tickets.connectors.meta)."""
    return meta.handshake(credentials=credentials, delivery=delivery)


def verify(*, credentials: Credentials, delivery: Delivery) -> None:
    """Raise SignatureInvalid unless the delivery is signed with the app secret (X-Hub-Signature-256)."""
    meta.verify(credentials=credentials, delivery=delivery)


def parse(*, credentials: Credentials, delivery: Delivery) -> list[Event]:
    """The events of a WhatsApp delivery, in order."""
    events: list[Event] = []
    for index, raw in enumerate(meta.entries(delivery.body, expected_object=OBJECT)):
        where = f"entry[{index}]"
        entry = field_object(raw, where)
        for number, change in enumerate(field_array(entry.get("changes"), f"{where}.changes")):
            events.extend(_change(change, f"{where}.changes[{number}]", credentials))
    return events


def send_reply(*, credentials: Credentials, reply: OutboundReply, timeout: float) -> SendResult:
    """Send the reply as a text message from the account's phone number; SendFailed when it does not go out."""
    number = configured(credentials.account_id, "phone number id (account id)")
    payload = {
        "messaging_product": "whatsapp",
        "to": reply.recipient_id,
        "type": "text",
        "text": {"body": reply.text},
    }
    path = f"{urllib.parse.quote(number, safe='')}/messages"
    answer = meta.graph_post(credentials, path, payload, timeout=timeout)
    return SendResult(external_id=meta.graph_id(answer, "messages", 0, "id"))


def send_template(
    *, credentials: Credentials, recipient_id: str, name: str, language: str, parameters: list[str], timeout: float
) -> SendResult:
    """Send the approved template `name` in `language` (a code: "en_US"), its body's {{1}}, {{2}}... filled
    with `parameters` in order; SendFailed when it does not go out."""
    number = configured(credentials.account_id, "phone number id (account id)")
    if not name or not language:
        raise SendFailed("a WhatsApp template needs a name and a language code", retryable=False)
    template: dict[str, Any] = {"name": name, "language": {"code": language}}
    if parameters:
        body = [{"type": "text", "text": parameter} for parameter in parameters]
        template["components"] = [{"type": "body", "parameters": body}]
    payload = {"messaging_product": "whatsapp", "to": recipient_id, "type": "template", "template": template}
    path = f"{urllib.parse.quote(number, safe='')}/messages"
    answer = meta.graph_post(credentials, path, payload, timeout=timeout)
    return SendResult(external_id=meta.graph_id(answer, "messages", 0, "id"))


def fetch_attachment(*, credentials: Credentials, attachment: Attachment, timeout: float, max_bytes: int) -> Download:
    """The file behind a media id: looked up in the Graph API, then fetched from the URL it gives."""
    downloads.require_file(attachment)
    media_id = downloads.require(attachment.media_id, "WhatsApp media id")
    token = configured(credentials.access_token, "access token")
    media = meta.graph_lookup(credentials, urllib.parse.quote(media_id, safe=""), timeout=timeout)
    url = answer_text(media, "url")
    if not url.startswith(("http://", "https://")) or len(url) > MAX_URL:
        raise SendFailed(f"WhatsApp's answer for media {media_id[:64]} has no download URL", retryable=False)
    download = http_download(
        url,
        timeout=timeout,
        max_bytes=max_bytes,
        auth={"Authorization": f"Bearer {token}"},
        expected_size=downloads.announced_size(answer_value(media, "file_size")),
    )
    return downloads.described(download, attachment, mime_type=answer_text(media, "mime_type").strip())


def check(*, credentials: Credentials, timeout: float) -> str:
    """The business phone number the access token may send from: its verified name and number."""
    number = configured(credentials.account_id, "phone number id (account id)")
    path = f"{urllib.parse.quote(number, safe='')}?fields=display_phone_number,verified_name"
    answer = meta.graph_get(credentials, path, timeout=timeout)
    return account_named(answer, ("verified_name",), ("display_phone_number",), ("id",))


def _change(raw: Any, where: str, credentials: Credentials) -> list[Event]:
    change = field_object(raw, where)
    field = meta.string(change, "field", where, max_length=MAX_ID)
    if field not in ("messages", "smb_message_echoes"):
        return [Ignored(kind=meta.label(field), detail=where)]
    value = field_object(change.get("value"), f"{where}.value")
    where = f"{where}.value"
    metadata = value.get("metadata")
    number = metadata.get("phone_number_id") if isinstance(metadata, dict) else None
    if credentials.account_id and isinstance(number, str) and number != credentials.account_id:
        return [Ignored(kind="other_account", detail=f"{where} is for {number[:64]}, not {credentials.account_id}")]
    if field == "smb_message_echoes":
        echoes = field_array(value.get("message_echoes"), f"{where}.message_echoes")
        return [_echo(echo, f"{where}.message_echoes[{index}]") for index, echo in enumerate(echoes)]
    names = _names(value.get("contacts"), f"{where}.contacts")
    events: list[Event] = []
    for index, message in enumerate(_optional_array(value, "messages", where)):
        events.append(_message(message, f"{where}.messages[{index}]", names))
    for index, status in enumerate(_optional_array(value, "statuses", where)):
        events.append(_status(status, f"{where}.statuses[{index}]"))
    if "errors" in value:
        events.append(Ignored(kind="errors", detail=meta.error_text(value["errors"], f"{where}.errors")))
    if not events:
        events.append(Ignored(kind="messages", detail=f"{where} has no messages or statuses"))
    return events


def _names(raw: Any, where: str) -> dict[str, str]:
    """The profile name of each contact in the change, by wa_id."""
    names: dict[str, str] = {}
    if raw is None:
        return names
    for index, value in enumerate(field_array(raw, where)):
        path = f"{where}[{index}]"
        contact = field_object(value, path)
        profile = contact.get("profile")
        if "wa_id" not in contact or profile is None:
            continue
        profile = field_object(profile, f"{path}.profile")
        wa_id = meta.ident(contact, "wa_id", path)
        names[wa_id] = meta.string(profile, "name", f"{path}.profile", max_length=MAX_NAME, required=False)
    return names


def _message(raw: Any, where: str, names: dict[str, str]) -> Event:
    message = field_object(raw, where)
    kind = meta.string(message, "type", where, max_length=MAX_ID)
    if kind == "edit":
        return _edit(message, where)
    content = _content(message, kind, where)
    if content is None:
        return Ignored(kind=meta.label(kind), detail=_ignored_detail(message, where))
    text, attachments = content
    sender = meta.ident(message, "from", where)
    return InboundMessage(
        external_id=meta.ident(message, "id", where),
        sender_id=sender,
        sender_name=names.get(sender, ""),
        text=text,
        sent_at=meta.instant(message.get("timestamp"), f"{where}.timestamp", milliseconds=False),
        attachments=attachments,
    )


def _content(message: dict[str, Any], kind: str, where: str) -> _Content | None:
    """The text and files of a message of type `kind`, or None for a type the helpdesk does not show."""
    path = f"{where}.{kind}"
    if kind == "text":
        return meta.string(field_object(message.get("text"), path), "body", path, max_length=MAX_TEXT), ()
    if kind in _MEDIA_KINDS:
        media = field_object(message.get(kind), path)
        attachment = Attachment(
            kind=_MEDIA_KINDS[kind],
            url=meta.string(media, "url", path, max_length=meta.MAX_URL, required=False),
            media_id=meta.ident(media, "id", path),
            mime_type=meta.string(media, "mime_type", path, max_length=MAX_ID, required=False),
            name=meta.string(media, "filename", path, max_length=MAX_NAME, required=False),
        )
        return meta.string(media, "caption", path, max_length=MAX_TEXT, required=False), (attachment,)
    if kind == "location":
        place = field_object(message.get("location"), path)
        name = meta.string(place, "name", path, max_length=MAX_NAME, required=False)
        address = meta.string(place, "address", path, max_length=MAX_TEXT, required=False)
        attachment, text = meta.location_at(place, path, ", ".join(part for part in (name, address) if part))
        return meta.joined(text, where=path), (attachment,)
    if kind == "button":
        return meta.string(field_object(message.get("button"), path), "text", path, max_length=MAX_TEXT), ()
    if kind == "interactive":
        return _interactive(field_object(message.get("interactive"), path), path)
    return None


def _interactive(interactive: dict[str, Any], where: str) -> _Content | None:
    """A tap on a reply button or a list row reads as its title; other interactive replies are not shown."""
    reply = meta.string(interactive, "type", where, max_length=MAX_ID)
    if reply not in ("button_reply", "list_reply"):
        return None
    path = f"{where}.{reply}"
    return meta.string(field_object(interactive.get(reply), path), "title", path, max_length=MAX_TEXT), ()


def _edit(message: dict[str, Any], where: str) -> Event:
    """A contact changed a message's text or caption: an edit of the original message's id."""
    path = f"{where}.edit"
    edit = field_object(message.get("edit"), path)
    original = meta.ident(edit, "original_message_id", path)
    edited = field_object(edit.get("message"), f"{path}.message")
    kind = meta.string(edited, "type", f"{path}.message", max_length=MAX_ID)
    content = _content(edited, kind, f"{path}.message")
    if content is None or not content[0]:
        return Ignored(kind="edit", detail=f"{original}: no text to show")
    return MessageEdit(
        external_id=original,
        sender_id=meta.ident(message, "from", where),
        text=content[0],
        edited_at=meta.instant(message.get("timestamp"), f"{where}.timestamp", milliseconds=False),
    )


def _status(raw: Any, where: str) -> Event:
    status = field_object(raw, where)
    name = meta.string(status, "status", where, max_length=MAX_ID)
    if name not in STATUSES:
        # "deleted", "warning", or a status newer than this code.
        return Ignored(kind="status", detail=meta.label(name))
    error = meta.error_text(status["errors"], f"{where}.errors") if status.get("errors") is not None else ""
    return StatusUpdate(
        status=name,
        at=meta.instant(status.get("timestamp"), f"{where}.timestamp", milliseconds=False),
        external_id=meta.ident(status, "id", where),
        recipient_id=meta.string(status, "recipient_id", where, max_length=MAX_ID, required=False),
        error=error,
    )


def _echo(raw: Any, where: str) -> Event:
    """A message the business sent from the WhatsApp Business app, to a contact."""
    echo = field_object(raw, where)
    kind = meta.string(echo, "type", where, max_length=MAX_ID)
    content = _content(echo, kind, where) if kind != "edit" else None
    if content is None:
        return Ignored(kind=f"echo_{meta.label(kind)}", detail=_ignored_detail(echo, where))
    return Echo(
        external_id=meta.ident(echo, "id", where),
        recipient_id=meta.ident(echo, "to", where),
        text=content[0],
        sent_at=meta.instant(echo.get("timestamp"), f"{where}.timestamp", milliseconds=False),
    )


def _ignored_detail(message: dict[str, Any], where: str) -> str:
    """What an Ignored message was: its id, and the errors WhatsApp gave for an unsupported one."""
    message_id = message.get("id")
    detail = message_id[:64] if isinstance(message_id, str) else where
    try:
        errors = meta.error_text(message["errors"], f"{where}.errors") if message.get("errors") is not None else ""
    except PayloadInvalid:
        errors = ""  # an ignored message is not refused for how it describes itself
    return f"{detail}: {errors}" if errors else detail


def _optional_array(value: dict[str, Any], key: str, where: str) -> list[Any]:
    return [] if value.get(key) is None else field_array(value[key], f"{where}.{key}")
