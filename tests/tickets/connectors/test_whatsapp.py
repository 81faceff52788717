"""The WhatsApp Cloud API connector on its own: parsing every change, and sending from a phone number (the
handshake and signatures every Meta platform shares are checked in test_meta)."""

import json
from typing import Any

import pytest

from tests.fake_platform import Answer, FakePlatform
from tests.tickets.connectors import meta_helpers as h
from tests.tickets.connectors.helpers import (
    MISSING,
    RFC4231_DATA,
    RFC4231_KEY,
    RFC4231_SHA256,
    assert_final,
    assert_refused,
    at,
    delivery,
    edited,
    fixture,
    send_failure,
)
from tickets.connectors import meta, whatsapp
from tickets.connectors.base import (
    Attachment,
    Credentials,
    Echo,
    Ignored,
    InboundMessage,
    MessageEdit,
    PayloadInvalid,
    StatusUpdate,
)

PHONE_NUMBER_ID = "106540352242922"
CONTACT = "16505551234"


def parse(body: bytes, **credentials: str) -> list[Any]:
    return whatsapp.parse(credentials=h.credentials(**credentials), delivery=delivery(body))


# Handshake and signatures


def test_sign_is_hex_hmac_sha256_of_the_raw_body() -> None:
    assert meta.sign(RFC4231_KEY, RFC4231_DATA) == f"sha256={RFC4231_SHA256.hex()}"


# Parsing


def test_parse_a_text_message_with_the_contacts_profile_name() -> None:
    [message] = parse(fixture("whatsapp", "text_message.json"))
    assert message == InboundMessage(
        external_id="wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA=",
        sender_id=CONTACT,
        sender_name="Sheena Nelson",
        text="Does it come in another colour?",
        sent_at=at(1763890200),
    )


def test_parse_a_batch_yields_every_event_in_order() -> None:
    events = parse(fixture("whatsapp", "batch.json"))
    assert [type(event) for event in events] == [InboundMessage, InboundMessage, StatusUpdate]
    assert [(event.sender_id, event.sender_name, event.text) for event in events[:2]] == [
        (CONTACT, "Sheena Nelson", "Hello"),
        ("447700900123", "Omar Haddad", "Good morning"),
    ]
    assert events[2] == StatusUpdate(
        status="delivered", at=at(1763890203), external_id="wamid.reply", recipient_id=CONTACT
    )


def test_parse_an_echo_from_the_business_app() -> None:
    [echo] = parse(fixture("whatsapp", "echo.json"))
    assert echo == Echo(
        external_id="wamid.echo",
        recipient_id=CONTACT,
        text="Sent from the Business app",
        sent_at=at(1763890300),
    )


def test_parse_statuses_with_the_reason_of_a_failure() -> None:
    failed, read = parse(fixture("whatsapp", "status_failed.json"))
    assert failed == StatusUpdate(
        status="failed",
        at=at(1763890400),
        external_id="wamid.reply",
        recipient_id=CONTACT,
        error="Re-engagement message: Message failed to send because more than 24 hours have passed since the "
        "customer last replied to this number. (code 131047)",
    )
    assert read == StatusUpdate(status="read", at=at(1763890401), external_id="wamid.other", recipient_id=CONTACT)


def test_parse_an_unknown_status_is_ignored() -> None:
    body = edited("whatsapp", "status_failed.json", h.in_change("statuses.1.status", "deleted"))
    assert parse(body)[1] == Ignored(kind="status", detail="deleted")


def test_parse_an_edit_of_a_text() -> None:
    [edit] = parse(fixture("whatsapp", "edit.json"))
    assert edit == MessageEdit(
        external_id="wamid.first", sender_id=CONTACT, text="Hello again", edited_at=at(1763890500)
    )


def test_parse_an_edit_without_text_is_ignored() -> None:
    image = {"type": "image", "image": {"id": "1234", "mime_type": "image/jpeg"}}
    body = edited("whatsapp", "edit.json", h.in_change("messages.0.edit.message", image))
    assert parse(body) == [Ignored(kind="edit", detail="wamid.first: no text to show")]


def test_parse_media_messages_become_attachments_with_their_caption() -> None:
    image, document, audio, sticker = parse(fixture("whatsapp", "media.json"))
    assert (image.text, image.attachments) == (
        "The box arrived like this",
        (Attachment(kind="image", media_id="1289366541987654", mime_type="image/jpeg"),),
    )
    assert (document.text, document.attachments) == (
        "",
        (Attachment(kind="file", media_id="9876543210123456", mime_type="application/pdf", name="invoice-1042.pdf"),),
    )
    assert audio.attachments == (Attachment(kind="audio", media_id="555000111", mime_type="audio/ogg; codecs=opus"),)
    assert sticker.attachments == (Attachment(kind="sticker", media_id="777000222", mime_type="image/webp"),)
    assert {message.sender_name for message in (image, document, audio, sticker)} == {"Sheena Nelson"}


def test_parse_a_media_url_when_whatsapp_gives_one() -> None:
    body = edited(
        "whatsapp", "media.json", h.in_change("messages.0.image.url", "https://lookaside.fbsbx.com/whatsapp/1")
    )
    assert parse(body)[0].attachments[0].url == "https://lookaside.fbsbx.com/whatsapp/1"


def test_parse_a_location_and_reply_buttons() -> None:
    location, button_reply, list_reply, button = parse(fixture("whatsapp", "location_and_replies.json"))
    assert location.text == "Location: Main Street Depot, 1 Hacker Way, Menlo Park (37.4847, -122.1477)"
    assert location.attachments == (Attachment(kind="location", url="geo:37.4847,-122.1477"),)
    assert [button_reply.text, list_reply.text, button.text] == ["Yes, reschedule", "Tomorrow 9-12", "Stop promotions"]
    assert all(isinstance(event, InboundMessage) for event in (button_reply, list_reply, button))


def test_parse_a_location_without_a_name() -> None:
    body = edited(
        "whatsapp", "location_and_replies.json", h.in_change("messages.0.location", {"latitude": 1, "longitude": 2})
    )
    assert parse(body)[0].text == "Location: (1.0, 2.0)"


def test_parse_other_interactive_replies_are_ignored() -> None:
    flow = {"type": "nfm_reply", "nfm_reply": {"response_json": "{}", "body": "Sent", "name": "flow"}}
    body = edited("whatsapp", "location_and_replies.json", h.in_change("messages.1.interactive", flow))
    assert parse(body)[1] == Ignored(kind="interactive", detail="wamid.button_reply")


def test_parse_reactions_unsupported_messages_and_other_fields_are_ignored() -> None:
    assert parse(fixture("whatsapp", "ignored.json")) == [
        Ignored(kind="reaction", detail="wamid.reaction"),
        Ignored(
            kind="unsupported",
            detail="wamid.unsupported: Message type unknown: Message type is currently not supported. (code 131051)",
        ),
        Ignored(kind="message_template_status_update", detail="entry[0].changes[1]"),
    ]


def test_parse_changes_for_another_phone_number_are_ignored() -> None:
    assert isinstance(parse(fixture("whatsapp", "text_message.json"), account_id=PHONE_NUMBER_ID)[0], InboundMessage)
    [ignored] = parse(fixture("whatsapp", "text_message.json"), account_id="999")
    assert isinstance(ignored, Ignored) and ignored.kind == "other_account"


def test_parse_a_sender_missing_from_contacts_has_no_name() -> None:
    body = edited("whatsapp", "text_message.json", h.in_change("contacts", MISSING))
    assert parse(body)[0].sender_name == ""


def test_parse_drops_nul_characters() -> None:
    body = edited("whatsapp", "text_message.json", h.in_change("messages.0.text.body", "hel\u0000lo"))
    assert parse(body)[0].text == "hello"


def test_parse_an_empty_change_is_ignored() -> None:
    body = edited("whatsapp", "text_message.json", h.in_change("messages", MISSING))
    assert parse(body) == [Ignored(kind="messages", detail="entry[0].changes[0].value has no messages or statuses")]


@pytest.mark.parametrize(
    ("name", "path", "value", "message"),
    [
        ("text_message.json", "messages", {"id": "x"}, "messages' must be an array"),
        ("text_message.json", "messages.0", "hi", r"messages\[0\]' must be an object"),
        ("text_message.json", "messages.0.type", MISSING, r"messages\[0\].type'"),
        ("text_message.json", "messages.0.id", MISSING, r"missing field .*messages\[0\].id'"),
        ("text_message.json", "messages.0.from", 16505551234, r"messages\[0\].from' must be a string"),
        ("text_message.json", "messages.0.timestamp", MISSING, "timestamp'"),
        ("text_message.json", "messages.0.timestamp", "1763890200.5", "must be a Unix time in seconds"),
        ("text_message.json", "messages.0.timestamp", "1" * 30, "must be a Unix time in seconds"),
        ("text_message.json", "messages.0.timestamp", "946684799", "between 2000 and 2100"),
        ("text_message.json", "messages.0.text", MISSING, r"messages\[0\].text'"),
        ("text_message.json", "messages.0.text.body", "", "text.body' must not be empty"),
        ("text_message.json", "messages.0.text.body", "x" * 100_001, "longer than 100000"),
        ("text_message.json", "contacts", {"wa_id": "1"}, "contacts' must be an array"),
        ("text_message.json", "contacts.0.profile.name", ["Sheena"], "profile.name' must be a string"),
        ("text_message.json", "contacts.0.profile", "Sheena", "profile' must be an object"),
        ("media.json", "messages.0.image.id", MISSING, "image.id'"),
        ("media.json", "messages.0.image", "1289366541987654", "image' must be an object"),
        ("media.json", "messages.1.document.filename", 7, "document.filename' must be a string"),
        ("location_and_replies.json", "messages.0.location.latitude", "37.4", "between -90 and 90"),
        ("location_and_replies.json", "messages.0.location.longitude", float("nan"), "between -180 and 180"),
        ("location_and_replies.json", "messages.1.interactive.button_reply", MISSING, "button_reply'"),
        ("location_and_replies.json", "messages.2.interactive.list_reply.title", 3, "list_reply.title'"),
        ("location_and_replies.json", "messages.3.button.text", MISSING, "button.text'"),
        ("status_failed.json", "statuses.0.id", MISSING, r"statuses\[0\].id'"),
        ("status_failed.json", "statuses.0.status", None, r"statuses\[0\].status'"),
        ("status_failed.json", "statuses.0.errors", "bad", "errors' must be an array"),
        ("status_failed.json", "statuses.0.errors.0.title", 5, r"errors\[0\].title' must be a string"),
        ("edit.json", "messages.0.edit.original_message_id", MISSING, "original_message_id'"),
        ("edit.json", "messages.0.edit.message", MISSING, "edit.message'"),
        ("echo.json", "message_echoes", MISSING, "message_echoes'"),
        ("echo.json", "message_echoes.0.to", MISSING, r"message_echoes\[0\].to'"),
    ],
)
def test_parse_names_what_is_wrong(name: str, path: str, value: Any, message: str) -> None:
    with pytest.raises(PayloadInvalid, match=message):
        parse(edited("whatsapp", name, h.in_change(path, value)))


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b'{"object": "page", "entry": []}', "must be 'whatsapp_business_account' for this channel, not 'page'"),
        (b'{"object": "whatsapp_business_account", "entry": [{"id": "1"}]}', r"missing field 'entry\[0\].changes'"),
        (b'{"object": "whatsapp_business_account", "entry": [{"changes": [1]}]}', r"changes\[0\]' must be an object"),
        (b'{"object": "whatsapp_business_account", "entry": [{"changes": [{}]}]}', r"changes\[0\].field'"),
        (
            b'{"object": "whatsapp_business_account", "entry": [{"changes": [{"field": "messages"}]}]}',
            r"missing field 'entry\[0\].changes\[0\].value'",
        ),
    ],
)
def test_parse_refuses_malformed_envelopes(body: bytes, message: str) -> None:
    with pytest.raises(PayloadInvalid, match=message):
        parse(body)


# Sending


def _send(credentials: Credentials) -> str | None:
    return whatsapp.send_reply(credentials=credentials, reply=h.reply(CONTACT), timeout=5).external_id


def test_send_reply_posts_from_the_phone_number(platform_api: FakePlatform) -> None:
    platform_api.answer(
        f"/v21.0/{PHONE_NUMBER_ID}/messages",
        {
            "messaging_product": "whatsapp",
            "contacts": [{"input": CONTACT, "wa_id": CONTACT}],
            "messages": [{"id": "wamid.sent"}],
        },
    )
    assert _send(h.credentials(base_url=platform_api.url, account_id=PHONE_NUMBER_ID)) == "wamid.sent"
    [request] = platform_api.requests
    assert (request.method, request.path) == ("POST", f"/v21.0/{PHONE_NUMBER_ID}/messages")
    assert request.headers["Authorization"] == f"Bearer {h.ACCESS_TOKEN}"
    assert request.json() == {
        "messaging_product": "whatsapp",
        "to": CONTACT,
        "type": "text",
        "text": {"body": "We are on it"},
    }


def test_send_reply_keeps_the_phone_number_id_inside_its_path_segment(platform_api: FakePlatform) -> None:
    _send(h.credentials(base_url=platform_api.url, account_id="../me"))
    assert platform_api.requests[0].path == "/v21.0/..%2Fme/messages"


@pytest.mark.parametrize("answer", [{}, {"messages": []}, {"messages": ["wamid"]}, {"messages": [{"id": 7}]}, []])
def test_send_reply_without_an_id_in_the_answer_still_counts(platform_api: FakePlatform, answer: Any) -> None:
    platform_api.answer("/v21.0/", Answer(body=json.dumps(answer).encode()))
    assert _send(h.credentials(base_url=platform_api.url, account_id=PHONE_NUMBER_ID)) is None


@pytest.mark.parametrize(
    ("answer", "retryable"),
    [
        (Answer(status=500, body=b"Internal Server Error"), True),
        (Answer(status=400, body=h.graph_error(131026, "Message undeliverable")), False),
        (Answer(status=400, body=h.graph_error(130429, "Rate limit hit")), True),
        (Answer(status=400, body=b"not json"), False),
    ],
)
def test_send_reply_failures_say_whether_to_retry(platform_api: FakePlatform, answer: Answer, retryable: bool) -> None:
    credentials = h.credentials(base_url=platform_api.url, account_id=PHONE_NUMBER_ID)
    assert_refused(platform_api, "/v21.0/", answer, lambda: _send(credentials), retryable=retryable)


def test_send_reply_without_a_phone_number_id_is_not_attempted() -> None:
    assert_final(lambda: _send(h.credentials(base_url="http://127.0.0.1:9")), "no phone number id")


def test_send_reply_to_an_unreachable_platform_may_be_retried() -> None:
    credentials = h.credentials(base_url="http://127.0.0.1:9", account_id=PHONE_NUMBER_ID)
    assert send_failure(lambda: _send(credentials)).retryable is True
