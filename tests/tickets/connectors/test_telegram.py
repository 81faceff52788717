"""The Telegram connector: the secret-token check, every kind of update, and sendMessage against a real local server."""

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from tests.fake_platform import Answer, FakePlatform
from tests.tickets.connectors import helpers as h
from tickets.connectors import telegram
from tickets.connectors.base import (
    Attachment,
    Credentials,
    HandshakeFailed,
    Ignored,
    InboundMessage,
    MessageEdit,
    PayloadInvalid,
    SignatureInvalid,
    base_url,
)

REFERENCE = h.reference("telegram")
SECRET = "s3cr3t-token_for-webhook"
CREDENTIALS = Credentials(secret=SECRET, access_token="123456:ABC-DEF1234ghIkl-zyx57W2v1u123ew11")
CONTACT = "5550001"


def _parse(body: bytes) -> list[Any]:
    return telegram.parse(credentials=CREDENTIALS, delivery=h.delivery(body))


def _fixture(name: str) -> list[Any]:
    return _parse(h.fixture("telegram", name))


def _update(message: dict[str, Any], key: str = "message") -> bytes:
    base = {"message_id": 5, "chat": {"id": 42, "type": "private", "first_name": "Ada"}, "date": 1763890200}
    return json.dumps({"update_id": 1, key: {**base, **message}}).encode()


# --- handshake and verification -------------------------------------------------------------------------------


def test_there_is_no_handshake() -> None:
    with pytest.raises(HandshakeFailed, match="setWebhook"):
        telegram.handshake(credentials=CREDENTIALS, delivery=h.delivery(method="GET"))


def test_the_secret_token_header_verifies_a_delivery_in_any_case() -> None:
    telegram.verify(credentials=CREDENTIALS, delivery=h.delivery(b"{}", {"X-Telegram-Bot-Api-Secret-Token": SECRET}))
    telegram.verify(credentials=CREDENTIALS, delivery=h.delivery(b"{}", {"x-telegram-bot-api-secret-token": SECRET}))


@pytest.mark.parametrize(
    ("headers", "message"),
    [
        ({}, "missing"),
        ({"X-Telegram-Bot-Api-Secret-Token": SECRET + "x"}, "not this account's"),
        ({"X-Telegram-Bot-Api-Secret-Token": SECRET[:-1]}, "not this account's"),
        ({"X-Telegram-Bot-Api-Secret-Token": "ünïcode"}, "not this account's"),
    ],
)
def test_a_wrong_or_missing_secret_token_is_refused(headers: dict[str, str], message: str) -> None:
    with pytest.raises(SignatureInvalid, match=message):
        telegram.verify(credentials=CREDENTIALS, delivery=h.delivery(b"{}", headers))


def test_an_account_without_a_secret_refuses_every_delivery() -> None:
    unsigned = h.delivery(b"{}", {"X-Telegram-Bot-Api-Secret-Token": ""})
    with pytest.raises(SignatureInvalid, match="no secret"):
        telegram.verify(credentials=Credentials(secret=""), delivery=unsigned)


# --- parsing ----------------------------------------------------------------------------------------------------


def test_a_text_message() -> None:
    assert _fixture("text_message.json") == [
        InboundMessage(
            external_id="5550001:1365",
            sender_id="5550001",
            sender_name="Ada Lovelace",
            text="My order has not arrived",
            sent_at=h.AT_0930,
        )
    ]


def test_a_photo_is_its_largest_size_with_the_caption_as_text() -> None:
    [message] = _fixture("photo_message.json")
    assert message.text == "The parcel, damaged"
    assert message.attachments == (Attachment(kind="image", media_id="AgACAgQAAxkBAAIBlarge"),)
    assert message.sender_name == "Ada"


def test_a_document_keeps_its_name_and_type() -> None:
    [message] = _fixture("document_message.json")
    assert message.text == ""
    assert message.attachments == (
        Attachment(kind="file", media_id="BQACAgQAAxkBAAIBdoc", mime_type="application/pdf", name="invoice-2291.pdf"),
    )


@pytest.mark.parametrize(
    ("field", "kind"),
    [("video", "video"), ("voice", "audio"), ("audio", "audio"), ("sticker", "sticker"), ("video_note", "video")],
)
def test_other_media_become_attachments(field: str, kind: str) -> None:
    [message] = _parse(_update({field: {"file_id": "F1", "mime_type": "x/y"}, "caption": "see"}))
    assert message.attachments == (Attachment(kind=kind, media_id="F1", mime_type="x/y"),)
    assert message.text == "see"


def test_an_animation_is_a_video_not_its_backward_compatible_document() -> None:
    media = {"file_id": "ANIM", "mime_type": "video/mp4"}
    [message] = _parse(_update({"animation": media, "document": media}))
    assert message.attachments == (Attachment(kind="video", media_id="ANIM", mime_type="video/mp4"),)


def test_a_venue_is_a_location_with_its_name() -> None:
    [message] = _fixture("venue_message.json")
    assert message.text == "Location: Buckingham Palace, London SW1A 1AA (51.501364, -0.14189)"
    assert message.attachments == (
        Attachment(kind="location", url="geo:51.501364,-0.14189", name="Buckingham Palace, London SW1A 1AA"),
    )


def test_a_bare_location() -> None:
    [message] = _parse(_update({"location": {"latitude": -33.8568, "longitude": 151.2153}}))
    assert message.text == "Location: (-33.8568, 151.2153)"
    assert message.attachments[0].url == "geo:-33.8568,151.2153"


def test_an_edit_has_the_same_id_as_the_message() -> None:
    [original] = _fixture("text_message.json")
    assert _fixture("edited_message.json") == [
        MessageEdit(
            external_id=original.external_id,
            sender_id="5550001",
            text="My order #2291 has not arrived",
            edited_at=datetime(2025, 11, 23, 9, 35, tzinfo=UTC),
        )
    ]


def test_a_moving_live_location_is_ignored() -> None:
    assert _fixture("live_location_edit.json") == [
        Ignored(kind="edited_message", detail="an edit without text or caption")
    ]


def test_a_group_message_comes_from_the_group() -> None:
    [message] = _fixture("group_message.json")
    assert (message.sender_id, message.sender_name) == ("-1001234567890", "Acme customers")
    assert message.external_id == "-1001234567890:77"


def test_a_name_falls_back_to_the_username() -> None:
    [message] = _parse(_update({"from": {"id": 42, "username": "ada_l"}, "text": "hi"}))
    assert message.sender_name == "ada_l"


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("callback_query.json", "callback_query"),
        ("my_chat_member.json", "my_chat_member"),
        ("channel_post.json", "channel_post"),
        ("contact_message.json", "message"),
    ],
)
def test_updates_the_helpdesk_does_not_handle_are_ignored(name: str, kind: str) -> None:
    [event] = _fixture(name)
    assert isinstance(event, Ignored)
    assert event.kind == kind


def test_an_update_with_nothing_but_its_id_is_ignored() -> None:
    assert _parse(b'{"update_id": 3}') == [
        Ignored(kind="update", detail="a kind of update the helpdesk does not handle")
    ]


def test_nul_characters_are_dropped() -> None:
    [message] = _parse(_update({"text": "a\x00b"}))
    assert message.text == "ab"


@pytest.mark.skipif(not REFERENCE.is_dir(), reason=h.NO_REFERENCE)
def test_the_reference_photo_delivery() -> None:
    [message] = _parse((REFERENCE / "e_photo_message_courier.json").read_bytes())
    assert message == InboundMessage(
        external_id="3527065:85",
        sender_id="3527065",
        sender_name="Nic Pottier",
        text="Photo Caption",
        sent_at=datetime(2017, 5, 3, 20, 28, 38, tzinfo=UTC),
        attachments=(Attachment(kind="image", media_id="AgADAQADtKcxG4LRUUQSQVUjfJIiiF8G6C8ABA9NJzFdXskaincBAAEC"),),
    )


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"not json", "not valid JSON"),
        (b"\xff\xfe", "not valid JSON"),
        (b"[1]", "must be a JSON object"),
        (b"[" * 100_000, "cannot read|not valid JSON"),
        (b'{"message": {}}', "missing field 'update_id'"),
        (b'{"update_id": true}', "'update_id' must be a string or an integer"),
        (b'{"update_id": 1, "message": "hi"}', "'message' must be an object"),
        (b'{"update_id": 1, "message": {"message_id": 1, "date": 1763890200, "text": "x"}}', "'message.chat'"),
        (_update({"chat": {"type": "private"}, "text": "x"}), "'message.chat.id'"),
        (_update({"message_id": None, "text": "x"}), "'message.message_id'"),
        (_update({"message_id": 1.5, "text": "x"}), "'message.message_id' must be a string or an integer"),
        (_update({"date": "yesterday", "text": "x"}), "'message.date' must be a Unix time in seconds"),
        (_update({"date": 10**30, "text": "x"}), "between 2000 and 2100"),
        (_update({"date": 5, "text": "x"}), "between 2000 and 2100"),
        (_update({"text": 12}), "'message.text' must be a string"),
        (_update({"text": "\ud800"}), "not valid Unicode"),
        (_update({"text": "x" * 100_001}), "longer than 100000"),
        (_update({"photo": []}), "'message.photo' must be a non-empty list"),
        (_update({"photo": ["a"]}), r"'message.photo\[0\]' must be an object"),
        (_update({"photo": [{"width": 3}]}), r"missing field 'message.photo\[0\].file_id'"),
        (_update({"document": {"file_id": 5}}), "'message.document.file_id' must be a string"),
        (_update({"location": {"latitude": 91, "longitude": 0}}), "'message.location.latitude' must be a number"),
        (_update({"location": {"latitude": 1e400, "longitude": 0}}), "'message.location.latitude'"),
        (_update({"location": {"latitude": True, "longitude": 0}}), "'message.location.latitude'"),
        (_update({"location": {"latitude": 1}}), "missing field 'message.location.longitude'"),
        (_update({"from": "Ada", "text": "x"}), "'message.from' must be an object"),
        (_update({"from": {"id": 1, "first_name": 3}, "text": "x"}), "'message.from.first_name' must be a string"),
        (_update({"text": 1}, key="edited_message"), "'edited_message.text' must be a string"),
        (_update({"text": "x", "edit_date": "now"}, key="edited_message"), "'edited_message.edit_date'"),
    ],
)
def test_malformed_updates_are_refused_saying_what_is_wrong(body: bytes, message: str) -> None:
    with pytest.raises(PayloadInvalid, match=message):
        _parse(body)


# --- sending ----------------------------------------------------------------------------------------------------


def _send(platform: FakePlatform, **changes: str) -> Any:
    return telegram.send_reply(credentials=h.on(platform, CREDENTIALS, **changes), reply=h.reply(CONTACT), timeout=5)


def test_a_reply_is_sent_with_send_message(platform_api: FakePlatform) -> None:
    platform_api.answer(
        "/bot", {"ok": True, "result": {"message_id": 1400, "chat": {"id": 5550001}, "text": "On its way!"}}
    )
    result = _send(platform_api)
    assert result.external_id == "5550001:1400"
    [request] = platform_api.requests
    assert (request.method, request.path) == ("POST", f"/bot{CREDENTIALS.access_token}/sendMessage")
    assert request.headers["Content-Type"] == "application/json"
    assert request.json() == {"chat_id": "5550001", "text": "On its way!"}


def test_a_reply_without_the_chat_in_the_answer_uses_the_recipient(platform_api: FakePlatform) -> None:
    platform_api.answer("/bot", {"ok": True, "result": {"message_id": 9}})
    assert _send(platform_api).external_id == "5550001:9"


@pytest.mark.parametrize("answer", [{"ok": True}, {"ok": True, "result": True}, {}, Answer(body=b"")])
def test_a_success_without_a_message_id_still_counts_as_sent(platform_api: FakePlatform, answer: Any) -> None:
    platform_api.answer("/bot", answer)
    assert _send(platform_api).external_id is None


def test_a_refusal_carries_telegrams_description(platform_api: FakePlatform) -> None:
    body = {"ok": False, "error_code": 403, "description": "Forbidden: bot was blocked by the user"}
    answer = Answer(status=403, body=json.dumps(body).encode())
    failure = h.assert_refused(platform_api, "/bot", answer, lambda: _send(platform_api), retryable=False)
    assert failure.message == "the platform answered HTTP 403: Forbidden: bot was blocked by the user"


def test_ok_false_in_a_200_is_a_refusal(platform_api: FakePlatform) -> None:
    platform_api.answer("/bot", {"ok": False, "description": "Bad Request: chat not found"})
    h.assert_final(lambda: _send(platform_api), "chat not found")


@pytest.mark.parametrize(("status", "retryable"), [(400, False), (429, True), (500, True), (502, True)])
def test_http_errors_say_whether_a_retry_may_help(platform_api: FakePlatform, status: int, retryable: bool) -> None:
    body = {"ok": False, "error_code": status, "description": "Too Many Requests: retry after 5"}
    answer = Answer(status=status, body=json.dumps(body).encode())
    h.assert_refused(
        platform_api, "/bot", answer, lambda: _send(platform_api), retryable=retryable, saying=f"HTTP {status}"
    )


def test_a_non_json_error_keeps_the_raw_answer(platform_api: FakePlatform) -> None:
    answer = Answer(status=500, body=b"<html>oops</html>", content_type="text/html")
    h.assert_refused(platform_api, "/bot", answer, lambda: _send(platform_api), retryable=True, saying="oops")


def test_a_token_cannot_redirect_the_call(platform_api: FakePlatform) -> None:
    platform_api.answer("/bot", {"ok": True, "result": {"message_id": 1}})
    _send(platform_api, access_token="1:abc/../../evil?x=")
    assert platform_api.requests[0].path == "/bot1:abc%2F..%2F..%2Fevil%3Fx%3D/sendMessage"


def test_an_account_without_a_bot_token_cannot_send(platform_api: FakePlatform) -> None:
    h.assert_not_sent(platform_api, lambda: _send(platform_api, access_token=""), "no bot token")


def test_the_default_base_url_is_telegrams() -> None:
    assert base_url(Credentials(secret=""), telegram.DEFAULT_BASE_URL) == "https://api.telegram.org"
    assert base_url(Credentials(secret="", base_url="http://h:1/"), telegram.DEFAULT_BASE_URL) == "http://h:1"
