"""The Instagram connector on its own: the Messenger Platform with Instagram's object and its own shapes
(the handshake, signatures and sending it shares with Messenger are checked in test_meta)."""

from typing import Any

import pytest

from tests.tickets.connectors import meta_helpers as h
from tests.tickets.connectors.helpers import MISSING, at_ms, delivery, edited, fixture
from tickets.connectors import instagram
from tickets.connectors.base import (
    Attachment,
    Echo,
    Ignored,
    InboundMessage,
    MessageEdit,
    PayloadInvalid,
    StatusUpdate,
)

ACCOUNT = "17841405822304914"
USER = "1254459154682919"


def parse(body: bytes, **credentials: str) -> list[Any]:
    return instagram.parse(credentials=h.credentials(**credentials), delivery=delivery(body))


# Parsing


def test_parse_a_text_message() -> None:
    [message] = parse(fixture("instagram", "text_message.json"))
    assert message == InboundMessage(
        external_id="aWdfZAG1faXRlbToxOklHTWVzc2FnZAUlEOjE3ODQxNDA1ODIyMzA0OTE0",
        sender_id=USER,
        sender_name="",
        text="Is the blue jacket back in stock?",
        sent_at=at_ms(1763890200123),
    )


def test_parse_a_batch_yields_every_event_in_order() -> None:
    events = parse(fixture("instagram", "batch.json"))
    assert [type(event) for event in events] == [InboundMessage, InboundMessage, Ignored]
    assert [events[0].text, events[1].text, events[2].kind] == ["Hi!", "Size M please", "reaction"]


def test_parse_an_echo() -> None:
    [echo] = parse(fixture("instagram", "echo.json"))
    assert echo == Echo(
        external_id="ig_echo_1", recipient_id=USER, text="Yes, it is back!", sent_at=at_ms(1763890300123)
    )


def test_parse_a_read_receipt_names_the_message_seen() -> None:
    [update] = parse(fixture("instagram", "read.json"))
    assert update == StatusUpdate(status="read", at=at_ms(1763890500123), external_id="ig_echo_1", recipient_id=USER)


def test_parse_an_edit() -> None:
    [edit] = parse(fixture("instagram", "edit.json"))
    assert edit == MessageEdit(
        external_id="ig_mid_2", sender_id=USER, text="Size L please", edited_at=at_ms(1763890600123)
    )


def test_parse_attachments_shares_and_reels() -> None:
    [message] = parse(fixture("instagram", "attachments.json"))
    assert message.text == "This one"
    cdn = "https://lookaside.fbsbx.com/ig_messaging_cdn/?asset_id="
    assert message.attachments == (
        Attachment(kind="image", url=f"{cdn}1"),
        Attachment(kind="video", url=f"{cdn}2"),
        Attachment(kind="image", url=f"{cdn}3"),
    )


def test_parse_story_mentions_and_unsent_messages_are_ignored() -> None:
    events = parse(fixture("instagram", "story_mention.json"))
    assert events == [
        Ignored(kind="story_mention", detail="ig_mid_story"),
        Ignored(kind="message_deleted", detail="ig_mid_2"),
    ]


def test_parse_a_story_mention_with_text_keeps_the_text() -> None:
    body = edited("instagram", "story_mention.json", h.in_messaging("message.text", "Look at this!"))
    message = parse(body)[0]
    assert isinstance(message, InboundMessage)
    assert (message.text, message.attachments) == ("Look at this!", ())


def test_parse_entries_of_another_account_are_ignored() -> None:
    assert isinstance(parse(fixture("instagram", "text_message.json"), account_id=ACCOUNT)[0], InboundMessage)
    [ignored] = parse(fixture("instagram", "text_message.json"), account_id="17841400000000000")
    assert isinstance(ignored, Ignored) and ignored.kind == "other_account"


def test_parse_refuses_a_messenger_delivery() -> None:
    with pytest.raises(PayloadInvalid, match="must be 'instagram' for this channel, not 'page'"):
        parse(fixture("messenger", "text_message.json"))


@pytest.mark.parametrize(
    ("name", "path", "value", "message"),
    [
        ("text_message.json", "message.mid", MISSING, "message.mid'"),
        ("text_message.json", "message.text", 12, "message.text' must be a string"),
        ("text_message.json", "sender", "1254459154682919", "sender' must be an object"),
        ("text_message.json", "timestamp", -1, "between 2000 and 2100"),
        ("echo.json", "recipient", MISSING, "recipient'"),
        ("story_mention.json", "message.is_deleted", 1, "is_deleted' must be true or false"),
        ("read.json", "read.mid", "", "read.mid' must not be empty"),
        ("read.json", "read", ["ig_echo_1"], "read' must be an object"),
        ("edit.json", "message_edit", "Size L", "message_edit' must be an object"),
        ("attachments.json", "message.attachments.1.payload.url", None, r"attachments\[1\].payload.url'"),
    ],
)
def test_parse_names_what_is_wrong(name: str, path: str, value: Any, message: str) -> None:
    with pytest.raises(PayloadInvalid, match=message):
        parse(edited("instagram", name, h.in_messaging(path, value)))


# Sending
