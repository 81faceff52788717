"""What every connector shares: the normalized inbound message, reply results and the errors they raise."""

import hashlib
import hmac
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class InboundMessage:
    """A message from a contact, as every connector normalizes it."""

    external_id: str
    sender_id: str
    sender_name: str
    text: str
    sent_at: datetime


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


class SendFailed(Exception):
    """A reply that did not go out. `retryable` says whether trying again later may succeed."""

    def __init__(self, message: str, *, retryable: bool) -> None:
        super().__init__(message)
        self.message = message
        self.retryable = retryable


def hmac_sha256_hex(secret: str, body: bytes) -> str:
    """The hex HMAC-SHA256 of `body` keyed with `secret`."""
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def post_json(url: str, body: bytes, *, headers: dict[str, str], timeout: float) -> bytes:
    """POST the JSON `body`; the response body, or SendFailed saying whether a retry may help."""
    if not url.startswith(("http://", "https://")):
        raise SendFailed(f"the callback URL must be http:// or https://, not {url!r}", retryable=False)
    request = urllib.request.Request(  # noqa: S310 - scheme checked above
        url, data=body, method="POST", headers={"Content-Type": "application/json", **headers}
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - scheme checked above
            return bytes(response.read(1024 * 1024))
    except urllib.error.HTTPError as exc:
        # 4xx other than 408/429 means the request itself is wrong: sending it again will not help.
        retryable = exc.code >= 500 or exc.code in (408, 429)
        raise SendFailed(f"the callback answered HTTP {exc.code}", retryable=retryable) from exc
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise SendFailed(f"the callback could not be reached: {reason}", retryable=True) from exc
