"""Instagram Direct messages, through the Messenger Platform's webhooks and Send API.

Instagram messaging is the Messenger Platform with `"object": "instagram"`: the same signed deliveries of
`entry[].messaging[]` items and the same Send API, so this module only names its object and reuses
tickets.connectors.messenger. What is Instagram's own is handled there too: unsent messages (`is_deleted`),
read receipts naming the `mid` seen, shared posts and reels (as image and video attachments), and likes and
story mentions (Ignored).

Outbound: POST {base}/v21.0/me/messages with the access token of the page linked to the Instagram account
as `Authorization: Bearer`; Meta answers `{"recipient_id": ..., "message_id": ...}`.

Files: as Messenger's, a Meta CDN URL fetched as it is.

`credentials.account_id`, when set, is the Instagram professional account's id: entries for another account
are Ignored.
"""

from tickets.connectors import messenger, meta
from tickets.connectors.base import (
    Attachment,
    Credentials,
    Delivery,
    Download,
    Event,
    HandshakeAnswer,
    OutboundReply,
    SendResult,
)

OBJECT = "instagram"


def handshake(*, credentials: Credentials, delivery: Delivery) -> HandshakeAnswer:
    """Answer Meta's subscription check (see tickets.connectors.meta)."""
    return meta.handshake(credentials=credentials, delivery=delivery)


def verify(*, credentials: Credentials, delivery: Delivery) -> None:
    """Raise SignatureInvalid unless the delivery is signed with the app secret (X-Hub-Signature-256)."""
    meta.verify(credentials=credentials, delivery=delivery)


def parse(*, credentials: Credentials, delivery: Delivery) -> list[Event]:
    """The events of an Instagram delivery, in order."""
    return messenger.parse_messaging(credentials=credentials, delivery=delivery, expected_object=OBJECT)


check = meta.check


def send_reply(*, credentials: Credentials, reply: OutboundReply, timeout: float) -> SendResult:
    """Send the reply as a text message through the Send API; SendFailed when it does not go out."""
    return messenger.send_message(credentials=credentials, reply=reply, timeout=timeout)


def fetch_attachment(*, credentials: Credentials, attachment: Attachment, timeout: float, max_bytes: int) -> Download:
    """The file a contact sent, from the Meta CDN URL the delivery gave (see tickets.connectors.meta)."""
    return meta.fetch_cdn_file(attachment, timeout=timeout, max_bytes=max_bytes)
