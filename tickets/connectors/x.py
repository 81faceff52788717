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

The small field helpers here (`clean_text`, `epoch_instant`, `json_object`, `answer_field`) are shared with the
WeChat connector.
"""

import base64
import hashlib
import hmac
import json
import urllib.parse
from datetime import UTC, datetime, timedelta
from typing import Any

from tickets.connectors.base import (
    Attachment,
    Credentials,
    Delivery,
    Echo,
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
    post_json,
)

SIGNATURE_HEADER = "x-twitter-webhooks-signature"
DEFAULT_BASE_URL = "https://api.x.com"
MAX_ID = 255
MAX_NAME = 200
MAX_TEXT = 100_000
# Platforms send the moment a message was written; anything outside these years is a bug upstream, and
# extreme values cannot be stored or shown (PostgreSQL and Python disagree on the range).
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
LATEST = datetime(2100, 1, 1, tzinfo=UTC)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MEDIA_KINDS = {"photo": "image", "video": "video", "animated_gif": "video"}


def sign(secret: str, data: bytes) -> str:
    """`sha256=` and the base64 HMAC-SHA256 of `data` with the consumer secret: X's signature and CRC answer."""
    digest = hmac.new(secret.encode(), data, hashlib.sha256).digest()
    return "sha256=" + base64.b64encode(digest).decode()


def handshake(*, credentials: Credentials, delivery: Delivery) -> HandshakeAnswer:
    """Answer X's challenge-response check (CRC): the crc_token signed with the consumer secret, as JSON."""
    token = delivery.query.get("crc_token", "")
    if not token:
        raise HandshakeFailed("an X handshake is a GET with a crc_token query parameter")
    if not credentials.secret:
        raise HandshakeFailed("the channel account has no consumer secret to answer X's CRC with")
    return HandshakeAnswer(
        body=json.dumps({"response_token": sign(credentials.secret, token.encode())}),
        content_type="application/json",
    )


def verify(*, credentials: Credentials, delivery: Delivery) -> None:
    """Raise SignatureInvalid unless x-twitter-webhooks-signature is the body signed with the consumer secret."""
    given = delivery.header(SIGNATURE_HEADER)
    if not given:
        raise SignatureInvalid(f"missing {SIGNATURE_HEADER} header")
    if not given.startswith("sha256="):
        raise SignatureInvalid(f"{SIGNATURE_HEADER} must look like sha256=<base64 digest>")
    if not credentials.secret:
        # Anyone can compute an HMAC with an empty key: never accept one.
        raise SignatureInvalid("the channel account has no consumer secret to check signatures with")
    if not hmac.compare_digest(given.encode(), sign(credentials.secret, delivery.body).encode()):
        raise SignatureInvalid(f"{SIGNATURE_HEADER} does not match the body signed with this account's secret")


def parse(*, credentials: Credentials, delivery: Delivery) -> list[Event]:
    """The delivery's events in order: every `*_events` list, in the order the keys come."""
    data = json_object(delivery.body)
    for_user = clean_text(data.get("for_user_id"), "for_user_id", max_length=MAX_ID, required=False)
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
        if not isinstance(items, list):
            raise PayloadInvalid(f"field '{key}' must be a list")
        for index, item in enumerate(items):
            where = f"{key}[{index}]"
            if not isinstance(item, dict):
                raise PayloadInvalid(f"field '{where}' must be an object")
            events.append(_event(key, item, where, own_id=own_id, users=users))
    return events or [Ignored(kind="no_events", detail="the delivery holds no event list")]


def send_reply(*, credentials: Credentials, reply: OutboundReply, timeout: float) -> SendResult:
    """Send the reply as a DM to the contact; SendFailed when X does not take it."""
    if not credentials.access_token:
        raise SendFailed("the channel account has no X access token", retryable=False)
    base = (credentials.base_url or DEFAULT_BASE_URL).rstrip("/")
    recipient = urllib.parse.quote(reply.recipient_id, safe="")
    body = json.dumps({"text": reply.text}).encode()
    answer = post_json(
        f"{base}/2/dm_conversations/with/{recipient}/messages",
        body,
        headers={"Authorization": f"Bearer {credentials.access_token}"},
        timeout=timeout,
    )
    return SendResult(external_id=answer_field(answer, "data", "dm_event_id"))


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
    external_id = clean_text(item.get("id"), f"{where}.id", max_length=MAX_ID)
    sent_at = epoch_instant(item.get("created_timestamp"), f"{where}.created_timestamp", per_second=1000)
    create = _object(item, "message_create", where)
    sender_id = clean_text(create.get("sender_id"), f"{where}.message_create.sender_id", max_length=MAX_ID)
    target = _object(create, "target", f"{where}.message_create")
    recipient_id = clean_text(
        target.get("recipient_id"), f"{where}.message_create.target.recipient_id", max_length=MAX_ID
    )
    data = _object(create, "message_data", f"{where}.message_create")
    data_where = f"{where}.message_create.message_data"
    text = clean_text(data.get("text"), f"{data_where}.text", max_length=MAX_TEXT, required=False)
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
    attachment = data.get("attachment")
    if attachment is None:
        return None, ""
    if not isinstance(attachment, dict):
        raise PayloadInvalid(f"field '{where}.attachment' must be an object")
    if attachment.get("type") != "media":
        return None, ""  # a shared location or a future kind: the text still comes through
    media = _object(attachment, "media", f"{where}.attachment")
    media_where = f"{where}.attachment.media"
    media_type = clean_text(media.get("type"), f"{media_where}.type", max_length=MAX_ID)
    url = clean_text(media.get("media_url_https"), f"{media_where}.media_url_https", max_length=2000)
    mime_type = ""
    if media_type in ("video", "animated_gif"):
        # media_url_https is only the video's still; the file itself is the best-quality variant.
        url, mime_type = _best_variant(media, media_where) or (url, "")
    link = clean_text(media.get("url"), f"{media_where}.url", max_length=2000, required=False)
    media_id = clean_text(media.get("id_str"), f"{media_where}.id_str", max_length=MAX_ID, required=False)
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
    url = clean_text(best["url"], f"{where}.video_info.variants.url", max_length=2000)
    content_type = best.get("content_type")
    return url, content_type[:MAX_ID] if isinstance(content_type, str) else ""


def _mark_read(item: dict[str, Any], where: str, *, own_id: str) -> Event:
    sender_id = clean_text(item.get("sender_id"), f"{where}.sender_id", max_length=MAX_ID)
    if own_id and sender_id == own_id:
        return Ignored(kind="direct_message_mark_read", detail=f"{where}: our own account read the conversation")
    read_at = epoch_instant(item.get("created_timestamp"), f"{where}.created_timestamp", per_second=1000)
    return StatusUpdate(status="read", at=read_at, recipient_id=sender_id, watermark=read_at)


def _user_name(users: dict[str, Any], user_id: str) -> str:
    user = users.get(user_id)
    if user is None:
        return ""
    if not isinstance(user, dict):
        raise PayloadInvalid(f"field 'users.{user_id}' must be an object")
    return clean_text(user.get("name"), f"users.{user_id}.name", max_length=MAX_NAME, required=False)


def _object(data: dict[str, Any], key: str, where: str) -> dict[str, Any]:
    value = data.get(key)
    if value is None:
        raise PayloadInvalid(f"missing field '{where}.{key}'")
    if not isinstance(value, dict):
        raise PayloadInvalid(f"field '{where}.{key}' must be an object")
    return value


def json_object(body: bytes) -> dict[str, Any]:
    """The body as a JSON object, or PayloadInvalid saying why it is not one."""
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise PayloadInvalid(f"the body is not valid JSON: {exc}") from exc
    except (ValueError, RecursionError) as exc:
        # Python's own limits: integers over 4,300 digits, nesting deeper than the recursion limit.
        raise PayloadInvalid(f"the body is JSON this endpoint cannot read: {exc}") from exc
    if not isinstance(data, dict):
        raise PayloadInvalid("the body must be a JSON object")
    return data


def clean_text(value: object, name: str, *, max_length: int, required: bool = True) -> str:
    """`value` as a trimmed string without NUL characters; PayloadInvalid naming field `name` when it is not one,
    is empty but `required`, or is longer than `max_length`."""
    if value is None:
        if required:
            raise PayloadInvalid(f"missing field '{name}'")
        return ""
    if not isinstance(value, str):
        raise PayloadInvalid(f"field '{name}' must be a string")
    # PostgreSQL text cannot hold NUL characters, and no person types one: drop them.
    value = value.replace("\x00", "").strip()
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise PayloadInvalid(f"field '{name}' is not valid Unicode (a lone surrogate escape)") from exc
    if required and not value:
        raise PayloadInvalid(f"field '{name}' must not be empty")
    if len(value) > max_length:
        raise PayloadInvalid(f"field '{name}' is longer than {max_length} characters")
    return value


def epoch_instant(value: object, name: str, *, per_second: int) -> datetime:
    """A platform's Unix timestamp (`per_second` 1 for seconds, 1000 for milliseconds, as digits or an integer)
    as an aware UTC datetime between 2000 and 2100; PayloadInvalid naming field `name` otherwise."""
    unit = "seconds" if per_second == 1 else "milliseconds"
    if value is None:
        raise PayloadInvalid(f"missing field '{name}'")
    raw = str(value).strip() if isinstance(value, (str, int)) and not isinstance(value, bool) else ""
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 20):
        raise PayloadInvalid(f"field '{name}' must be a Unix time in {unit}")
    count = int(raw)
    earliest, latest = (int((bound - _EPOCH).total_seconds()) * per_second for bound in (EARLIEST, LATEST))
    if not earliest <= count <= latest:
        raise PayloadInvalid(f"field '{name}' must be between {EARLIEST:%Y} and {LATEST:%Y}")
    return _EPOCH + timedelta(microseconds=count * (1_000_000 // per_second))


def answer_field(answer: bytes, *path: str) -> str | None:
    """The id at `path` in a platform's JSON answer, or None: a 2xx answer without one still means sent."""
    try:
        value: object = json.loads(answer) if answer.strip() else None
    except (ValueError, RecursionError):
        return None
    for key in path:
        value = value.get(key) if isinstance(value, dict) else None
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        return None
    return str(value)[:MAX_ID] or None
