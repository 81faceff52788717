"""The X (Account Activity API) connector on its own: CRC, signatures, parsing and sending, with no database."""

import base64
import hashlib
import hmac
import json
from datetime import UTC, datetime
from typing import Any

import pytest

from tests.fake_platform import Answer, FakePlatform
from tests.tickets.connectors import helpers as h
from tickets.connectors import x
from tickets.connectors.base import (
    Attachment,
    Credentials,
    Echo,
    Event,
    HandshakeFailed,
    Ignored,
    InboundMessage,
    PayloadInvalid,
    SignatureInvalid,
    StatusUpdate,
)

REFERENCE = h.reference("x")
OUR_ID = "4337869213"
SIG = "x-twitter-webhooks-signature"
CREDENTIALS = Credentials(secret="consumer-secret", access_token="user-context-token", account_id=OUR_ID)
RFC_DIGEST = base64.b64encode(h.RFC4231_SHA256).decode()


def parse(body: bytes, credentials: Credentials = CREDENTIALS) -> list[Event]:
    return x.parse(credentials=credentials, delivery=h.delivery(body))


def changed(path: str, value: Any) -> bytes:
    """The text-message fixture with the field at `path` in its first direct message event set to `value` (or
    removed, when `value` is MISSING)."""
    return h.edited("x", "text_message.json", h.setting(f"direct_message_events.0.{path}", value))


# Handshake (CRC) and signatures


def test_sign_is_base64_hmac_sha256() -> None:
    assert x.sign(h.RFC4231_KEY, h.RFC4231_DATA) == f"sha256={RFC_DIGEST}"


def test_handshake_answers_the_crc_token_signed_with_the_consumer_secret() -> None:
    token = "zF7Qb1c+9xk/Ab_12-3="
    expected = base64.b64encode(hmac.new(h.RFC4231_KEY.encode(), token.encode(), hashlib.sha256).digest()).decode()
    answer = x.handshake(
        credentials=Credentials(secret=h.RFC4231_KEY), delivery=h.delivery(method="GET", query={"crc_token": token})
    )
    assert answer.content_type == "application/json"
    assert json.loads(answer.body) == {"response_token": f"sha256={expected}"}


def test_handshake_refuses_to_sign_what_is_not_a_token_so_it_cannot_sign_a_forged_body() -> None:
    forged = json.dumps({"for_user_id": "1", "direct_message_events": []})
    with pytest.raises(HandshakeFailed, match="at most 128 letters"):
        x.handshake(credentials=CREDENTIALS, delivery=h.delivery(method="GET", query={"crc_token": forged}))


def test_handshake_without_crc_token_fails() -> None:
    with pytest.raises(HandshakeFailed, match="crc_token"):
        x.handshake(credentials=CREDENTIALS, delivery=h.delivery(method="GET"))


def test_handshake_without_a_consumer_secret_fails() -> None:
    with pytest.raises(HandshakeFailed, match="no consumer secret"):
        x.handshake(credentials=Credentials(secret=""), delivery=h.delivery(method="GET", query={"crc_token": "abc"}))


def test_verify_accepts_the_body_signed_with_the_consumer_secret_in_any_header_case() -> None:
    body = h.fixture("x", "text_message.json")
    signature = x.sign(CREDENTIALS.secret, body)
    x.verify(credentials=CREDENTIALS, delivery=h.delivery(body, headers={"X-Twitter-Webhooks-Signature": signature}))


def test_verify_accepts_the_rfc_vector() -> None:
    credentials = Credentials(secret=h.RFC4231_KEY)
    headers = {"x-twitter-webhooks-signature": f"sha256={RFC_DIGEST}"}
    x.verify(credentials=credentials, delivery=h.delivery(h.RFC4231_DATA, headers=headers))


@pytest.mark.parametrize(
    ("headers", "message"),
    [
        ({}, "missing x-twitter-webhooks-signature header"),
        ({"x-twitter-webhooks-signature": "sha1=abc"}, "must look like sha256="),
        ({"x-twitter-webhooks-signature": f"sha256={RFC_DIGEST}"}, "does not match"),
        ({"x-twitter-webhooks-signature": "sha256=" + RFC_DIGEST.lower()}, "does not match"),
        ({"x-twitter-webhooks-signature": x.sign("another-secret", b"{}")}, "does not match"),
    ],
)
def test_verify_refuses_wrong_or_missing_signatures(headers: dict[str, str], message: str) -> None:
    with pytest.raises(SignatureInvalid, match=message):
        x.verify(credentials=CREDENTIALS, delivery=h.delivery(b"{}", headers=headers))


def test_verify_refuses_a_tampered_body() -> None:
    signature = x.sign(CREDENTIALS.secret, b'{"a": 1}')
    with pytest.raises(SignatureInvalid, match="does not match"):
        x.verify(credentials=CREDENTIALS, delivery=h.delivery(b'{"a": 2}', headers={SIG: signature}))


def test_verify_never_accepts_an_empty_secret() -> None:
    credentials = Credentials(secret="")
    with pytest.raises(SignatureInvalid, match="no consumer secret"):
        x.verify(credentials=credentials, delivery=h.delivery(b"{}", headers={SIG: x.sign("", b"{}")}))


# Parsing


def test_parse_a_text_message_with_the_sender_name_from_the_users_map() -> None:
    assert parse(h.fixture("x", "text_message.json")) == [
        InboundMessage(
            external_id="954491830116155396",
            sender_id="3001969357",
            sender_name="Jordan Brinks",
            text="Hello, my order #1234 has not arrived 📦",
            sent_at=h.at_ms(1516403560557),
        )
    ]


def test_parse_keeps_milliseconds() -> None:
    [message] = parse(h.fixture("x", "text_message.json"))
    assert isinstance(message, InboundMessage)
    assert message.sent_at == datetime(2018, 1, 19, 23, 12, 40, 557000, tzinfo=UTC)


def test_parse_a_batch_yields_every_event_in_order() -> None:
    events = parse(h.fixture("x", "batch.json"))
    assert [type(event) for event in events] == [Ignored, InboundMessage, InboundMessage, Echo]
    assert events[0] == Ignored(
        kind="direct_message_indicate_typing", detail="direct_message_indicate_typing_events[0]"
    )
    first, second = events[1], events[2]
    assert isinstance(first, InboundMessage) and isinstance(second, InboundMessage)
    assert (first.sender_name, first.text) == ("Jordan Brinks", "First question")
    assert (second.sender_id, second.sender_name) == ("3284025577", "Bogus Bogart")
    assert events[3] == Echo(
        external_id="954491830116155398", recipient_id="3001969357", text="We are on it", sent_at=h.at_ms(1516403570000)
    )


def test_parse_our_own_sent_dm_is_an_echo() -> None:
    assert parse(h.fixture("x", "echo.json")) == [
        Echo(
            external_id="954492101412302852",
            recipient_id="3001969357",
            text="Thanks, we have sent a new parcel.",
            sent_at=h.at_ms(1516403625230),
        )
    ]


def test_parse_knows_our_account_from_for_user_id_when_the_account_id_is_not_set() -> None:
    [event] = parse(h.fixture("x", "echo.json"), Credentials(secret="s"))
    assert isinstance(event, Echo)


def test_parse_a_delivery_for_another_subscribed_user_is_ignored() -> None:
    events = parse(h.fixture("x", "text_message.json"), Credentials(secret="s", account_id="999"))
    assert events == [Ignored(kind="other_account", detail="the delivery is for X user 4337869213")]


def test_parse_mark_read_is_a_read_watermark_for_the_contact() -> None:
    read_at = h.at_ms(1516403700123)
    assert parse(h.fixture("x", "mark_read.json")) == [
        StatusUpdate(status="read", at=read_at, recipient_id="3001969357", watermark=read_at)
    ]


def test_parse_our_own_mark_read_is_ignored() -> None:
    data = json.loads(h.fixture("x", "mark_read.json"))
    data["direct_message_mark_read_events"][0]["sender_id"] = OUR_ID
    [event] = parse(json.dumps(data).encode())
    assert isinstance(event, Ignored) and event.kind == "direct_message_mark_read"


def test_parse_a_photo_drops_its_tco_link_from_the_text() -> None:
    [message] = parse(h.fixture("x", "photo_attachment.json"))
    assert isinstance(message, InboundMessage)
    assert message.text == "The box was damaged"
    assert message.attachments == (
        Attachment(
            kind="image",
            url="https://pbs.twimg.com/dm_photo/954493002209624064/AbCdEfGh.jpg",
            media_id="954493002209624064",
        ),
    )


def test_parse_a_gif_alone_is_the_best_video_variant_with_no_text() -> None:
    [message] = parse(h.fixture("x", "gif_attachment.json"))
    assert isinstance(message, InboundMessage)
    assert (message.text, message.sender_name) == ("", "")
    assert message.attachments == (
        Attachment(
            kind="video",
            url="https://video.twimg.com/dm_gif/954493359542661120/high.mp4",
            media_id="954493359542661120",
            mime_type="video/mp4",
        ),
    )


def test_parse_a_video_without_variants_falls_back_to_its_still() -> None:
    data = json.loads(h.fixture("x", "gif_attachment.json"))
    media = data["direct_message_events"][0]["message_create"]["message_data"]["attachment"]["media"]
    media["type"], media["video_info"] = "video", {"variants": [{"bitrate": 1}]}
    [message] = parse(json.dumps(data).encode())
    assert isinstance(message, InboundMessage)
    assert message.attachments[0].url == media["media_url_https"]


def test_parse_unknown_event_types_are_ignored_in_order() -> None:
    events = parse(h.fixture("x", "unknown_events.json"))
    assert [event.kind for event in events if isinstance(event, Ignored)] == [
        "follow",
        "favorite",
        "direct_message:welcome_message_rule",
    ]
    assert len(events) == 3


def test_parse_a_delivery_without_events_is_ignored() -> None:
    assert parse(b'{"for_user_id": "4337869213"}') == [
        Ignored(kind="no_events", detail="the delivery holds no event list")
    ]


def test_parse_a_dm_with_no_text_and_no_media_is_ignored() -> None:
    [event] = parse(changed("message_create.message_data.text", "  "))
    assert isinstance(event, Ignored) and event.kind == "direct_message:empty"


def test_parse_a_non_media_attachment_keeps_the_text() -> None:
    location = {"type": "location", "location": {"type": "shared_coordinate"}}
    [message] = parse(changed("message_create.message_data.attachment", location))
    assert isinstance(message, InboundMessage) and message.attachments == ()


def test_parse_drops_nul_characters() -> None:
    [message] = parse(changed("message_create.message_data.text", "hel\u0000lo"))
    assert isinstance(message, InboundMessage) and message.text == "hello"


DM = r"direct_message_events\[0\]"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"{not json", "not valid JSON"),
        (b"\xff\xfe", "not valid JSON"),
        (b"[1, 2]", "must be a JSON object"),
        (b"[" * 100_000 + b"]" * 100_000, "cannot read"),
        (b'{"direct_message_events": {}}', "field 'direct_message_events' must be an array"),
        (b'{"follow_events": "x"}', "field 'follow_events' must be an array"),
        (b'{"direct_message_events": [1]}', f"field '{DM}' must be an object"),
        (b'{"for_user_id": 42, "direct_message_events": []}', "field 'for_user_id' must be a string"),
        (b'{"users": [], "direct_message_events": []}', "field 'users' must be an object"),
        (changed("id", h.MISSING), f"missing field '{DM}.id'"),
        (changed("id", 954491830116155396), f"field '{DM}.id' must be a string"),
        (changed("created_timestamp", h.MISSING), f"missing field '{DM}.created_timestamp'"),
        (changed("created_timestamp", "yesterday"), "must be a Unix time in milliseconds"),
        (changed("created_timestamp", "-1516403560557"), "must be a Unix time in milliseconds"),
        (changed("created_timestamp", True), "must be a Unix time in milliseconds"),
        (changed("created_timestamp", "1516403560"), "must be between 2000 and 2100"),
        (changed("created_timestamp", "9" * 20), "must be between 2000 and 2100"),
        (changed("created_timestamp", "9" * 21), "must be a Unix time"),
        (changed("message_create", h.MISSING), f"missing field '{DM}.message_create'"),
        (changed("message_create", "hi"), f"field '{DM}.message_create' must be an object"),
        (changed("message_create.sender_id", h.MISSING), "missing field .*sender_id"),
        (changed("message_create.sender_id", 3001969357), "sender_id' must be a string"),
        (changed("message_create.sender_id", ""), "sender_id' must not be empty"),
        (changed("message_create.sender_id", "x" * 256), "sender_id' is longer than 255"),
        (changed("message_create.target", h.MISSING), "missing field .*message_create.target'"),
        (changed("message_create.target.recipient_id", None), "missing field .*recipient_id'"),
        (changed("message_create.message_data", h.MISSING), "missing field .*message_data'"),
        (changed("message_create.message_data.text", ["hi"]), "text' must be a string"),
        (changed("message_create.message_data.text", "x" * 100_001), "longer than 100000"),
        (changed("message_create.message_data.text", "\ud800"), "not valid Unicode"),
        (changed("message_create.message_data.attachment", []), "attachment' must be an object"),
        (changed("message_create.message_data.attachment", {"type": "media"}), "missing .*media'"),
        (
            changed("message_create.message_data.attachment", {"type": "media", "media": {"type": "photo"}}),
            "missing field .*media_url_https'",
        ),
    ],
)
def test_parse_names_what_is_wrong(body: bytes, message: str) -> None:
    with pytest.raises(PayloadInvalid, match=message):
        parse(body)


@pytest.mark.parametrize(
    ("users", "message"),
    [
        ({"3001969357": "Jordan"}, "'users.3001969357' must be an object"),
        ({"3001969357": {"name": 7}}, "name' must be a string"),
    ],
)
def test_parse_checks_the_sender_in_the_users_map(users: dict[str, Any], message: str) -> None:
    data = json.loads(h.fixture("x", "text_message.json"))
    data["users"] = users
    with pytest.raises(PayloadInvalid, match=message):
        parse(json.dumps(data).encode())


REFERENCE_KINDS = {
    "a_dm_received_tweetinvi.json": InboundMessage,
    "c_own_dm_sent_tweetinvi.json": Echo,
    "d_mark_read_tweetinvi.json": StatusUpdate,
    "g_typing_indicator_tweetinvi.json": Ignored,
}


@pytest.mark.skipif(not REFERENCE.is_dir(), reason=h.NO_REFERENCE)
@pytest.mark.parametrize("name", sorted(REFERENCE_KINDS))
def test_parse_accepts_every_reference_delivery(name: str) -> None:
    # The reference deliveries name their own account in for_user_id: no account id to compare it with.
    events = parse((REFERENCE / name).read_bytes(), Credentials(secret="s"))
    assert [type(event) for event in events] == [REFERENCE_KINDS[name]]


def test_every_reference_delivery_is_listed() -> None:
    if REFERENCE.is_dir():
        assert {path.name for path in REFERENCE.iterdir()} == set(REFERENCE_KINDS)


# Sending

CONTACT = "3001969357"
TEXT = "We sent a new parcel ✓"


def send(platform: FakePlatform, credentials: Credentials = CREDENTIALS, recipient_id: str = CONTACT) -> str | None:
    outbound = h.reply(recipient_id, TEXT, ticket_number=1042, sent_at=h.at_ms(1516403700000))
    return x.send_reply(credentials=h.on(platform, credentials, slash="/"), reply=outbound, timeout=5).external_id


def test_send_reply_posts_the_text_to_the_dm_conversation_with_the_bearer_token(platform_api: FakePlatform) -> None:
    answer = {"data": {"dm_conversation_id": "3001969357-4337869213", "dm_event_id": "1582838233284956160"}}
    platform_api.answer("/2/dm_conversations/", Answer(status=201, body=json.dumps(answer).encode()))
    assert send(platform_api) == "1582838233284956160"
    [request] = platform_api.requests
    assert (request.method, request.path) == ("POST", "/2/dm_conversations/with/3001969357/messages")
    assert request.headers["Authorization"] == "Bearer user-context-token"
    assert request.headers["Content-Type"] == "application/json"
    assert request.json() == {"text": TEXT}


def test_send_reply_quotes_the_recipient_in_the_path(platform_api: FakePlatform) -> None:
    send(platform_api, recipient_id="../1?a")
    assert platform_api.requests[0].path == "/2/dm_conversations/with/..%2F1%3Fa/messages"


@pytest.mark.parametrize("body", [b"", b"not json", b"{}", b'{"data": {"dm_event_id": null}}', b'{"data": []}'])
def test_send_reply_without_an_id_in_the_answer_still_counts_as_sent(platform_api: FakePlatform, body: bytes) -> None:
    platform_api.answer("/2/", Answer(status=201, body=body))
    assert send(platform_api) is None


@pytest.mark.parametrize(("status", "retryable"), [(500, True), (503, True), (429, True), (400, False), (403, False)])
def test_send_reply_failures_say_whether_a_retry_may_help(
    platform_api: FakePlatform, status: int, retryable: bool
) -> None:
    problem = {"title": "Forbidden", "detail": "You are not permitted to send a message to this user", "status": status}
    answer = Answer(status=status, body=json.dumps(problem).encode())
    h.assert_refused(
        platform_api, "/2/", answer, lambda: send(platform_api), retryable=retryable, saying=f"HTTP {status}"
    )


def test_send_reply_without_an_access_token_fails_for_good(platform_api: FakePlatform) -> None:
    h.assert_not_sent(platform_api, lambda: send(platform_api, Credentials(secret="s")), "no X access token")


def test_send_reply_defaults_to_x_api() -> None:
    assert x.DEFAULT_BASE_URL == "https://api.x.com"
