"""The LINE connector: the published signature vectors, every kind of event, and the push API against a real server."""

import json
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest

from tests.fake_platform import Answer, FakePlatform
from tests.tickets.connectors import helpers as h
from tickets.connectors import line
from tickets.connectors.base import (
    Attachment,
    Credentials,
    HandshakeFailed,
    Ignored,
    InboundMessage,
    MessageEdit,
    PayloadInvalid,
    SendFailed,
    SignatureInvalid,
)

REFERENCE = h.reference("line")
SECRET = "8c2a9e1f0b7d4c3a5e6f7a8b9c0d1e2f"
TOKEN = "channel-access-token-for-tests"
CREDENTIALS = Credentials(secret=SECRET, access_token=TOKEN)
USER = "U1a2b3c4d5e6f708192a3b4c5d6e7f809"


def _parse(body: bytes) -> list[Any]:
    return line.parse(credentials=CREDENTIALS, delivery=h.delivery(body))


def _fixture(name: str) -> list[Any]:
    return _parse(h.fixture("line", name))


def _events(*events: dict[str, Any]) -> bytes:
    return json.dumps({"destination": "Uabc", "events": list(events)}).encode()


def _message_event(message: dict[str, Any], **event: Any) -> dict[str, Any]:
    base = {"type": "message", "timestamp": 1763890200000, "source": {"type": "user", "userId": USER}, "mode": "active"}
    return {**base, "message": {"id": "900", **message}, **event}


# --- handshake and verification -------------------------------------------------------------------------------


def test_there_is_no_handshake() -> None:
    with pytest.raises(HandshakeFailed, match="no handshake"):
        line.handshake(credentials=CREDENTIALS, delivery=h.delivery(method="GET"))


@pytest.mark.parametrize(
    ("secret", "body", "signature"),
    [
        ("channel_secret", b"bodybodybodybody", "/gg9a+LvFevTH1sd7XCQycD7tsWclCsInj7MhBHxN7k="),
        ("SECRET", b"{}", "3q8QXTAGaey18yL8FWTqdVlbMr6hcuNvM4tefa0o9nA="),
    ],
)
def test_the_published_signature_vectors(secret: str, body: bytes, signature: str) -> None:
    assert line.sign(secret, body) == signature
    line.verify(credentials=Credentials(secret=secret), delivery=h.delivery(body, {"X-Line-Signature": signature}))


@pytest.mark.parametrize(
    ("headers", "message"),
    [
        ({}, "missing"),
        ({"x-line-signature": "3q8QXTAGaey18yL8FWTqdVlbMr6hcuNvM4tefa0o9nB="}, "does not match"),
        ({"x-line-signature": "not base64 at all é"}, "does not match"),
    ],
)
def test_a_wrong_or_missing_signature_is_refused(headers: dict[str, str], message: str) -> None:
    with pytest.raises(SignatureInvalid, match=message):
        line.verify(credentials=Credentials(secret="SECRET"), delivery=h.delivery(b"{}", headers))


def test_a_signature_of_other_bytes_is_refused() -> None:
    other_bytes = h.delivery(b"{} ", {"x-line-signature": "3q8QXTAGaey18yL8FWTqdVlbMr6hcuNvM4tefa0o9nA="})
    with pytest.raises(SignatureInvalid):
        line.verify(credentials=Credentials(secret="SECRET"), delivery=other_bytes)


def test_an_account_without_a_secret_refuses_every_delivery() -> None:
    signed_without_a_key = h.delivery(b"{}", {"x-line-signature": line.sign("", b"{}")})
    with pytest.raises(SignatureInvalid, match="no channel secret"):
        line.verify(credentials=Credentials(secret=""), delivery=signed_without_a_key)


# --- parsing ----------------------------------------------------------------------------------------------------


def test_a_text_message() -> None:
    assert _fixture("text_message.json") == [
        InboundMessage(
            external_id="500000000000000001",
            sender_id=USER,
            sender_name="",
            text="My order has not arrived",
            sent_at=h.AT_0930,
        )
    ]


def test_the_verify_button_delivery_has_no_events() -> None:
    assert _fixture("verify_button.json") == []


def test_a_batch_yields_its_events_in_order() -> None:
    follow, text, image, sticker, place, postback = _fixture("batch.json")
    assert follow == Ignored(kind="follow", detail="a LINE follow event")
    assert (text.external_id, text.text) == ("500000000000000002", "Hello")
    assert image.attachments == (Attachment(kind="image", media_id="500000000000000003"),)
    assert image.text == ""
    assert sticker.attachments == (Attachment(kind="sticker", media_id="52002734", name="package 11537"),)
    assert place.text == "Location: Acme store, 1-3 Kioicho, Chiyoda-ku, Tokyo (35.67966, 139.73669)"
    assert place.attachments == (
        Attachment(kind="location", url="geo:35.67966,139.73669", name="Acme store, 1-3 Kioicho, Chiyoda-ku, Tokyo"),
    )
    assert postback == Ignored(kind="postback", detail="a LINE postback event")
    assert [event.sent_at.minute for event in (text, image, sticker, place)] == [30, 31, 32, 33]


def test_a_file_keeps_its_name() -> None:
    [message] = _fixture("file_message.json")
    assert message.attachments == (Attachment(kind="file", media_id="500000000000000006", name="invoice-2291.pdf"),)


@pytest.mark.parametrize("kind", ["image", "video", "audio"])
def test_externally_hosted_media_keep_their_url(kind: str) -> None:
    provider = {"type": "external", "originalContentUrl": "https://cdn.example/a", "previewImageUrl": "https://x/p"}
    [message] = _parse(_events(_message_event({"type": kind, "contentProvider": provider})))
    assert message.attachments == (Attachment(kind=kind, url="https://cdn.example/a", media_id="900"),)


def test_a_message_sticker_keeps_its_text() -> None:
    sticker = {"type": "sticker", "packageId": "789", "stickerId": "10855", "text": "Thanks!"}
    [message] = _parse(_events(_message_event(sticker)))
    assert message.text == "Thanks!"


def test_an_edit_names_the_edited_message() -> None:
    assert _fixture("message_edited.json") == [
        MessageEdit(
            external_id="500000000000000001",
            sender_id=USER,
            text="My order #2291 has not arrived",
            edited_at=datetime(2025, 11, 23, 9, 36, tzinfo=UTC),
        )
    ]


def test_a_redelivery_parses_as_the_first_delivery() -> None:
    assert _fixture("redelivered_message.json") == _fixture("text_message.json")


def test_a_group_member_who_is_not_named_is_ignored() -> None:
    [event] = _fixture("group_message_without_user.json")
    assert event == Ignored(kind="message", detail="a message whose sender LINE does not name (no source.userId)")


def test_a_named_group_member_is_the_sender() -> None:
    event = _message_event({"type": "text", "text": "hi"}, source={"type": "group", "groupId": "C1", "userId": USER})
    [message] = _parse(_events(event))
    assert message.sender_id == USER


def test_unknown_events_and_message_types_are_ignored() -> None:
    assert _fixture("unknown_types.json") == [
        Ignored(kind="unsend", detail="a LINE unsend event"),
        Ignored(kind="membershipChanged", detail="a LINE membershipChanged event"),
        Ignored(kind="message", detail="a message of a type the helpdesk does not read: hologram"),
    ]


def test_an_edit_of_something_other_than_text_is_ignored() -> None:
    edit = _message_event({"type": "image"}, type="messageEdited")
    assert _parse(_events(edit)) == [Ignored(kind="messageEdited", detail="an edit of a message of type image")]


def test_an_empty_text_is_ignored() -> None:
    assert _parse(_events(_message_event({"type": "text", "text": " \x00 "}))) == [
        Ignored(kind="message", detail="an empty message")
    ]


@pytest.mark.skipif(not REFERENCE.is_dir(), reason=h.NO_REFERENCE)
@pytest.mark.parametrize("name", [path.name for path in h.reference_files("line")])
def test_every_reference_delivery_parses(name: str) -> None:
    events = _parse((REFERENCE / name).read_bytes())
    assert events or name == "g_unsend_event.json"
    if name.startswith(("a_", "e_")) or name == "g_redelivered_event.json":
        assert [type(event) for event in events] == [InboundMessage]
    if name.startswith("f_"):
        assert events == [
            MessageEdit(
                external_id="325708",
                sender_id="u206d25c2ea6bd87c17655609a1c37cb8",
                text="Hello, edited world",
                edited_at=datetime(2016, 5, 7, 13, 57, 59, 859000, tzinfo=UTC),
            )
        ]


@pytest.mark.skipif(not REFERENCE.is_dir(), reason=h.NO_REFERENCE)
def test_the_reference_batch_of_every_event_type() -> None:
    events = _parse((REFERENCE / "b_batch_28_events_all_types.json").read_bytes())
    kinds = [type(event).__name__ if not isinstance(event, Ignored) else event.kind for event in events]
    assert len(events) == 28
    assert kinds[:8] == ["InboundMessage", "message", *["InboundMessage"] * 4, "follow", "unfollow"]
    assert kinds[-2:] == ["MessageEdit", "undefined"]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"", "not valid JSON"),
        (b"<xml/>", "not valid JSON"),
        (b'"events"', "must be a JSON object"),
        (b"{}", "missing field 'events'"),
        (b'{"events": {}}', "'events' must be an array"),
        (b'{"events": [1]}', r"'events\[0\]' must be an object"),
        (b'{"events": [{}]}', r"missing field 'events\[0\].type'"),
        (b'{"events": [{"type": 5}]}', r"'events\[0\].type' must be a string"),
        (_events({"type": "message"}), r"missing field 'events\[0\].message'"),
        (_events(_message_event({"type": "text", "text": "a"}, source=None)), r"'events\[0\].source'"),
        (_events(_message_event({"type": "text", "text": "a"}, source={"userId": 4})), "source.userId' must be"),
        (
            _events(_message_event({"type": "text", "text": "a"}, timestamp="1")),
            "timestamp' must be a Unix time in milliseconds",
        ),
        (_events(_message_event({"type": "text", "text": "a"}, timestamp=1763890200)), "between 2000 and 2100"),
        (_events(_message_event({"type": "text", "text": "a", "id": None})), "missing field 'events.0..message.id'"),
        (_events(_message_event({"type": "text", "id": "1"})), r"missing field 'events\[0\].message.text'"),
        (_events(_message_event({"type": "text", "text": ["a"]})), "message.text' must be a string"),
        (_events(_message_event({"type": "text", "text": "\udfff"})), "not valid Unicode"),
        (_events(_message_event({"type": "image", "contentProvider": "line"})), "contentProvider' must be an object"),
        (_events(_message_event({"type": "file", "fileName": 3})), "fileName' must be a string"),
        (_events(_message_event({"type": "location", "latitude": "north", "longitude": 1})), "latitude' must be"),
        (_events(_message_event({"type": "location", "latitude": 1, "longitude": 181})), "longitude' must be"),
        (_events(_message_event({"type": "sticker", "packageId": "1"})), "missing field .*stickerId'"),
        (_events(_message_event({"type": "text", "text": 1}, type="messageEdited")), "message.text' must be"),
        (_events({"type": "message", "timestamp": 1, "message": {"type": "text", "id": "1", "text": "x"}}), "source'"),
    ],
)
def test_malformed_deliveries_are_refused_saying_what_is_wrong(body: bytes, message: str) -> None:
    with pytest.raises(PayloadInvalid, match=message):
        _parse(body)


# --- sending ----------------------------------------------------------------------------------------------------


PUSH = "/v2/bot/message/push"


def _send(platform: FakePlatform, **changes: str) -> Any:
    return line.send_reply(
        credentials=h.on(platform, CREDENTIALS, slash="/", **changes), reply=h.reply(USER), timeout=5
    )


def test_a_reply_is_pushed_to_the_user(platform_api: FakePlatform) -> None:
    platform_api.answer(PUSH, {"sentMessages": [{"id": "461230966842064897", "quoteToken": "IStG5h"}]})
    assert _send(platform_api).external_id == "461230966842064897"
    [request] = platform_api.requests
    assert (request.method, request.path) == ("POST", "/v2/bot/message/push")
    assert request.headers["Authorization"] == f"Bearer {TOKEN}"
    assert request.headers["Content-Type"] == "application/json"
    assert request.json() == {"to": USER, "messages": [{"type": "text", "text": "On its way!"}]}
    assert uuid.UUID(request.headers["X-Line-Retry-Key"]).version == 5


def test_every_attempt_at_a_reply_carries_the_same_retry_key(platform_api: FakePlatform) -> None:
    platform_api.answer(PUSH, Answer(status=500), {"sentMessages": [{"id": "1"}]})
    with pytest.raises(SendFailed):
        _send(platform_api)
    _send(platform_api)
    first, second = (request.headers["X-Line-Retry-Key"] for request in platform_api.requests)
    assert first == second == line.retry_key(h.reply(USER))
    other = h.reply(USER, message_id=8)
    assert line.retry_key(other) != first


def test_a_retry_key_accepted_before_means_the_reply_went_out(platform_api: FakePlatform) -> None:
    body = {"message": "The retry key is already accepted", "sentMessages": [{"id": "461230966842064897"}]}
    platform_api.answer(PUSH, Answer(status=409, body=json.dumps(body).encode()))
    assert _send(platform_api).external_id == "461230966842064897"


def test_a_success_without_an_id_still_counts_as_sent(platform_api: FakePlatform) -> None:
    platform_api.answer(PUSH, {})
    assert _send(platform_api).external_id is None


def test_a_refusal_carries_lines_explanation(platform_api: FakePlatform) -> None:
    body = {
        "message": "The request body has 1 error(s)",
        "details": [{"message": "Length must be between 0 and 5000", "property": "messages[0].text"}],
    }
    answer = Answer(status=400, body=json.dumps(body).encode())
    failure = h.assert_refused(platform_api, PUSH, answer, lambda: _send(platform_api), retryable=False)
    assert failure.message == (
        "the platform answered HTTP 400: The request body has 1 error(s); "
        "messages[0].text: Length must be between 0 and 5000"
    )


@pytest.mark.parametrize(("status", "retryable"), [(400, False), (401, False), (429, True), (500, True)])
def test_http_errors_say_whether_a_retry_may_help(platform_api: FakePlatform, status: int, retryable: bool) -> None:
    answer = Answer(status=status, body=b'{"message": "nope"}')
    h.assert_refused(platform_api, PUSH, answer, lambda: _send(platform_api), retryable=retryable, saying="nope")


def test_an_account_without_an_access_token_cannot_send(platform_api: FakePlatform) -> None:
    h.assert_not_sent(platform_api, lambda: _send(platform_api, access_token=""), "no channel access token")
