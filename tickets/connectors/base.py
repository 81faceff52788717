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
    except urllib.error.HTTPError as exc:
        # 4xx other than 408/429 means the request itself is wrong: sending it again will not help.
        retryable = exc.code >= 500 or exc.code in (408, 429)
        detail = exc.read(2000).decode("utf-8", "replace").strip()
        raise SendFailed(
            f"the platform answered HTTP {exc.code}" + (f": {detail}" if detail else ""),
            retryable=retryable,
            status=exc.code,
            answer=detail,
        ) from exc
    except http.client.HTTPException as exc:
        # A broken answer (cut short, not HTTP) or a URL the client refuses: said without the URL, which may
        # hold a token (Telegram's is in the path).
        raise SendFailed(f"the platform's answer could not be read ({type(exc).__name__})", retryable=True) from exc
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise SendFailed(f"the platform could not be reached: {reason}", retryable=True) from exc
