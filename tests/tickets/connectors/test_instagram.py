"""The Instagram connector on its own: the Messenger Platform with Instagram's object and its own shapes."""

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tests.fake_platform import Answer, FakePlatform
from tests.tickets.connectors import meta_helpers as h
from tickets.connectors import instagram, meta
from tickets.connectors.base import (
    Attachment,
    Echo,
    HandshakeFailed,
    Ignored,
    InboundMessage,
    MessageEdit,
    PayloadInvalid,
    SendFailed,
    SignatureInvalid,
    StatusUpdate,
)

ACCOUNT = "17841405822304914"
USER = "1254459154682919"


def parse(body: bytes, **credentials: str) -> list[Any]:
    return instagram.parse(credentials=h.credentials(**credentials), delivery=h.delivery(body))


def ms(value: int) -> datetime:
    return datetime.fromtimestamp(value / 1000, UTC)


def _set(path: str, value: Any) -> Callable[[Any], None]:
    """A change of the field at `path` in the first messaging item."""
    return h.setting(f"entry.0.messaging.0.{path}", value)


# Handshake and signatures


def test_handshake_answers_the_challenge() -> None:
    answer = instagram.handshake(credentials=h.credentials(), delivery=h.handshake_request(h.GOOD_HANDSHAKE))
    assert answer.body == "1158201444"


@pytest.mark.parametrize(("query", "method", "message"), h.BAD_HANDSHAKES)
def test_handshake_refuses_what_does_not_check_out(query: dict[str, str], method: str, message: str) -> None:
    with pytest.raises(HandshakeFailed, match=message):
        instagram.handshake(credentials=h.credentials(), delivery=h.handshake_request(query, method))


def test_verify_accepts_metas_signature() -> None:
    instagram.verify(credentials=h.credentials(), delivery=h.signed(h.fixture("instagram", "text_message.json")))


@pytest.mark.parametrize(("headers", "message"), h.bad_signatures(h.fixture("instagram", "text_message.json")))
def test_verify_refuses_wrong_or_missing_signatures(headers: dict[str, str], message: str) -> None:
    body = h.fixture("instagram", "text_message.json")
    with pytest.raises(SignatureInvalid, match=message):
        instagram.verify(credentials=h.credentials(), delivery=h.delivery(body, headers))


@pytest.mark.skipif(not h.REFERENCE.exists(), reason="the shared reference payloads are not on this machine")
def test_verify_matches_the_published_sha256_vector() -> None:
    # Meta signs every platform's deliveries the same way: pywa's vector holds for Instagram too.
    body = (h.REFERENCE / h.PYWA_FILE).read_bytes()
    assert meta.sign(h.PYWA_SECRET, body) == h.PYWA_SIGNATURE
    credentials = h.credentials(secret=h.PYWA_SECRET)
    instagram.verify(credentials=credentials, delivery=h.delivery(body, {"X-Hub-Signature-256": h.PYWA_SIGNATURE}))


# Parsing


def test_parse_a_text_message() -> None:
    [message] = parse(h.fixture("instagram", "text_message.json"))
    assert message == InboundMessage(
        external_id="aWdfZAG1faXRlbToxOklHTWVzc2FnZAUlEOjE3ODQxNDA1ODIyMzA0OTE0",
        sender_id=USER,
        sender_name="",
        text="Is the blue jacket back in stock?",
        sent_at=ms(1763890200123),
    )


def test_parse_a_batch_yields_every_event_in_order() -> None:
    events = parse(h.fixture("instagram", "batch.json"))
    assert [type(event) for event in events] == [InboundMessage, InboundMessage, Ignored]
    assert [events[0].text, events[1].text, events[2].kind] == ["Hi!", "Size M please", "reaction"]


def test_parse_an_echo() -> None:
    [echo] = parse(h.fixture("instagram", "echo.json"))
    assert echo == Echo(external_id="ig_echo_1", recipient_id=USER, text="Yes, it is back!", sent_at=ms(1763890300123))


def test_parse_a_read_receipt_names_the_message_seen() -> None:
    [update] = parse(h.fixture("instagram", "read.json"))
    assert update == StatusUpdate(status="read", at=ms(1763890500123), external_id="ig_echo_1", recipient_id=USER)


def test_parse_an_edit() -> None:
    [edit] = parse(h.fixture("instagram", "edit.json"))
    assert edit == MessageEdit(
        external_id="ig_mid_2", sender_id=USER, text="Size L please", edited_at=ms(1763890600123)
    )


def test_parse_attachments_shares_and_reels() -> None:
    [message] = parse(h.fixture("instagram", "attachments.json"))
    assert message.text == "This one"
    cdn = "https://lookaside.fbsbx.com/ig_messaging_cdn/?asset_id="
    assert message.attachments == (
        Attachment(kind="image", url=f"{cdn}1"),
        Attachment(kind="video", url=f"{cdn}2"),
        Attachment(kind="image", url=f"{cdn}3"),
    )


def test_parse_story_mentions_and_unsent_messages_are_ignored() -> None:
    events = parse(h.fixture("instagram", "story_mention.json"))
    assert events == [
        Ignored(kind="story_mention", detail="ig_mid_story"),
        Ignored(kind="message_deleted", detail="ig_mid_2"),
    ]


def test_parse_a_story_mention_with_text_keeps_the_text() -> None:
    body = h.edited("instagram", "story_mention.json", _set("message.text", "Look at this!"))
    message = parse(body)[0]
    assert isinstance(message, InboundMessage)
    assert (message.text, message.attachments) == ("Look at this!", ())


def test_parse_entries_of_another_account_are_ignored() -> None:
    assert isinstance(parse(h.fixture("instagram", "text_message.json"), account_id=ACCOUNT)[0], InboundMessage)
    [ignored] = parse(h.fixture("instagram", "text_message.json"), account_id="17841400000000000")
    assert isinstance(ignored, Ignored) and ignored.kind == "other_account"


@pytest.mark.parametrize(("body", "message"), h.NOT_DELIVERIES)
def test_parse_refuses_bodies_that_are_not_deliveries(body: bytes, message: str) -> None:
    with pytest.raises(PayloadInvalid, match=message):
        parse(body)


def test_parse_refuses_a_messenger_delivery() -> None:
    with pytest.raises(PayloadInvalid, match="must be 'instagram' for this channel, not 'page'"):
        parse(h.fixture("messenger", "text_message.json"))


@pytest.mark.parametrize(
    ("name", "path", "value", "message"),
    [
        ("text_message.json", "message.mid", h.MISSING, "message.mid'"),
        ("text_message.json", "message.text", 12, "message.text' must be a string"),
        ("text_message.json", "sender", "1254459154682919", "sender' must be an object"),
        ("text_message.json", "timestamp", -1, "between 2000 and 2100"),
        ("echo.json", "recipient", h.MISSING, "recipient'"),
        ("story_mention.json", "message.is_deleted", 1, "is_deleted' must be true or false"),
        ("read.json", "read.mid", "", "read.mid' must not be empty"),
        ("read.json", "read", ["ig_echo_1"], "read' must be an object"),
        ("edit.json", "message_edit", "Size L", "message_edit' must be an object"),
        ("attachments.json", "message.attachments.1.payload.url", None, r"attachments\[1\].payload.url'"),
    ],
)
def test_parse_names_what_is_wrong(name: str, path: str, value: Any, message: str) -> None:
    with pytest.raises(PayloadInvalid, match=message):
        parse(h.edited("instagram", name, _set(path, value)))


@pytest.mark.parametrize("path", h.reference_files("instagram"), ids=lambda path: path.name)
def test_parse_accepts_every_reference_delivery(path: Path) -> None:
    events = parse(path.read_bytes())
    assert events
    expected = {"a": InboundMessage, "c": Echo, "e": InboundMessage, "g": Ignored}[path.name[0]]
    assert all(isinstance(event, expected) for event in events)


# Sending


def test_send_reply_posts_to_the_send_api(platform_api: FakePlatform) -> None:
    platform_api.answer("/v21.0/me/messages", {"recipient_id": USER, "message_id": "aWdfZAG1fsent"})
    result = instagram.send_reply(credentials=h.credentials(base_url=platform_api.url), reply=h.reply(USER), timeout=5)
    assert result.external_id == "aWdfZAG1fsent"
    [request] = platform_api.requests
    assert (request.method, request.path) == ("POST", "/v21.0/me/messages")
    assert request.headers["Authorization"] == f"Bearer {h.ACCESS_TOKEN}"
    assert request.json() == {
        "recipient": {"id": USER},
        "messaging_type": "RESPONSE",
        "message": {"text": "We are on it"},
    }


def test_send_reply_with_an_odd_answer_still_counts(platform_api: FakePlatform) -> None:
    platform_api.answer("/v21.0/me/messages", {"message_id": {"nested": True}})
    result = instagram.send_reply(credentials=h.credentials(base_url=platform_api.url), reply=h.reply(), timeout=5)
    assert result.external_id is None


@pytest.mark.parametrize(("status", "retryable"), [(500, True), (429, True), (400, False)])
def test_send_reply_failures_say_whether_to_retry(platform_api: FakePlatform, status: int, retryable: bool) -> None:
    platform_api.answer("/v21.0/me/messages", Answer(status=status, body=h.graph_error(100, "Invalid parameter")))
    with pytest.raises(SendFailed) as caught:
        instagram.send_reply(credentials=h.credentials(base_url=platform_api.url), reply=h.reply(), timeout=5)
    assert caught.value.retryable is retryable
