"""The Messenger connector on its own: its handshake and signature corner cases, and parsing every event shape
(what every Meta platform must do alike, sending included, is checked in test_meta)."""

import json
from datetime import UTC
from typing import Any

import pytest

from tests.tickets.connectors import meta_helpers as h
from tests.tickets.connectors.helpers import (
    MISSING,
    NO_REFERENCE,
    REFERENCE,
    assert_final,
    at_ms,
    delivery,
    edited,
    fixture,
)
from tickets.connectors import messenger, meta
from tickets.connectors.base import (
    Attachment,
    Echo,
    HandshakeFailed,
    Ignored,
    InboundMessage,
    MessageEdit,
    PayloadInvalid,
    SignatureInvalid,
    StatusUpdate,
)

PAGE = "104720965555520"
USER = "7103496612345678"


def parse(body: bytes, **credentials: str) -> list[Any]:
    return messenger.parse(credentials=h.credentials(**credentials), delivery=delivery(body))


# Handshake


def test_handshake_refuses_every_token_when_the_account_has_none() -> None:
    query = {**h.GOOD_HANDSHAKE, "hub.verify_token": ""}
    with pytest.raises(HandshakeFailed, match="no verify token"):
        messenger.handshake(credentials=h.credentials(verify_token=""), delivery=h.handshake_request(query))


# Signatures


def test_verify_reads_the_header_in_any_case() -> None:
    body = fixture("messenger", "text_message.json")
    headers = {"x-hub-signature-256": meta.sign(h.SECRET, body).upper().replace("SHA256=", "sha256=")}
    messenger.verify(credentials=h.credentials(), delivery=delivery(body, headers))


def test_verify_refuses_everything_when_the_account_has_no_secret() -> None:
    body = b"{}"
    with pytest.raises(SignatureInvalid, match="no app secret"):
        messenger.verify(
            credentials=h.credentials(secret=""),
            delivery=delivery(body, {"X-Hub-Signature-256": meta.sign("", body)}),
        )


def test_verify_refuses_a_body_changed_after_signing() -> None:
    body = fixture("messenger", "text_message.json")
    headers = {"X-Hub-Signature-256": meta.sign(h.SECRET, body)}
    with pytest.raises(SignatureInvalid, match="does not match"):
        messenger.verify(credentials=h.credentials(), delivery=delivery(body.replace(b"late", b"lost"), headers))


def test_verify_accepts_the_legacy_sha1_header_alone() -> None:
    body = fixture("messenger", "text_message.json")
    messenger.verify(
        credentials=h.credentials(),
        delivery=delivery(body, {"X-Hub-Signature": meta.sign_sha1(h.SECRET, body)}),
    )


@pytest.mark.skipif(not REFERENCE.exists(), reason=NO_REFERENCE)
def test_verify_matches_the_published_legacy_sha1_vector() -> None:
    body = (REFERENCE / h.BOTMAN_FILE).read_bytes()
    assert meta.sign_sha1(h.BOTMAN_SECRET, body) == h.BOTMAN_SIGNATURE
    credentials = h.credentials(secret=h.BOTMAN_SECRET)
    messenger.verify(credentials=credentials, delivery=delivery(body, {"X-Hub-Signature": h.BOTMAN_SIGNATURE}))
    with pytest.raises(SignatureInvalid):
        messenger.verify(
            credentials=credentials, delivery=delivery(body, {"X-Hub-Signature": h.BOTMAN_SIGNATURE[:-1] + "4"})
        )


# Parsing


def test_parse_a_text_message() -> None:
    [message] = parse(fixture("messenger", "text_message.json"))
    assert message == InboundMessage(
        external_id="m_AbCdEfGhIjKlMnOpQrStUvWxYz0123456789",
        sender_id=USER,
        sender_name="",
        text="Hello, my parcel is late",
        sent_at=at_ms(1763890200123),
    )
    assert message.sent_at.tzinfo is UTC


def test_parse_a_batch_yields_every_event_in_order() -> None:
    events = parse(fixture("messenger", "batch.json"))
    assert [type(event) for event in events] == [InboundMessage, InboundMessage, InboundMessage, StatusUpdate]
    assert [event.external_id for event in events[:3]] == ["m_first", "m_second", "m_third"]
    assert events[1].text == "Here is the receipt"
    assert events[1].attachments == (Attachment(kind="image", url="https://scontent.xx.fbcdn.net/v/receipt.jpg"),)
    assert events[3] == StatusUpdate(
        status="read",
        at=at_ms(1763890204000),
        recipient_id="6208811122334455",
        watermark=at_ms(1763890100000),
    )


def test_parse_an_echo_of_the_pages_own_message() -> None:
    [echo] = parse(fixture("messenger", "echo.json"))
    assert echo == Echo(
        external_id="m_echo_1", recipient_id=USER, text="We are looking into it", sent_at=at_ms(1763890300123)
    )


def test_parse_a_delivery_gives_one_update_per_mid() -> None:
    events = parse(fixture("messenger", "delivery.json"))
    watermark = at_ms(1763890400000)
    assert events == [
        StatusUpdate(status="delivered", at=watermark, external_id=mid, recipient_id=USER, watermark=watermark)
        for mid in ("m_reply_1", "m_reply_2")
    ]


def test_parse_a_delivery_without_mids_is_a_watermark() -> None:
    body = edited("messenger", "delivery.json", lambda d: d["entry"][0]["messaging"][0]["delivery"].pop("mids"))
    watermark = at_ms(1763890400000)
    assert parse(body) == [StatusUpdate(status="delivered", at=watermark, recipient_id=USER, watermark=watermark)]


def test_parse_a_read_receipt_is_a_watermark_for_the_contact() -> None:
    [update] = parse(fixture("messenger", "read.json"))
    assert update == StatusUpdate(
        status="read", at=at_ms(1763890500123), recipient_id=USER, watermark=at_ms(1763890400000)
    )


def test_parse_an_edit() -> None:
    [edit] = parse(fixture("messenger", "edit.json"))
    assert edit == MessageEdit(
        external_id="m_AbCdEfGhIjKlMnOpQrStUvWxYz0123456789",
        sender_id=USER,
        text="Hello, my parcel is very late",
        edited_at=at_ms(1763890600123),
    )


def test_parse_attachments_without_text() -> None:
    [message] = parse(fixture("messenger", "attachments.json"))
    assert message.text == ""
    assert message.attachments == (
        Attachment(kind="image", url="https://scontent.xx.fbcdn.net/v/photo.jpg"),
        Attachment(kind="file", url="https://cdn.fbsbx.com/v/invoice.pdf"),
        Attachment(kind="sticker", url="https://scontent.xx.fbcdn.net/v/thumbs-up.png"),
    )


def test_parse_a_location_becomes_an_attachment_and_text() -> None:
    [message] = parse(fixture("messenger", "location.json"))
    assert message.text == "Location: Alexanderplatz (52.5219, 13.4132)"
    assert message.attachments == (Attachment(kind="location", url="geo:52.5219,13.4132"),)


def test_parse_a_link_the_platform_cannot_preview_becomes_text() -> None:
    attachment = {"type": "fallback", "title": "Tracking", "url": "https://track.example/42", "payload": None}
    body = edited(
        "messenger",
        "attachments.json",
        lambda d: d["entry"][0]["messaging"][0]["message"].update(attachments=[attachment]),
    )
    [message] = parse(body)
    assert (message.text, message.attachments) == ("Tracking https://track.example/42", ())


def test_parse_reactions_postbacks_and_unknown_events_are_ignored() -> None:
    events = parse(fixture("messenger", "reaction.json"))
    assert [(event.kind) for event in events] == ["reaction", "postback", "brand_new_event"]
    assert all(isinstance(event, Ignored) for event in events)


def test_parse_entries_of_another_page_are_ignored() -> None:
    assert parse(fixture("messenger", "text_message.json"), account_id=PAGE)[0].external_id.startswith("m_")
    [ignored] = parse(fixture("messenger", "text_message.json"), account_id="999")
    assert isinstance(ignored, Ignored) and ignored.kind == "other_account"


def test_parse_an_entry_without_messaging_is_ignored() -> None:
    body = json.dumps({"object": "page", "entry": [{"id": PAGE, "time": 1, "standby": []}]}).encode()
    [ignored] = parse(body)
    assert ignored == Ignored(kind="entry", detail="entry[0] has no messaging events (fields: standby)")


def test_parse_drops_nul_characters() -> None:
    body = edited(
        "messenger", "text_message.json", lambda d: d["entry"][0]["messaging"][0]["message"].update(text="hel\u0000lo")
    )
    assert parse(body)[0].text == "hello"


@pytest.mark.parametrize(
    ("name", "path", "value", "message"),
    [
        ("text_message.json", "message.mid", MISSING, r"missing field 'entry\[0\].messaging\[0\].message.mid'"),
        ("text_message.json", "message.mid", 42, r"'entry\[0\].messaging\[0\].message.mid' must be a string"),
        ("text_message.json", "message.mid", "x" * 256, "longer than 255"),
        ("text_message.json", "message.text", ["hi"], "message.text' must be a string"),
        ("text_message.json", "message.text", "x" * 100_001, "longer than 100000"),
        ("text_message.json", "message.text", "\ud800", "not valid Unicode"),
        ("text_message.json", "message", "hi", "message' must be an object"),
        ("text_message.json", "message.is_echo", "true", "is_echo' must be true or false"),
        ("text_message.json", "sender", MISSING, r"missing field 'entry\[0\].messaging\[0\].sender'"),
        ("text_message.json", "sender.id", None, "sender.id'"),
        ("text_message.json", "timestamp", MISSING, "missing field .*timestamp"),
        ("text_message.json", "timestamp", "soon", "must be a Unix time in milliseconds"),
        ("text_message.json", "timestamp", True, "must be a Unix time in milliseconds"),
        ("text_message.json", "timestamp", 1763890200, "must be between 2000 and 2100"),
        ("text_message.json", "timestamp", 10**400, "must be between 2000 and 2100"),
        ("text_message.json", "timestamp", 4102444800001, "must be between 2000 and 2100"),
        ("attachments.json", "message.attachments", {"type": "image"}, "attachments' must be an array"),
        ("attachments.json", "message.attachments.0", "image", r"attachments\[0\]' must be an object"),
        ("attachments.json", "message.attachments.0.type", MISSING, r"attachments\[0\].type'"),
        ("attachments.json", "message.attachments.0.payload", "url", "payload' must be an object"),
        ("attachments.json", "message.attachments.0.payload.url", MISSING, "payload.url'"),
        ("attachments.json", "message.attachments.0.payload.url", "u" * 4097, "longer than 4096"),
        ("location.json", "message.attachments.0.payload.coordinates.lat", 91, "between -90 and 90"),
        ("location.json", "message.attachments.0.payload.coordinates.long", "13.4", "between -180 and 180"),
        ("location.json", "message.attachments.0.payload.coordinates", MISSING, "coordinates'"),
        ("delivery.json", "delivery.watermark", MISSING, "delivery.watermark'"),
        ("delivery.json", "delivery.mids", "m_1", "mids' must be an array"),
        ("delivery.json", "delivery.mids.0", 7, r"mids\[0\]' must be a string"),
        ("read.json", "read", {}, "must have a watermark or a mid"),
        ("edit.json", "message_edit.text", MISSING, "message_edit.text'"),
        ("edit.json", "message_edit.mid", 5, "message_edit.mid' must be a string"),
    ],
)
def test_parse_names_what_is_wrong(name: str, path: str, value: Any, message: str) -> None:
    with pytest.raises(PayloadInvalid, match=message):
        parse(edited("messenger", name, h.in_messaging(path, value)))


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b'{"object": "instagram", "entry": []}', "must be 'page' for this channel, not 'instagram'"),
        (b'{"object": "page"}', "missing field 'entry'"),
        (b'{"object": "page", "entry": {}}', "field 'entry' must be an array"),
        (b'{"object": "page", "entry": [7]}', r"'entry\[0\]' must be an object"),
        (b'{"object": "page", "entry": [{"messaging": []}]}', r"missing field 'entry\[0\].id'"),
        (b'{"object": "page", "entry": [{"id": "1", "messaging": {}}]}', "messaging' must be an array"),
        (
            b'{"object": "page", "entry": [{"id": "1", "messaging": [null]}]}',
            r"missing field 'entry\[0\].messaging\[0\]'",
        ),
    ],
)
def test_parse_refuses_malformed_envelopes(body: bytes, message: str) -> None:
    with pytest.raises(PayloadInvalid, match=message):
        parse(body)


def test_parse_an_empty_entry_list_has_no_events() -> None:
    assert parse(b'{"object": "page", "entry": []}') == []


# Sending


def test_send_reply_without_an_access_token_is_not_attempted() -> None:
    credentials = h.credentials(access_token="", base_url="http://127.0.0.1:9")
    assert_final(lambda: messenger.send_reply(credentials=credentials, reply=h.reply(), timeout=5), "no access token")


def test_send_reply_defaults_to_metas_graph_api() -> None:
    assert meta.graph_url(h.credentials(), "me/messages") == "https://graph.facebook.com/v21.0/me/messages"
