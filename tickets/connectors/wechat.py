"""WeChat Official Account messages (公众号), in plain or safe (encrypted) mode.

The account's token is `credentials.secret`. WeChat signs with it in the query string, not over the body:
`signature` = hex SHA1 of the sorted [token, timestamp, nonce], joined.

- Handshake: a GET with signature, timestamp, nonce and echostr; the answer is echostr, as plain text.
- Plain mode: a POST of one message as XML, with the same `signature` in the query.
- Safe mode (the account has an EncodingAESKey, `credentials.aes_key`): the XML holds an <Encrypt> element and the
  query `msg_signature` = hex SHA1 of the sorted [token, timestamp, nonce, Encrypt]. Encrypt is AES-256-CBC (the
  key is the base64 EncodingAESKey, the IV its first 16 bytes, PKCS#7 padding to 32 bytes) of 16 random bytes, the
  XML's length (4 bytes, big-endian), the XML and the AppID, which must be `credentials.account_id` when set.
  An account with an EncodingAESKey refuses plain deliveries: their signature does not cover the body.

Messages (text, image, voice, video, shortvideo, location, link) become InboundMessages; WeChat gives no profile
name, so sender_name is "". Events (subscribe, menu clicks, kf_close_session...) and unknown message types are
Ignored. TEMPLATESENDJOBFINISH is Ignored too: it reports on template messages, and the helpdesk sends only
customer-service messages, so it is never about a message of ours. WeChat has no batches, echoes or edits.

WeChat wants the body "success" for an accepted delivery (ANSWER), else it retries and warns the user.
Replies: the customer-service message API, POST {base}/cgi-bin/message/custom/send?access_token=...; WeChat
answers HTTP 200 even when it refuses, with a non-zero errcode.

Files: GET {base}/cgi-bin/media/get?access_token=...&media_id=... answers the file itself, or for a video the
JSON {"video_url": ...} to fetch it from, or a JSON errcode (with HTTP 200). The token is in the URL: no error
message quotes it. An image without a MediaId is fetched from its PicUrl, without the token.

XML is read with expat, refusing any DOCTYPE or entity declaration (no entity expansion, no external entities).
"""

import base64
import binascii
import hashlib
import hmac
import json
import urllib.parse
from collections.abc import Callable, Mapping
from typing import Any
from xml.parsers import expat

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

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
    base_url,
    configured,
    http_download,
    http_get,
    post_json,
    safe_equal,
)
from tickets.connectors.fields import (
    MAX_ID,
    MAX_TEXT,
    MAX_URL,
    answer_id,
    answer_text,
    coordinate,
    field_string,
    json_answer,
    location,
    unix_time,
)

ANSWER = ("success", "text/plain")
DEFAULT_BASE_URL = "https://api.weixin.qq.com"
_SYSTEM_BUSY = -1  # the one errcode WeChat documents as "try again later"
_RATE_LIMITED = 45009  # the account's daily quota of calls to this API is used up: it resets
_VOICE_TYPES = {"amr": "audio/amr", "speex": "audio/speex", "mp3": "audio/mpeg"}

Fields = dict[str, str]


def signature(*parts: str) -> str:
    """WeChat's signature: the hex SHA1 of the parts, sorted and joined."""
    return hashlib.sha1("".join(sorted(parts)).encode(), usedforsecurity=False).hexdigest()


def handshake(*, credentials: Credentials, delivery: Delivery) -> HandshakeAnswer:
    """Answer WeChat's server check: echostr, when signature is the query signed with the account's token."""
    query = delivery.query
    missing = [name for name in ("signature", "timestamp", "nonce", "echostr") if not query.get(name)]
    if missing:
        raise HandshakeFailed(f"a WeChat handshake needs the query parameters {', '.join(missing)}")
    if not credentials.secret:
        raise HandshakeFailed("the channel account has no WeChat token")
    if not _matches(query["signature"], credentials.secret, query["timestamp"], query["nonce"]):
        raise HandshakeFailed("signature does not match the timestamp and nonce signed with this account's token")
    return HandshakeAnswer(body=query["echostr"], content_type="text/plain")


def verify(*, credentials: Credentials, delivery: Delivery) -> None:
    """Raise SignatureInvalid unless the query is signed with the account's token (and, in safe mode, the
    encrypted message with it)."""
    query = delivery.query
    if not credentials.secret:
        raise SignatureInvalid("the channel account has no WeChat token to check signatures with")
    timestamp, nonce = query.get("timestamp", ""), query.get("nonce", "")
    if not timestamp or not nonce:
        raise SignatureInvalid("missing timestamp or nonce query parameter")
    if not (credentials.aes_key or query.get("encrypt_type") == "aes"):
        _check(query, "signature", credentials.secret, timestamp, nonce)
        return
    encrypted = read_xml(delivery.body).get("Encrypt")
    if encrypted is None:
        raise SignatureInvalid("the account is in safe mode: the delivery must carry an <Encrypt> element")
    _check(query, "msg_signature", credentials.secret, timestamp, nonce, encrypted)


def parse(*, credentials: Credentials, delivery: Delivery) -> list[Event]:
    """The one message or event in a delivery, decrypted first in safe mode."""
    fields = read_xml(delivery.body)
    if "Encrypt" in fields:
        fields = read_xml(decrypt(credentials, fields["Encrypt"]))
    elif credentials.aes_key:
        raise PayloadInvalid("the account is in safe mode: the delivery must carry an <Encrypt> element")
    return [_event(fields)]


def send_reply(*, credentials: Credentials, reply: OutboundReply, timeout: float) -> SendResult:
    """Send the reply as a customer-service text message; SendFailed when WeChat refuses it."""
    token = urllib.parse.quote(configured(credentials.access_token, "WeChat access token"), safe="")
    url = f"{base_url(credentials, DEFAULT_BASE_URL)}/cgi-bin/message/custom/send?access_token={token}"
    payload = {"touser": reply.recipient_id, "msgtype": "text", "text": {"content": reply.text}}
    # WeChat shows \u escapes literally in some clients: send the characters themselves, as UTF-8.
    body = json.dumps(payload, ensure_ascii=False).encode()
    headers = {"Content-Type": "application/json; charset=utf-8"}
    answer = json_answer(post_json(url, body, headers=headers, timeout=timeout))
    _raise_for_errcode(answer)
    return SendResult(external_id=answer_id(answer, "msgid"))


def check(*, credentials: Credentials, timeout: float) -> str:
    """Whether WeChat accepts the access token (it names no account: the answer is the API's server list)."""
    token = urllib.parse.quote(configured(credentials.access_token, "WeChat access token"), safe="")
    url = f"{base_url(credentials, DEFAULT_BASE_URL)}/cgi-bin/get_api_domain_ip?access_token={token}"
    _raise_for_errcode(json_answer(http_get(url, headers={}, timeout=timeout)))
    return credentials.account_id or "the official account"


def fetch_attachment(*, credentials: Credentials, attachment: Attachment, timeout: float, max_bytes: int) -> Download:
    """The file behind a MediaId, from the temporary media API (media ids last 3 days); else from the PicUrl."""
    downloads.require_file(attachment)
    if not attachment.media_id:
        return downloads.fetch_url(attachment, timeout=timeout, max_bytes=max_bytes)
    token = configured(credentials.access_token, "WeChat access token")
    with downloads.token_hidden(token):
        return _fetch_media(credentials, attachment, token=token, timeout=timeout, max_bytes=max_bytes)


def _fetch_media(
    credentials: Credentials, attachment: Attachment, *, token: str, timeout: float, max_bytes: int
) -> Download:
    """The temporary media API's answer: the file, a video's URL to fetch it from, or an errcode."""
    base = downloads.token_api_base(credentials, DEFAULT_BASE_URL)
    query = urllib.parse.urlencode({"access_token": token, "media_id": attachment.media_id})
    download = http_download(f"{base}/cgi-bin/media/get?{query}", timeout=timeout, max_bytes=max_bytes)
    if not _is_json(download):
        return downloads.described(download, attachment)
    answer = json_answer(download.content)
    _raise_for_errcode(answer, what="file", transient=(_SYSTEM_BUSY, _RATE_LIMITED))
    video_url = answer_text(answer, "video_url")
    if not video_url:
        raise SendFailed("WeChat answered the media request with JSON that names no file", retryable=False)
    try:
        video = http_download(video_url, timeout=timeout, max_bytes=max_bytes)
    except SendFailed as exc:
        if exc.status == 404:
            # WeChat hands out a video's URL a few seconds before its CDN serves it.
            raise SendFailed(exc.message, retryable=True, status=exc.status, answer=exc.answer) from exc
        raise
    return downloads.described(video, attachment)


def read_xml(body: bytes) -> Fields:
    """The text of each child of WeChat's <xml> root element, by tag (the first of a repeated tag).

    Deeper elements (an event's nested details) are skipped. A DOCTYPE or entity declaration is refused: WeChat
    never sends one, and expanding entities is how XML bombs work.
    """
    fields: Fields = {}
    depth = 0
    text: list[str] = []

    def start(tag: str, attributes: Any) -> None:
        nonlocal depth
        if depth == 0 and tag != "xml":
            raise PayloadInvalid(f"the root element must be <xml>, not <{tag[:50]}>")
        depth += 1
        if depth == 2:
            text.clear()

    def end(tag: str) -> None:
        nonlocal depth
        if depth == 2:
            fields.setdefault(tag, "".join(text))
        depth -= 1

    def characters(data: str) -> None:
        if depth == 2:
            text.append(data)

    def refuse(*args: Any) -> None:
        raise PayloadInvalid("the body declares a DOCTYPE or entities, which are refused")

    parser = expat.ParserCreate()
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    parser.StartDoctypeDeclHandler = refuse
    parser.EntityDeclHandler = refuse
    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = characters
    try:
        parser.Parse(body, True)
    except expat.ExpatError as exc:
        raise PayloadInvalid(f"the body is not valid XML: {exc}") from exc
    except (ValueError, LookupError, UnicodeError) as exc:
        raise PayloadInvalid(f"the body is XML this endpoint cannot read: {exc}") from exc
    return fields


def decrypt(credentials: Credentials, encrypted: str) -> bytes:
    """The XML inside a safe-mode <Encrypt> element; PayloadInvalid when it does not decrypt with the account's
    EncodingAESKey or was encrypted for another AppID."""
    if not credentials.aes_key:
        raise PayloadInvalid(
            "the delivery is encrypted (WeChat safe mode) but the channel account has no EncodingAESKey"
        )
    key = _aes_key(credentials.aes_key)
    try:
        data = base64.b64decode(encrypted.strip(), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise PayloadInvalid("<Encrypt> is not base64") from exc
    if not data or len(data) % 16:
        raise PayloadInvalid("<Encrypt> is not a whole number of AES blocks")
    decryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).decryptor()
    plain = decryptor.update(data) + decryptor.finalize()
    pad = plain[-1]
    if not 1 <= pad <= 32 or plain[-pad:] != bytes([pad]) * pad:
        raise PayloadInvalid("<Encrypt> does not decrypt with this account's EncodingAESKey")
    plain = plain[:-pad]
    length = int.from_bytes(plain[16:20], "big")
    if len(plain) < 20 or 20 + length > len(plain):
        raise PayloadInvalid("<Encrypt> decrypts to a message whose length field does not fit")
    xml, app_id = plain[20 : 20 + length], plain[20 + length :]
    if credentials.account_id and not hmac.compare_digest(app_id, credentials.account_id.encode()):
        shown = app_id.decode("utf-8", "replace")[:64]
        raise PayloadInvalid(f"the message was encrypted for AppID {shown!r}, not this account's")
    return xml


def _aes_key(encoding_aes_key: str) -> bytes:
    try:
        key = base64.b64decode(encoding_aes_key + "=", validate=True)
    except (binascii.Error, ValueError) as exc:
        raise PayloadInvalid("the account's EncodingAESKey is not 43 base64 characters") from exc
    if len(encoding_aes_key) != 43 or len(key) != 32:
        raise PayloadInvalid("the account's EncodingAESKey is not 43 base64 characters")
    return key


def _matches(given: str, *parts: str) -> bool:
    return safe_equal(given.lower(), signature(*parts))


def _check(query: Mapping[str, str], name: str, *parts: str) -> None:
    given = query.get(name, "")
    if not given:
        raise SignatureInvalid(f"missing {name} query parameter")
    if not _matches(given, *parts):
        raise SignatureInvalid(f"{name} does not match the delivery signed with this account's token")


def _event(fields: Fields) -> Event:
    msg_type = field_string(fields.get("MsgType"), "MsgType", max_length=MAX_ID)
    if msg_type == "event":
        name = field_string(fields.get("Event"), "Event", max_length=MAX_ID, required=False) or "unknown"
        return Ignored(kind=f"event:{name}", detail=_event_detail(fields))
    content = _CONTENT.get(msg_type)
    if content is None:
        return Ignored(kind=f"msgtype:{msg_type}", detail="a message type the helpdesk does not handle")
    text, attachment = content(fields)
    return InboundMessage(
        external_id=field_string(fields.get("MsgId"), "MsgId", max_length=MAX_ID),
        sender_id=field_string(fields.get("FromUserName"), "FromUserName", max_length=MAX_ID),
        sender_name="",
        text=text,
        sent_at=unix_time(fields.get("CreateTime"), "CreateTime", digits=True),
        attachments=(attachment,) if attachment else (),
    )


def _event_detail(fields: Fields) -> str:
    parts = [f"{tag}={fields[tag][:200]}" for tag in ("FromUserName", "EventKey", "MsgID", "Status") if fields.get(tag)]
    return ", ".join(parts).replace("\x00", "")


def _text(fields: Fields) -> tuple[str, Attachment | None]:
    return field_string(fields.get("Content"), "Content", max_length=MAX_TEXT), None


def _image(fields: Fields) -> tuple[str, Attachment | None]:
    url = field_string(fields.get("PicUrl"), "PicUrl", max_length=MAX_URL, required=False)
    return "", Attachment(kind="image", url=url, media_id=_media_id(fields))


def _voice(fields: Fields) -> tuple[str, Attachment | None]:
    voice_format = field_string(fields.get("Format"), "Format", max_length=MAX_ID, required=False)
    mime_type = _VOICE_TYPES.get(voice_format.lower(), "")
    # With speech recognition on, WeChat adds what was said: the closest thing to a text the agent can read.
    recognition = field_string(fields.get("Recognition"), "Recognition", max_length=MAX_TEXT, required=False)
    return recognition, Attachment(kind="audio", media_id=_media_id(fields), mime_type=mime_type)


def _video(fields: Fields) -> tuple[str, Attachment | None]:
    return "", Attachment(kind="video", media_id=_media_id(fields))


def _location(fields: Fields) -> tuple[str, Attachment | None]:
    latitude = _coordinate(fields, "Location_X", limit=90)
    longitude = _coordinate(fields, "Location_Y", limit=180)
    label = field_string(fields.get("Label"), "Label", max_length=1000, required=False)
    attachment, text = location(latitude, longitude, label)
    return text, attachment


def _link(fields: Fields) -> tuple[str, Attachment | None]:
    title = field_string(fields.get("Title"), "Title", max_length=1000, required=False)
    description = field_string(fields.get("Description"), "Description", max_length=MAX_TEXT, required=False)
    url = field_string(fields.get("Url"), "Url", max_length=MAX_URL)
    return "\n".join(part for part in (title, description, url) if part), None


_CONTENT: dict[str, Callable[[Fields], tuple[str, Attachment | None]]] = {
    "text": _text,
    "image": _image,
    "voice": _voice,
    "video": _video,
    "shortvideo": _video,
    "location": _location,
    "link": _link,
}


def _media_id(fields: Fields) -> str:
    return field_string(fields.get("MediaId"), "MediaId", max_length=MAX_ID)


def _coordinate(fields: Fields, tag: str, *, limit: int) -> str:
    """A latitude or longitude, checked, but kept as WeChat wrote it to show it so."""
    raw = field_string(fields.get(tag), tag, max_length=32)
    coordinate(raw, tag, limit=limit, text=True)
    return raw


def _is_json(download: Download) -> bool:
    """Whether WeChat answered a media request with JSON (an error, or a video's URL) rather than the file."""
    return download.mime_type in ("application/json", "text/json") or download.content.lstrip().startswith(
        (b'{"errcode"', b'{"video_url"')
    )


def _raise_for_errcode(
    answer: dict[str, Any], *, what: str = "message", transient: tuple[int, ...] = (_SYSTEM_BUSY,)
) -> None:
    """SendFailed when WeChat's 200 answer carries a non-zero errcode (a retry helps only for the `transient`
    codes: "system busy", unless told more)."""
    code = answer.get("errcode", 0)
    if code in (0, "0", None):
        return
    message = str(answer.get("errmsg") or "")[:500]
    raise SendFailed(
        f"WeChat refused the {what}: errcode {str(code)[:20]}" + (f": {message}" if message else ""),
        retryable=code in transient or code in [str(number) for number in transient],
    )
