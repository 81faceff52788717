"""What every connector's tests share: fixture files, the deliveries and replies they build, and the checks a
reply sent to the fake platform must pass.

Connectors are pure, so these tests need no database: a delivery is built here as the webhook view would
build it, and a reply goes to `tests.fake_platform.FakePlatform`, a real HTTP server on 127.0.0.1.
"""

import dataclasses
import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tests.fake_platform import Answer, FakePlatform
from tickets.connectors.base import Attachment, Credentials, Delivery, Download, OutboundReply, SendFailed

FIXTURES = Path(__file__).resolve().parent / "fixtures"
# Real deliveries from public SDKs' test suites, shared on every machine here (never copied into the repo).
REFERENCE = Path("/work/shared/platform-payloads")
WEBHOOK_URL = "https://helpdesk.example/webhooks/1/"
AT_0930 = datetime(2025, 11, 23, 9, 30, tzinfo=UTC)

# RFC 4231, test case 2: the HMAC-SHA256 of this data keyed with "Jefe".
RFC4231_KEY = "Jefe"
RFC4231_DATA = b"what do ya want for nothing?"
RFC4231_SHA256 = bytes.fromhex("5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")

NO_REFERENCE = "the shared reference payloads are not on this machine"


def fixture(platform: str, name: str) -> bytes:
    """The bytes of one of this suite's own fixture files, under fixtures/<platform>/."""
    return (FIXTURES / platform / name).read_bytes()


def reference(platform: str) -> Path:
    """The folder of `platform`'s shared reference deliveries (it may be missing on a machine)."""
    return REFERENCE / platform


def reference_files(platform: str, pattern: str = "*.json") -> list[Path]:
    """The shared reference deliveries of `platform` (none when the folder is missing)."""
    return sorted(reference(platform).glob(pattern))


def edited(platform: str, name: str, change: Callable[[Any], None]) -> bytes:
    """A fixture's JSON after `change(data)` changed it in place: a malformed variant of a good delivery."""
    data = json.loads(fixture(platform, name))
    change(data)
    return json.dumps(data).encode()


# The value `setting` takes to remove a field rather than set it.
MISSING: Any = object()


def setting(path: str, value: Any) -> Callable[[Any], None]:
    """A change (for `edited`) setting the field at dotted `path` (list indexes as numbers) to `value`, or
    removing it when `value` is MISSING."""

    def change(data: Any) -> None:
        *parents, last = path.split(".")
        target = data
        for key in parents:
            target = target[int(key)] if isinstance(target, list) else target[key]
        index: Any = int(last) if isinstance(target, list) else last
        if value is MISSING:
            del target[index]
        else:
            target[index] = value

    return change


def delivery(
    body: bytes = b"",
    headers: dict[str, str] | None = None,
    *,
    method: str = "POST",
    url: str = WEBHOOK_URL,
    query: dict[str, str] | None = None,
) -> Delivery:
    """A request as a platform makes it: a POST of `body` unless told otherwise, with no headers (unsigned)."""
    return Delivery(method=method, url=url, query=query or {}, headers=headers or {}, body=body)


def reply(
    recipient_id: str,
    text: str = "On its way!",
    *,
    message_id: int = 7,
    ticket_number: int = 12,
    sent_at: datetime = AT_0930,
) -> OutboundReply:
    """An agent's reply to `recipient_id`, to send."""
    return OutboundReply(
        message_id=message_id, ticket_number=ticket_number, recipient_id=recipient_id, text=text, sent_at=sent_at
    )


def at(seconds: float) -> datetime:
    """The UTC instant of a Unix time in seconds."""
    return datetime.fromtimestamp(seconds, UTC)


def at_ms(milliseconds: int) -> datetime:
    """The UTC instant of a Unix time in milliseconds."""
    return datetime.fromtimestamp(milliseconds / 1000, UTC)


def on(platform: FakePlatform, credentials: Credentials, *, slash: str = "", **changes: str) -> Credentials:
    """`credentials` with `changes`, pointed at the fake platform (with `slash` "/", a base URL that ends in one)."""
    return dataclasses.replace(credentials, base_url=platform.url + slash, **changes)


def send_failure(send: Callable[[], object], match: str | None = None) -> SendFailed:
    """The SendFailed `send` raises (its message matching `match`)."""
    with pytest.raises(SendFailed, match=match) as caught:
        send()
    return caught.value


def assert_refused(
    platform: FakePlatform,
    prefix: str,
    answer: Answer,
    send: Callable[[], object],
    *,
    retryable: bool,
    saying: str = "",
) -> SendFailed:
    """When the fake platform answers `answer` at paths starting with `prefix`, `send` fails, with `saying` in
    its message and retryable or not as told. The failure, for further checks."""
    platform.answer(prefix, answer)
    failure = send_failure(send)
    assert saying in failure.message
    assert failure.retryable is retryable
    return failure


def assert_final(send: Callable[[], object], match: str) -> None:
    """`send` fails, saying `match`, for a reason no retry can cure (an account without a token, say)."""
    assert send_failure(send, match).retryable is False


def assert_not_sent(platform: FakePlatform, send: Callable[[], object], match: str) -> None:
    """`send` fails for good, saying `match`, before anything reaches the fake platform."""
    assert_final(send, match)
    assert platform.requests == []


# --- Files a contact sent ------------------------------------------------------------------------------------

# The bytes of a small PNG-looking file, every byte value included: what comes back must be exactly this.
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4


def file_answer(
    content: bytes = PNG, content_type: str = "image/png", *, name: str = "", streamed: bool = False
) -> Answer:
    """A platform's answer carrying a file: its bytes and type, its `name` in Content-Disposition if given, and
    when `streamed` no Content-Length (sent chunked, so the size shows only while reading)."""
    headers = {"Content-Disposition": f'attachment; filename="{name}"'} if name else {}
    if streamed:
        headers["Transfer-Encoding"] = "chunked"
    return Answer(body=content, content_type=content_type, headers=headers)


def redirect(location: str, status: int = 302) -> Answer:
    """An answer sending the client on to `location` (as Twilio's media URLs do, to their storage host)."""
    return Answer(status=status, body=b"", content_type="text/plain", headers={"Location": location})


def fetch(connector: Any, credentials: Credentials, attachment: Attachment, *, max_bytes: int = 1_000_000) -> Download:
    """`connector.fetch_attachment` of `attachment`, as the attachment task calls it."""
    download: Download = connector.fetch_attachment(
        credentials=credentials, attachment=attachment, timeout=5, max_bytes=max_bytes
    )
    return download


def fetch_failure(
    connector: Any, credentials: Credentials, attachment: Attachment, *, max_bytes: int = 1_000_000
) -> SendFailed:
    """The SendFailed fetching `attachment` raises."""
    return send_failure(lambda: fetch(connector, credentials, attachment, max_bytes=max_bytes))
