"""X (Twitter) direct messages through the Account Activity API.

Handshake (CRC): X GETs the webhook with `crc_token`; the answer is the JSON
{"response_token": "sha256=<base64 HMAC-SHA256 of the token with the consumer secret>"}.
Deliveries: a JSON object signed in `x-twitter-webhooks-signature: sha256=<base64 HMAC-SHA256 of the raw body
with the consumer secret>`. It names the subscribed user (`for_user_id`), carries lists of events under keys
ending in `_events` and a `users` map that gives the sender's profile name.

- `direct_message_events` of type `message_create` become messages; one whose sender is our own account (the
  account id, else `for_user_id`) is an Echo: X repeats every DM the account sends, from the helpdesk or the app.
- `direct_message_mark_read_events` from the contact become a "read" StatusUpdate with the read moment as the
  watermark: X names only the last event read, and everything before it was read too.
- Everything else (typing, follows, likes, tweets, blocks...) is Ignored, one per event.
- X has no DM edits. A delivery for another user subscribed to the same app is Ignored as a whole.

Replies: POST {base}/2/dm_conversations/with/{recipient}/messages with an OAuth 2.0 user-context bearer token.
Files: a DM's media URL (ton.twitter.com, or a video variant), fetched with the same bearer token.
"""

import json
import re
import urllib.parse
from typing import Any

from tickets.connectors import downloads
from tickets.connectors.base import (
    Attachment,
    Credentials,
    Delivery,
    Download,
    Echo,
    Event,
    HandshakeAnswer,
    HandshakeFailed,
    Ignored,
    InboundMessage,
    OutboundReply,
    PayloadInvalid,
    SendResult,
    SignatureInvalid,
    StatusUpdate,
    base_url,
    configured,
    hmac_base64,
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
    field_array,
    field_object,
    field_string,
    json_answer,
    json_object,
    unix_time,
)

SIGNATURE_HEADER = "x-twitter-webhooks-signature"
DEFAULT_BASE_URL = "https://api.x.com"
_MEDIA_KINDS = {"photo": "image", "video": "video", "animated_gif": "video"}


def sign(secret: str, data: bytes) -> str:
    """`sha256=` and the base64 HMAC-SHA256 of `data` with the consumer secret: X's signature and CRC answer."""
    return "sha256=" + hmac_base64(secret, data)


_CRC_TOKEN = re.compile(r"[A-Za-z0-9_=+/-]{1,128}")


def handshake(*, credentials: Credentials, delivery: Delivery) -> HandshakeAnswer:
    """Answer X's challenge-response check (CRC): the crc_token signed with the consumer secret, as JSON."""
    token = delivery.query.get("crc_token", "")
    if not token:
        raise HandshakeFailed("an X handshake is a GET with a crc_token query parameter")
    if not _CRC_TOKEN.fullmatch(token):
        # The answer is the token signed with the same key as deliveries: signing anything else (a JSON body)
        # would hand out a valid signature for a forged delivery.
        raise HandshakeFailed("a crc_token is at most 128 letters, digits and -_=+/")
    if not credentials.secret:
        raise HandshakeFailed("the channel account has no consumer secret to answer X's CRC with")
    return HandshakeAnswer(
        body=json.dumps({"response_token": sign(credentials.secret, token.encode())}),
        content_type="application/json",
    )


def verify(*, credentials: Credentials, delivery: Delivery) -> None:
    """Raise SignatureInvalid unless x-twitter-webhooks-signature is the body signed with the consumer secret."""
    given = signature_header(delivery, SIGNATURE_HEADER, prefix="sha256=", digest="base64 digest")
    if not credentials.secret:
        # Anyone can compute an HMAC with an empty key: never accept one.
        raise SignatureInvalid("the channel account has no consumer secret to check signatures with")
    if not safe_equal(given, sign(credentials.secret, delivery.body)):
        raise SignatureInvalid(f"{SIGNATURE_HEADER} does not match the body signed with this account's secret")


def parse(*, credentials: Credentials, delivery: Delivery) -> list[Event]:
    """The delivery's events in order: every `*_events` list, in the order the keys come."""
    data = json_object(delivery.body)
    for_user = field_string(data.get("for_user_id"), "for_user_id", max_length=MAX_ID, required=False)
    if credentials.account_id and for_user and for_user != credentials.account_id:
        return [Ignored(kind="other_account", detail=f"the delivery is for X user {for_user}")]
    own_id = credentials.account_id or for_user
    users = data.get("users", {})
    if not isinstance(users, dict):
        raise PayloadInvalid("field 'users' must be an object")
    events: list[Event] = []
    for key, items in data.items():
        if not key.endswith("_events"):
            continue  # for_user_id, users, apps, user_has_blocked...: context, not events
        for index, item in enumerate(field_array(items, key)):
            where = f"{key}[{index}]"
            events.append(_event(key, field_object(item, where), where, own_id=own_id, users=users))
    return events or [Ignored(kind="no_events", detail="the delivery holds no event list")]


def send_reply(*, credentials: Credentials, reply: OutboundReply, timeout: float) -> SendResult:
    """Send the reply as a DM to the contact; SendFailed when X does not take it."""
    token = configured(credentials.access_token, "X access token")
    recipient = urllib.parse.quote(reply.recipient_id, safe="")
    url = f"{base_url(credentials, DEFAULT_BASE_URL)}/2/dm_conversations/with/{recipient}/messages"
    body = json.dumps({"text": reply.text}).encode()
    answer = post_json(url, body, headers={"Authorization": f"Bearer {token}"}, timeout=timeout)
    return SendResult(external_id=answer_id(json_answer(answer), "data", "dm_event_id"))


def check(*, credentials: Credentials, timeout: float) -> str:
    """The X user the access token acts for (@username)."""
    token = configured(credentials.access_token, "X access token")
    url = f"{base_url(credentials, DEFAULT_BASE_URL)}/2/users/me"
    answer = json_answer(http_get(url, headers={"Authorization": f"Bearer {token}"}, timeout=timeout))
    username = account_named(answer, ("data", "username"))
    return f"@{username}" if username != "the account" else account_named(answer, ("data", "name"), ("data", "id"))


def fetch_attachment(*, credentials: Credentials, attachment: Attachment, timeout: float, max_bytes: int) -> Download:
    """The DM's media at its URL, with the access token as a bearer token (to that URL only, not a redirect)."""
    downloads.require_file(attachment)
    token = configured(credentials.access_token, "X access token")
    auth = {"Authorization": f"Bearer {token}"}
    return downloads.fetch_url(attachment, timeout=timeout, max_bytes=max_bytes, auth=auth)


def _event(key: str, item: dict[str, Any], where: str, *, own_id: str, users: dict[str, Any]) -> Event:
    if key == "direct_message_events":
        kind = item.get("type")
        if kind != "message_create":
            return Ignored(kind=f"direct_message:{kind}", detail=f"{where} is not a message_create")
        return _message(item, where, own_id=own_id, users=users)
    if key == "direct_message_mark_read_events":
        return _mark_read(item, where, own_id=own_id)
    return Ignored(kind=key.removesuffix("_events"), detail=where)


def _message(item: dict[str, Any], where: str, *, own_id: str, users: dict[str, Any]) -> Event:
    external_id = field_string(item.get("id"), f"{where}.id", max_length=MAX_ID)
    sent_at = unix_time(item.get("created_timestamp"), f"{where}.created_timestamp", per_second=1000, digits=True)
    create = field_object(item.get("message_create"), f"{where}.message_create")
    sender_id = field_string(create.get("sender_id"), f"{where}.message_create.sender_id", max_length=MAX_ID)
    target = field_object(create.get("target"), f"{where}.message_create.target")
    recipient_id = field_string(
        target.get("recipient_id"), f"{where}.message_create.target.recipient_id", max_length=MAX_ID
    )
    data_where = f"{where}.message_create.message_data"
    data = field_object(create.get("message_data"), data_where)
    text = field_string(data.get("text"), f"{data_where}.text", max_length=MAX_TEXT, required=False)
    attachment, media_link = _attachment(data, data_where)
    if attachment and media_link and text.endswith(media_link):
        text = text.removesuffix(media_link).rstrip()  # X appends the media's t.co link to the text
    if own_id and sender_id == own_id:
        return Echo(external_id=external_id, recipient_id=recipient_id, text=text, sent_at=sent_at)
    if not text and not attachment:
        return Ignored(kind="direct_message:empty", detail=f"{where} has no text and no media")
    return InboundMessage(
        external_id=external_id,
        sender_id=sender_id,
        sender_name=_user_name(users, sender_id),
        text=text,
        sent_at=sent_at,
        attachments=(attachment,) if attachment else (),
    )


def _attachment(data: dict[str, Any], where: str) -> tuple[Attachment | None, str]:
    """The DM's media as an Attachment, and the t.co link X put in the text for it."""
    if data.get("attachment") is None:
        return None, ""
    attachment = field_object(data["attachment"], f"{where}.attachment")
    if attachment.get("type") != "media":
        return None, ""  # a shared location or a future kind: the text still comes through
    media_where = f"{where}.attachment.media"
    media = field_object(attachment.get("media"), media_where)
    media_type = field_string(media.get("type"), f"{media_where}.type", max_length=MAX_ID)
    url = field_string(media.get("media_url_https"), f"{media_where}.media_url_https", max_length=MAX_URL)
    mime_type = ""
    if media_type in ("video", "animated_gif"):
        # media_url_https is only the video's still; the file itself is the best-quality variant.
        url, mime_type = _best_variant(media, media_where) or (url, "")
    link = field_string(media.get("url"), f"{media_where}.url", max_length=MAX_URL, required=False)
    media_id = field_string(media.get("id_str"), f"{media_where}.id_str", max_length=MAX_ID, required=False)
    kind = _MEDIA_KINDS.get(media_type, "file")
    return Attachment(kind=kind, url=url, media_id=media_id, mime_type=mime_type), link


def _best_variant(media: dict[str, Any], where: str) -> tuple[str, str] | None:
    info = media.get("video_info")
    variants = info.get("variants") if isinstance(info, dict) else None
    if not isinstance(variants, list):
        return None
    usable = [v for v in variants if isinstance(v, dict) and isinstance(v.get("url"), str) and v["url"]]
    if not usable:
        return None
    best = max(usable, key=lambda v: v["bitrate"] if isinstance(v.get("bitrate"), int) else -1)
    url = field_string(best["url"], f"{where}.video_info.variants.url", max_length=MAX_URL)
    content_type = best.get("content_type")
    return url, content_type[:MAX_ID] if isinstance(content_type, str) else ""


def _mark_read(item: dict[str, Any], where: str, *, own_id: str) -> Event:
    sender_id = field_string(item.get("sender_id"), f"{where}.sender_id", max_length=MAX_ID)
    if own_id and sender_id == own_id:
        return Ignored(kind="direct_message_mark_read", detail=f"{where}: our own account read the conversation")
    read_at = unix_time(item.get("created_timestamp"), f"{where}.created_timestamp", per_second=1000, digits=True)
    return StatusUpdate(status="read", at=read_at, recipient_id=sender_id, watermark=read_at)


def _user_name(users: dict[str, Any], user_id: str) -> str:
    user = users.get(user_id)
    if user is None:
        return ""
    name = field_object(user, f"users.{user_id}").get("name")
    return field_string(name, f"users.{user_id}.name", max_length=MAX_NAME, required=False)
