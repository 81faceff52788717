"""What the Messenger, Instagram and WhatsApp connector tests share: credentials, signed deliveries, the cases
every Meta platform must pass (signatures, handshakes, malformed bodies) and a reply to send."""

import hashlib
import hmac
import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from tests.tickets.connectors import helpers
from tickets.connectors.base import Credentials, Delivery, OutboundReply

SECRET = "app-secret-1234"
VERIFY_TOKEN = "verify-token-5678"
ACCESS_TOKEN = "EAAGm0PX4ZCpsBAKZBtoken"

# Published test vectors: pywa's signed WhatsApp delivery (SHA-256) and BotMan's Messenger one (legacy SHA-1).
PYWA_SECRET = "1222e786b144d0e85b9f365372d93676"
PYWA_FILE = "whatsapp/a_text_message_signed_pywa.json"
PYWA_SIGNATURE = "sha256=54edfa1d7259e0eb13c677cc7d73d1b5c86cfa12433d19156e058ab9251bc441"
BOTMAN_SECRET = "Bar"
BOTMAN_FILE = "messenger/a_text_message_botman.json"
BOTMAN_SIGNATURE = "sha1=74432bfe572675092cc81b5ac903ff3f971b04e5"


def credentials(**overrides: str) -> Credentials:
    """A channel account's credentials with a secret, a verify token and an access token."""
    values = {"secret": SECRET, "verify_token": VERIFY_TOKEN, "access_token": ACCESS_TOKEN, **overrides}
    return Credentials(**values)


def signed(body: bytes, secret: str = SECRET) -> Delivery:
    """A POST delivery of `body` signed as Meta signs it."""
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return helpers.delivery(body, {"X-Hub-Signature-256": f"sha256={digest}", "Content-Type": "application/json"})


def in_messaging(path: str, value: Any) -> Callable[[Any], None]:
    """A change (for helpers.edited) of the field at `path` in a Messenger Platform delivery's first messaging item."""
    return helpers.setting(f"entry.0.messaging.0.{path}", value)


def in_change(path: str, value: Any) -> Callable[[Any], None]:
    """A change (for helpers.edited) of the field at `path` in a WhatsApp delivery's first change's value."""
    return helpers.setting(f"entry.0.changes.0.value.{path}", value)


def handshake_request(query: dict[str, str], method: str = "GET") -> Delivery:
    """Meta's verification request with `query`."""
    return helpers.delivery(method=method, query=query)


GOOD_HANDSHAKE = {"hub.mode": "subscribe", "hub.verify_token": VERIFY_TOKEN, "hub.challenge": "1158201444"}

# (query, method, message): handshakes every Meta platform refuses.
BAD_HANDSHAKES: list[tuple[dict[str, str], str, str]] = [
    ({**GOOD_HANDSHAKE, "hub.verify_token": "guess"}, "GET", "not this account's verify token"),
    ({**GOOD_HANDSHAKE, "hub.verify_token": ""}, "GET", "not this account's verify token"),
    ({**GOOD_HANDSHAKE, "hub.verify_token": "vérify"}, "GET", "not this account's verify token"),
    ({**GOOD_HANDSHAKE, "hub.mode": "unsubscribe"}, "GET", "hub.mode must be 'subscribe'"),
    ({k: v for k, v in GOOD_HANDSHAKE.items() if k != "hub.mode"}, "GET", "hub.mode must be 'subscribe'"),
    ({k: v for k, v in GOOD_HANDSHAKE.items() if k != "hub.challenge"}, "GET", "hub.challenge must be"),
    ({**GOOD_HANDSHAKE, "hub.challenge": "x" * 256}, "GET", "hub.challenge must be"),
    ({**GOOD_HANDSHAKE, "hub.challenge": "12\n<script>"}, "GET", "hub.challenge must be"),
    (GOOD_HANDSHAKE, "POST", "is a GET"),
    ({}, "GET", "hub.mode must be 'subscribe'"),
]


def bad_signatures(body: bytes) -> list[tuple[dict[str, str], str]]:
    """(headers, message): signatures of `body` every Meta platform refuses."""
    right = hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    other = hmac.new(b"another-secret", body, hashlib.sha256).hexdigest()
    sha1 = hmac.new(b"another-secret", body, hashlib.sha1).hexdigest()
    return [
        ({}, "missing X-Hub-Signature-256 header"),
        ({"X-Hub-Signature-256": right}, "must look like sha256="),
        ({"X-Hub-Signature-256": f"sha1={right}"}, "must look like sha256="),
        ({"X-Hub-Signature-256": f"sha256={other}"}, "does not match"),
        ({"X-Hub-Signature-256": f"sha256={right[:-2]}"}, "does not match"),
        ({"X-Hub-Signature-256": "sha256=ünïcode"}, "does not match"),
        ({"X-Hub-Signature": f"sha1={sha1}"}, "X-Hub-Signature does not match"),
        # The weaker SHA-1 header is never consulted when the SHA-256 one is there.
        ({"X-Hub-Signature-256": f"sha256={other}", "X-Hub-Signature": f"sha1={sha1}"}, "does not match"),
    ]


# (body, message): bodies that are not a Meta delivery at all.
NOT_DELIVERIES: list[tuple[bytes, str]] = [
    (b"{not json", "not valid JSON"),
    (b"\xff\xfe", "not valid JSON"),
    (b"", "not valid JSON"),
    (b"[1, 2]", "must be a JSON object"),
    (b"[" * 100_000 + b"]" * 100_000, "JSON this endpoint cannot read"),
    (b'{"object": ' + b"1" * 5000 + b"}", "JSON this endpoint cannot read"),
    (b"{}", "missing field 'object'"),
    (b'{"object": 7, "entry": []}', "missing field 'object'"),
]


def reply(recipient_id: str = "7103496612345678") -> OutboundReply:
    """An agent's reply to send."""
    return helpers.reply(
        recipient_id, "We are on it", message_id=41, ticket_number=1042, sent_at=datetime(2026, 11, 23, tzinfo=UTC)
    )


def graph_error(code: int, message: str, *, transient: bool = False) -> bytes:
    """A Graph API error answer body."""
    error = {"message": message, "type": "OAuthException", "code": code, "is_transient": transient}
    return json.dumps({"error": {**error, "fbtrace_id": "AbCdEf"}}).encode()
