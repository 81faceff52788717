"""What every connector shares: the request it reads, the events it parses it into, and its errors.

A connector is a module with four functions, all pure (no models, no database, no Django):

- `handshake(*, credentials, delivery) -> HandshakeAnswer`: answer the platform's verification request (a GET,
  or Twilio's and LINE's none: raise HandshakeFailed); HandshakeFailed when it does not check out.
- `verify(*, credentials, delivery) -> None`: raise SignatureInvalid unless the delivery is signed by the
  platform (compared in constant time).
- `parse(*, credentials, delivery) -> list[Event]`: the delivery's events, in order; PayloadInvalid naming
  what is wrong. An event of a kind the helpdesk does not handle is an `Ignored`, never an error (platforms
  disable webhooks that keep failing).
- `send_reply(*, credentials, reply, timeout) -> SendResult`: send an agent's reply through the platform's
  API at `credentials.base_url`; SendFailed saying whether a retry may help.
- `check(*, credentials, timeout) -> str`: ask the platform whether the credentials work (the admin does on
  save); what the platform calls the account (a page, a bot, a number), or SendFailed with its refusal.
- `fetch_attachment(*, credentials, attachment, timeout, max_bytes) -> Download`: the file a contact sent, from
  the platform (a media id looked up, or its URL with the platform's auth); FileTooLarge past `max_bytes`,
  NothingToFetch for what has no file (a location, a LINE sticker), SendFailed as for sending.

and may define `ANSWER: tuple[str, str]`, the body and content type a platform expects for an accepted
delivery (WeChat wants "success"); the default is JSON.

Below the interface are the helpers every connector uses to check signatures (HMACs, constant-time
comparison, the signature header) and to call its platform (the base URL, the settings sending needs, HTTP
POST). The readers of a delivery's fields and of a platform's answers are in tickets.connectors.fields.
"""

import base64
import hmac
import http.client
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class Credentials:
    """What a connector knows of a channel account: its secrets and where the platform's API is."""

    secret: str  # verifies deliveries: app secret, channel secret, auth token, consumer secret, bot secret token
    verify_token: str = ""  # Meta's handshake token (WeChat's token is the secret: it signs both ways)
    access_token: str = ""  # sends replies: page or bot or channel access token
    account_id: str = ""  # the platform's id of our account: page, phone number, bot user, Twilio account SID
    aes_key: str = ""  # WeChat's EncodingAESKey (safe mode)
    base_url: str = ""  # the platform API's base URL (a fake platform's in tests); "" for the platform's own
    callback_url: str = ""  # the generic API channel's reply URL
    sender_address: str = ""  # our own address where the platform needs one to send: Twilio's From number
    webhook_url: str = ""  # this account's webhook URL, where a platform is told to report statuses (Twilio)


@dataclass(frozen=True)
class Delivery:
    """One HTTP request from a platform, exactly as received."""

    method: str
    url: str  # the full URL the platform called (Twilio signs it)
    query: Mapping[str, str]
    headers: Mapping[str, str]
    body: bytes

    def header(self, name: str) -> str:
        """The value of header `name` (any case), or ""."""
        lowered = name.lower()
        return next((value for key, value in self.headers.items() if key.lower() == lowered), "")


@dataclass(frozen=True)
class HandshakeAnswer:
    """What to answer a platform's verification request: 200 with this body."""

    body: str
    content_type: str = "text/plain"


@dataclass(frozen=True)
class Attachment:
    """A file a contact sent: where to fetch it (a URL, or a platform media id to look up) and what it is."""

    kind: str  # image, video, audio, file, location, sticker
    url: str = ""
    media_id: str = ""
    mime_type: str = ""
    name: str = ""


@dataclass(frozen=True)
class InboundMessage:
    """A message from a contact, as every connector normalizes it."""

    external_id: str
    sender_id: str
    sender_name: str
    text: str
    sent_at: datetime
    attachments: tuple[Attachment, ...] = field(default=())


@dataclass(frozen=True)
class MessageEdit:
    """A contact changed the text of a message they had sent."""

    external_id: str
    sender_id: str
    text: str
    edited_at: datetime


@dataclass(frozen=True)
class StatusUpdate:
    """What became of a message we sent: sent, delivered, read or failed.

    Platforms that report a watermark (Messenger: "every message up to this instant") give `watermark` and
    the contact as `recipient_id`, with no message id.
    """

    status: str  # sent, delivered, read, failed
    at: datetime
    external_id: str = ""
    recipient_id: str = ""
    watermark: datetime | None = None
    error: str = ""


@dataclass(frozen=True)
class Echo:
    """A message our own account sent, as the platform repeats it (from the helpdesk or the platform's app)."""

    external_id: str
    recipient_id: str
    text: str
    sent_at: datetime


@dataclass(frozen=True)
class Ignored:
    """An event the helpdesk does not act on (a reaction, a follow, a postback): stored, answered 200."""

    kind: str
    detail: str = ""


Event = InboundMessage | MessageEdit | StatusUpdate | Echo | Ignored


@dataclass(frozen=True)
class OutboundReply:
    """What the helpdesk sends back: our message id, the platform user, the text."""

    message_id: int
    ticket_number: int
    recipient_id: str
    text: str
    sent_at: datetime


@dataclass(frozen=True)
class SendResult:
    """A reply the platform accepted, with the id it gave the message (if any)."""

    external_id: str | None


class ConnectorError(Exception):
    """A delivery the connector refuses. `http_status` is what the platform should be answered."""

    http_status = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class SignatureInvalid(ConnectorError):
    http_status = 401


class PayloadInvalid(ConnectorError):
    http_status = 400


class ConnectorNotFound(ConnectorError):
    http_status = 501


class HandshakeFailed(ConnectorError):
    """A verification request that does not check out (wrong token or signature), or none expected here."""

    http_status = 403


@dataclass(frozen=True)
class Download:
    """A file fetched from a platform: its bytes, its type as the platform said it, and its name if given."""

    content: bytes
    mime_type: str = ""
    name: str = ""


class NothingToFetch(Exception):
    """An attachment with no file behind it (a location, a sticker the platform serves no content for)."""


class SendFailed(Exception):
    """A reply that did not go out. `retryable` says whether trying again later may succeed.

    When the platform answered with an HTTP error, `status` is its code and `answer` what it said (decoded,
    at most 2,000 bytes of it), so a connector can read the platform's own explanation out of it.
    """

    def __init__(self, message: str, *, retryable: bool, status: int | None = None, answer: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.retryable = retryable
        self.status = status
        self.answer = answer


class FileTooLarge(SendFailed):
    """A file larger than the helpdesk keeps: never retried."""

    def __init__(self, size: int | None, max_bytes: int) -> None:
        said = f"{size:,} bytes" if size is not None else f"more than {max_bytes:,} bytes"
        super().__init__(f"the file is {said}; the limit is {max_bytes:,} bytes", retryable=False)
        self.size = size
        self.max_bytes = max_bytes


def hmac_hex(secret: str, data: bytes, *, algorithm: str = "sha256") -> str:
    """The hex HMAC of `data` keyed with `secret`: SHA-256 unless another `algorithm` is named ("sha1")."""
    return hmac.new(secret.encode(), data, algorithm).hexdigest()


def hmac_base64(secret: str, data: bytes, *, algorithm: str = "sha256") -> str:
    """The base64 HMAC of `data` keyed with `secret`: SHA-256 unless another `algorithm` is named ("sha1")."""
    return base64.b64encode(hmac.new(secret.encode(), data, algorithm).digest()).decode()


def safe_equal(given: str, expected: str) -> bool:
    """Whether a signature or token a request carries is the expected one.

    Compared in constant time, so how long the comparison takes does not tell an attacker how much of a guess
    was right. A request may carry any text: characters UTF-8 cannot encode are replaced, never an error.
    """
    return hmac.compare_digest(given.encode("utf-8", "replace"), expected.encode("utf-8", "replace"))


def signature_header(delivery: Delivery, name: str, *, prefix: str = "", digest: str = "hex digest") -> str:
    """The signature a delivery carries in header `name`: SignatureInvalid when it is missing, or when it does
    not start with `prefix` (the message then shows the form expected, `<prefix><digest>`)."""
    given = delivery.header(name)
    if not given:
        raise SignatureInvalid(f"missing {name} header")
    if not given.startswith(prefix):
        raise SignatureInvalid(f"{name} must look like {prefix}<{digest}>")
    return given


def configured(value: str, what: str) -> str:
    """`value`, a setting of the channel account that sending needs; when the account has none, a SendFailed
    naming `what` that no retry can cure."""
    if not value:
        raise SendFailed(f"the channel account has no {what}", retryable=False)
    return value


def base_url(credentials: Credentials, default: str) -> str:
    """The account's API base URL without a trailing slash: the platform's own (`default`) unless another is set."""
    return (credentials.base_url or default).rstrip("/")


def post_json(url: str, body: bytes, *, headers: dict[str, str], timeout: float) -> bytes:
    """POST the JSON `body`; the response body, or SendFailed saying whether a retry may help."""
    return http_post(url, body, headers={"Content-Type": "application/json", **headers}, timeout=timeout)


def http_post(url: str, body: bytes, *, headers: dict[str, str], timeout: float) -> bytes:
    """POST `body` with `headers` (its Content-Type among them); the response body (at most 1 MiB), or
    SendFailed saying whether a retry may help: 5xx, 408, 429 and network errors may; other 4xx never."""
    return http_request("POST", url, body=body, headers=headers, timeout=timeout)


def http_get(url: str, *, headers: dict[str, str], timeout: float) -> bytes:
    """GET `url`; the response body, or SendFailed as http_post."""
    return http_request("GET", url, body=None, headers=headers, timeout=timeout)


def http_request(method: str, url: str, *, body: bytes | None, headers: dict[str, str], timeout: float) -> bytes:
    """One HTTP request to a platform; see http_post."""
    if not url.startswith(("http://", "https://")):
        raise SendFailed(f"the URL must be http:// or https://, not {url!r}", retryable=False)
    request = urllib.request.Request(url, data=body, method=method, headers=headers)  # noqa: S310 - scheme checked
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - scheme checked above
            return bytes(response.read(1024 * 1024))
    except (urllib.error.URLError, http.client.HTTPException, TimeoutError, OSError) as exc:
        raise _send_failed(exc) from exc


def _send_failed(exc: Exception) -> SendFailed:
    """What a failed HTTP request to a platform means for the reply or file: SendFailed, retryable or not."""
    if isinstance(exc, urllib.error.HTTPError):
        # 4xx other than 408/429 means the request itself is wrong: sending it again will not help.
        retryable = exc.code >= 500 or exc.code in (408, 429)
        detail = exc.read(2000).decode("utf-8", "replace").strip()
        return SendFailed(
            f"the platform answered HTTP {exc.code}" + (f": {detail}" if detail else ""),
            retryable=retryable,
            status=exc.code,
            answer=detail,
        )
    if isinstance(exc, http.client.HTTPException):
        # A broken answer (cut short, not HTTP) or a URL the client refuses: said without the URL, which may
        # hold a token (Telegram's is in the path).
        return SendFailed(f"the platform's answer could not be read ({type(exc).__name__})", retryable=True)
    reason = getattr(exc, "reason", exc)
    return SendFailed(f"the platform could not be reached: {reason}", retryable=True)


def http_download(
    url: str, *, timeout: float, max_bytes: int, auth: dict[str, str] | None = None, expected_size: int | None = None
) -> Download:
    """GET a file at `url`, reading at most `max_bytes` of it; FileTooLarge past that, SendFailed as http_post.

    `auth` headers are sent to `url` only, never after a redirect: a platform's media URL may redirect to a
    storage host (Twilio's to S3), which must not see the account's credentials. `expected_size` is the size a
    platform announced before the download, refused at once when over the limit.
    """
    if expected_size is not None and expected_size > max_bytes:
        raise FileTooLarge(expected_size, max_bytes)
    if not url.startswith(("http://", "https://")):
        raise SendFailed(f"the URL must be http:// or https://, not {url!r}", retryable=False)
    try:
        request = urllib.request.Request(url, method="GET")  # noqa: S310 - scheme checked above
        for name, value in (auth or {}).items():
            request.add_unredirected_header(name, value)
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - scheme checked above
            if response.status != 200:
                # LINE answers 202 while a video is still being prepared: later, it will be there.
                raise SendFailed(f"the platform has no content yet (HTTP {response.status})", retryable=True)
            length = response.headers.get("Content-Length")
            # isascii: str.isdigit() also accepts digits int() refuses ("²").
            if length and length.isascii() and length.isdigit() and int(length) > max_bytes:
                raise FileTooLarge(int(length), max_bytes)
            content = bytes(response.read(max_bytes + 1))
            if len(content) > max_bytes:
                raise FileTooLarge(None, max_bytes)
            mime_type = response.headers.get_content_type() if response.headers.get("Content-Type") else ""
            return Download(content=content, mime_type=mime_type, name=response.headers.get_filename() or "")
    except (ValueError, http.client.InvalidURL) as exc:
        # A URL (or a redirect's Location) the client cannot send: not ASCII, a malformed host or port. Trying
        # again sends the same URL. Said without the URL, which may hold a token.
        raise SendFailed(f"the file's URL cannot be requested ({type(exc).__name__})", retryable=False) from exc
    except (urllib.error.URLError, http.client.HTTPException, TimeoutError, OSError) as exc:
        raise _send_failed(exc) from exc
