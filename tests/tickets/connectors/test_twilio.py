"""The Twilio connector: the published signature vector, messages and status callbacks, and the Messages API against
a real local server."""

import base64
import json
import urllib.parse
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.fake_platform import Answer, FakePlatform
from tests.tickets.connectors import helpers as h
from tickets.connectors import twilio
from tickets.connectors.base import (
    Attachment,
    Credentials,
    Delivery,
    HandshakeFailed,
    Ignored,
    InboundMessage,
    PayloadInvalid,
    SignatureInvalid,
    StatusUpdate,
)

REFERENCE = h.reference("twilio")
AUTH_TOKEN = "f1e2d3c4b5a69788796a5b4c3d2e1f00"
ACCOUNT = "ACa1b2c3d4e5f60718293a4b5c6d7e8f90"
CREDENTIALS = Credentials(secret=AUTH_TOKEN, account_id=ACCOUNT, sender_address="+14155550100")
URL = "https://helpdesk.example/hooks/twilio/3?channel=sms"
FORM = {"Content-Type": "application/x-www-form-urlencoded"}
DATE = "Sun, 23 Nov 2025 09:30:00 GMT"
CONTACT = "+14155550123"


def _delivery(body: bytes, headers: dict[str, str] | None = None, url: str = URL) -> Delivery:
    """A form POST as Twilio makes it: dated, unless `headers` say otherwise."""
    return h.delivery(body, {**FORM, "Date": DATE} if headers is None else headers, url=url)


def _parse(body: bytes, headers: dict[str, str] | None = None) -> list[Any]:
    return twilio.parse(credentials=CREDENTIALS, delivery=_delivery(body, headers))


def _fixture(name: str) -> list[Any]:
    return _parse(h.fixture("twilio", name))


def _form(**fields: str) -> bytes:
    base = {"MessageSid": "SM1", "From": "+14155550123", "To": "+14155550100", "SmsStatus": "received", "Body": "hi"}
    return urllib.parse.urlencode({**base, **fields}).encode()


def _signed(body: bytes, url: str = URL) -> Delivery:
    signature = twilio.sign(AUTH_TOKEN, url, urllib.parse.parse_qsl(body.decode(), keep_blank_values=True))
    return _delivery(body, {**FORM, "X-Twilio-Signature": signature}, url=url)


# --- handshake and verification -------------------------------------------------------------------------------


def test_there_is_no_handshake() -> None:
    with pytest.raises(HandshakeFailed, match="no handshake"):
        twilio.handshake(credentials=CREDENTIALS, delivery=h.delivery(method="GET", url=URL))


def test_the_published_signature_vector() -> None:
    url = "https://mycompany.com/myapp.php?foo=1&bar=2"
    fields = {"CallSid": "CA1234567890ABCDE", "Caller": "+14158675309", "Digits": "1234", "From": "+14158675309"}
    body = urllib.parse.urlencode({**fields, "To": "+18005551212"}).encode()
    assert twilio.sign("12345", url, urllib.parse.parse_qsl(body.decode())) == "RSOYDt4T1cUTdK1PDd93/VVr8B8="
    signed = _delivery(body, {**FORM, "x-twilio-signature": "RSOYDt4T1cUTdK1PDd93/VVr8B8="}, url=url)
    twilio.verify(credentials=Credentials(secret="12345"), delivery=signed)


def test_a_signed_fixture_verifies() -> None:
    twilio.verify(credentials=CREDENTIALS, delivery=_signed(h.fixture("twilio", "mms_media.txt")))


def test_a_signature_for_another_url_is_refused() -> None:
    good = _signed(_form())
    moved = Delivery(
        good.method, "https://helpdesk.example/hooks/twilio/3?channel=whatsapp", {}, good.headers, good.body
    )
    with pytest.raises(SignatureInvalid, match="does not match"):
        twilio.verify(credentials=CREDENTIALS, delivery=moved)


def test_a_changed_form_is_refused() -> None:
    good = _signed(_form())
    changed = Delivery(good.method, good.url, {}, good.headers, _form(Body="give me a refund"))
    with pytest.raises(SignatureInvalid, match="does not match"):
        twilio.verify(credentials=CREDENTIALS, delivery=changed)


def test_a_missing_signature_or_auth_token_is_refused() -> None:
    with pytest.raises(SignatureInvalid, match="missing X-Twilio-Signature"):
        twilio.verify(credentials=CREDENTIALS, delivery=_delivery(_form()))
    with pytest.raises(SignatureInvalid, match="no auth token"):
        twilio.verify(credentials=Credentials(secret=""), delivery=_signed(_form()))


def test_verifying_a_body_that_is_not_a_form_says_so() -> None:
    with pytest.raises(PayloadInvalid, match="not UTF-8"):
        twilio.verify(credentials=CREDENTIALS, delivery=_delivery(b"\xff", {**FORM, "X-Twilio-Signature": "x"}))


# --- parsing ----------------------------------------------------------------------------------------------------


def test_an_sms() -> None:
    assert _fixture("sms_text.txt") == [
        InboundMessage(
            external_id="SM1f0e1d2c3b4a59687766554433221100",
            sender_id="+14155550123",
            sender_name="",
            text="My order has not arrived 📦",
            sent_at=h.AT_0930,
        )
    ]


def test_a_whatsapp_message_keeps_the_channel_prefix_and_profile_name() -> None:
    [message] = _fixture("whatsapp_text.txt")
    assert (message.sender_id, message.sender_name, message.text) == (
        "whatsapp:+14155550123",
        "Ada Lovelace",
        "Hello from WhatsApp",
    )


def test_media_become_attachments() -> None:
    [message] = _fixture("mms_media.txt")
    media = f"https://api.twilio.com/2010-04-01/Accounts/{ACCOUNT}/Messages/MM3b0e1d2c3b4a59687766554433221100/Media"
    assert message.text == "Photo and receipt"
    assert message.attachments == (
        Attachment(kind="image", url=f"{media}/ME0a0e1d2c3b4a59687766554433221100", mime_type="image/jpeg"),
        Attachment(kind="file", url=f"{media}/ME1a0e1d2c3b4a59687766554433221100", mime_type="application/pdf"),
    )


@pytest.mark.parametrize(
    ("content_type", "kind"), [("video/mp4", "video"), ("audio/ogg", "audio"), ("text/vcard", "file"), ("", "image")]
)
def test_a_media_kind_comes_from_its_type_or_its_url(content_type: str, kind: str) -> None:
    [message] = _parse(
        _form(Body="", NumMedia="1", MediaUrl0="https://m.example/a.jpg", MediaContentType0=content_type)
    )
    assert message.attachments[0].kind == kind


def test_a_whatsapp_location() -> None:
    [message] = _fixture("whatsapp_location.txt")
    assert message.text == "Location: Buckingham Palace, London SW1A 1AA (51.501364, -0.14189)"
    assert message.attachments == (
        Attachment(kind="location", url="geo:51.501364,-0.14189", name="Buckingham Palace, London SW1A 1AA"),
    )


def test_a_whatsapp_button_reply_is_its_label() -> None:
    [message] = _fixture("whatsapp_button.txt")
    assert message.text == "Yes, solved"
    [message] = _parse(_form(Body="payload body", ButtonText="Confirm"))
    assert message.text == "Confirm"


def test_a_message_with_neither_text_nor_media_is_ignored() -> None:
    assert _parse(_form(Body="")) == [Ignored(kind="message", detail="a message with neither text nor media")]


def test_a_base64_looking_body_is_kept_as_written() -> None:
    [message] = _parse(_form(Body="QmFubm9uIEV4cGxhaW5z"))
    assert message.text == "QmFubm9uIEV4cGxhaW5z"


@pytest.mark.parametrize(
    ("name", "status", "error"),
    [
        ("status_delivered.txt", "delivered", ""),
        ("status_read.txt", "read", ""),
        ("status_undelivered.txt", "failed", "Twilio error 30003: Unreachable destination handset"),
    ],
)
def test_status_callbacks(name: str, status: str, error: str) -> None:
    [update] = _fixture(name)
    assert update == StatusUpdate(status=status, at=h.AT_0930, external_id=update.external_id, error=error)
    assert update.external_id.startswith("SM")


def test_a_failure_with_only_a_code() -> None:
    body = b"MessageSid=SM9&MessageStatus=failed&ErrorCode=21610"
    assert _parse(body) == [StatusUpdate(status="failed", at=h.AT_0930, external_id="SM9", error="Twilio error 21610")]


@pytest.mark.parametrize(
    ("name", "detail"),
    [("status_queued.txt", "a queued status"), ("status_unknown.txt", "an unknown status: teleported")],
)
def test_statuses_before_sent_and_unknown_ones_are_ignored(name: str, detail: str) -> None:
    assert _fixture(name) == [Ignored(kind="status", detail=detail)]


@pytest.mark.parametrize("date", [None, "", "not a date", "Sun, 23 Nov 1925 09:30:00 GMT", "Sun, 23 Nov 2025 09:30:00"])
def test_without_a_usable_date_header_the_arrival_is_now(date: str | None) -> None:
    headers = FORM if date is None else {**FORM, "Date": date}
    before = datetime.now(UTC)
    [message] = _parse(_form(), headers)
    assert before <= message.sent_at <= datetime.now(UTC)


def test_a_date_header_in_another_zone_is_converted_to_utc() -> None:
    [message] = _parse(_form(), {**FORM, "Date": "Sun, 23 Nov 2025 10:30:00 +0100"})
    assert message.sent_at == h.AT_0930
    assert message.sent_at.utcoffset() == timedelta(0)


def test_a_body_without_a_content_type_is_read_as_a_form() -> None:
    [message] = _parse(_form(), {})
    assert message.text == "hi"


@pytest.mark.skipif(not REFERENCE.is_dir(), reason=h.NO_REFERENCE)
@pytest.mark.parametrize("name", [path.name for path in h.reference_files("twilio", "*.txt")])
def test_every_reference_delivery_parses(name: str) -> None:
    [event] = _parse((REFERENCE / name).read_bytes())
    expected = {"a": InboundMessage, "d": StatusUpdate, "e": InboundMessage}.get(name[0])
    if expected is not None:
        assert isinstance(event, expected)
    if name == "g_whatsapp_button_text_courier.txt":
        assert event.text == "Confirm"
    if name == "g_unknown_status_value_courier.txt":
        assert isinstance(event, Ignored)
    if name == "e_media_two_urls_courier.txt":
        assert [attachment.url for attachment in event.attachments] == ["cat.jpg", "dog.jpg"]


@pytest.mark.parametrize(
    ("body", "headers", "message"),
    [
        (b'{"MessageSid": "SM1"}', {"Content-Type": "application/json"}, "must be application/x-www-form-urlencoded"),
        (b'{"MessageSid": "SM1"}', FORM, "not a urlencoded form"),
        (b"a=1&&b=2", FORM, "not a urlencoded form"),
        (b"\xc3\x28=1", FORM, "not UTF-8"),
        (b"Body=%ff", FORM, "not UTF-8"),
        (b"&".join([b"f%d=1" % n for n in range(600)]), FORM, "not a urlencoded form"),
        (b"", FORM, "missing field 'MessageSid'"),
        (_form(MessageSid=""), FORM, "'MessageSid' must not be empty"),
        (_form(From=""), FORM, "'From' must not be empty"),
        (_form() + b"&Body=again", FORM, "'Body' appears more than once"),
        (_form(Body="x" * 100_001), FORM, "longer than 100000"),
        (_form(NumMedia="two"), FORM, "'NumMedia' must be a whole number"),
        (_form(NumMedia="²"), FORM, "'NumMedia' must be a whole number"),
        (_form(NumMedia="11"), FORM, "'NumMedia' must be a whole number from 0 to 10"),
        (_form(NumMedia="1"), FORM, "missing field 'MediaUrl0'"),
        (_form(Latitude="north", Longitude="1"), FORM, "'Latitude' must be a number"),
        (_form(Latitude="nan", Longitude="1"), FORM, "'Latitude' must be a number"),
        (_form(Latitude="1"), FORM, "missing field 'Longitude'"),
        (b"MessageStatus=delivered", FORM, "missing field 'MessageSid'"),
    ],
)
def test_malformed_deliveries_are_refused_saying_what_is_wrong(
    body: bytes, headers: dict[str, str], message: str
) -> None:
    with pytest.raises(PayloadInvalid, match=message):
        _parse(body, headers)


# --- sending ----------------------------------------------------------------------------------------------------

MESSAGES = f"/2010-04-01/Accounts/{ACCOUNT}/Messages.json"


def _send(platform: FakePlatform, recipient_id: str = CONTACT, **changes: str) -> Any:
    return twilio.send_reply(credentials=h.on(platform, CREDENTIALS, **changes), reply=h.reply(recipient_id), timeout=5)


def test_a_reply_is_created_with_the_messages_api(platform_api: FakePlatform) -> None:
    platform_api.answer(
        MESSAGES, Answer(status=201, body=b'{"sid": "SM7e0e1d2c3b4a59687766554433221100", "status": "queued"}')
    )
    assert _send(platform_api, access_token="api-auth-token").external_id == "SM7e0e1d2c3b4a59687766554433221100"
    [request] = platform_api.requests
    assert (request.method, request.path) == ("POST", MESSAGES)
    assert (
        request.headers["Authorization"] == "Basic " + base64.b64encode(f"{ACCOUNT}:api-auth-token".encode()).decode()
    )
    assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert request.form() == {"To": ["+14155550123"], "From": ["+14155550100"], "Body": ["On its way!"]}


def test_the_auth_token_signs_in_when_no_access_token_is_set(platform_api: FakePlatform) -> None:
    platform_api.answer(MESSAGES, {"sid": "SM1"})
    _send(platform_api)
    expected = base64.b64encode(f"{ACCOUNT}:{AUTH_TOKEN}".encode()).decode()
    assert platform_api.requests[0].headers["Authorization"] == f"Basic {expected}"


def test_a_messaging_service_sends_in_place_of_a_number(platform_api: FakePlatform) -> None:
    platform_api.answer(MESSAGES, {"sid": "SM1"})
    _send(platform_api, sender_address="MGdb23ec0f89ee2632e46e91d8128f5e2b")
    form = platform_api.requests[0].form()
    assert form["MessagingServiceSid"] == ["MGdb23ec0f89ee2632e46e91d8128f5e2b"]
    assert "From" not in form


@pytest.mark.parametrize("sender", ["+14155238886", "whatsapp:+14155238886"])
def test_a_whatsapp_contact_is_answered_from_the_whatsapp_sender(platform_api: FakePlatform, sender: str) -> None:
    platform_api.answer(MESSAGES, {"sid": "SM1"})
    _send(platform_api, "whatsapp:+14155550123", sender_address=sender)
    form = platform_api.requests[0].form()
    assert (form["To"], form["From"]) == (["whatsapp:+14155550123"], ["whatsapp:+14155238886"])


def test_a_success_without_a_sid_still_counts_as_sent(platform_api: FakePlatform) -> None:
    platform_api.answer(MESSAGES, Answer(status=201, body=b"<Response/>", content_type="text/xml"))
    assert _send(platform_api).external_id is None


def test_a_refusal_carries_twilios_explanation(platform_api: FakePlatform) -> None:
    body = {"code": 21211, "message": "The 'To' number +1415 is not a valid phone number.", "status": 400}
    answer = Answer(status=400, body=json.dumps(body).encode())
    failure = h.assert_refused(platform_api, MESSAGES, answer, lambda: _send(platform_api), retryable=False)
    assert failure.message == (
        "the platform answered HTTP 400: The 'To' number +1415 is not a valid phone number. (Twilio error 21211)"
    )


@pytest.mark.parametrize(("status", "retryable"), [(400, False), (401, False), (429, True), (500, True), (503, True)])
def test_http_errors_say_whether_a_retry_may_help(platform_api: FakePlatform, status: int, retryable: bool) -> None:
    answer = Answer(status=status, body=b'{"code": 20500, "message": "Internal Server Error"}')
    h.assert_refused(
        platform_api, MESSAGES, answer, lambda: _send(platform_api), retryable=retryable, saying="Internal Server Error"
    )


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"account_id": ""}, "account SID and auth token"),
        ({"secret": "", "access_token": ""}, "account SID and auth token"),
        ({"sender_address": ""}, "no sender number"),
    ],
)
def test_an_incomplete_account_cannot_send(platform_api: FakePlatform, changes: dict[str, str], message: str) -> None:
    h.assert_not_sent(platform_api, lambda: _send(platform_api, **changes), message)


def test_an_accepted_delivery_is_answered_with_empty_twiml() -> None:
    assert twilio.ANSWER == ('<?xml version="1.0" encoding="UTF-8"?><Response></Response>', "text/xml")
