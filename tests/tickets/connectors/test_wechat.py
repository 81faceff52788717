"""The WeChat Official Account connector on its own: handshake, signatures, parsing and sending (safe mode is
tested in test_wechat_safe_mode.py)."""

import pytest

from tests.fake_platform import Answer, FakePlatform
from tests.tickets.connectors import helpers as h
from tickets.connectors import wechat
from tickets.connectors.base import (
    Attachment,
    Credentials,
    Event,
    HandshakeFailed,
    Ignored,
    InboundMessage,
    PayloadInvalid,
    SignatureInvalid,
)

REFERENCE = h.reference("wechat")
# WeChat's published vector: token "test", timestamp 1410685589, nonce "test".
VECTOR = {"signature": "f21891de399b4e33a1a93c9a7b8a8fffb5a443ff", "timestamp": "1410685589", "nonce": "test"}
WRONG_VECTOR = {**VECTOR, "signature": "f21891de399b4e33a1a93c9a7b8a8fffb5a443fe"}
CREDENTIALS = Credentials(secret="test", access_token="wechat-access-token")
SENDER = "oBx2Ut7QyZ4d1vE-kXq0LmN3pR8s"
APP_ID = "wx5823bf96d3bd56c7"
TEXT = "你好，我的订单还没到 <order #1234> & more"  # noqa: RUF001 - Chinese punctuation, as in text.xml


def parse(body: bytes, credentials: Credentials = CREDENTIALS) -> list[Event]:
    return wechat.parse(credentials=credentials, delivery=h.delivery(body, query=VECTOR))


def message(body: bytes, credentials: Credentials = CREDENTIALS) -> InboundMessage:
    [event] = parse(body, credentials)
    assert isinstance(event, InboundMessage)
    return event


# Handshake and plain-mode signatures


def test_signature_matches_the_published_vector() -> None:
    assert wechat.signature("test", "1410685589", "test") == VECTOR["signature"]


def test_handshake_answers_echostr_as_plain_text() -> None:
    query = {**VECTOR, "echostr": "5837397520665436492"}
    answer = wechat.handshake(credentials=CREDENTIALS, delivery=h.delivery(method="GET", query=query))
    assert (answer.body, answer.content_type) == ("5837397520665436492", "text/plain")


def test_handshake_with_a_wrong_signature_fails() -> None:
    query = {**WRONG_VECTOR, "echostr": "5837397520665436492"}
    with pytest.raises(HandshakeFailed, match="signature does not match"):
        wechat.handshake(credentials=CREDENTIALS, delivery=h.delivery(method="GET", query=query))


def test_handshake_with_another_token_fails() -> None:
    query = {**VECTOR, "echostr": "1"}
    with pytest.raises(HandshakeFailed, match="signature does not match"):
        wechat.handshake(credentials=Credentials(secret="other"), delivery=h.delivery(method="GET", query=query))


@pytest.mark.parametrize("missing", ["signature", "timestamp", "nonce", "echostr"])
def test_handshake_needs_every_query_parameter(missing: str) -> None:
    query = {key: value for key, value in {**VECTOR, "echostr": "1"}.items() if key != missing}
    with pytest.raises(HandshakeFailed, match=f"needs the query parameters {missing}"):
        wechat.handshake(credentials=CREDENTIALS, delivery=h.delivery(method="GET", query=query))


def test_handshake_without_a_token_fails() -> None:
    with pytest.raises(HandshakeFailed, match="no WeChat token"):
        wechat.handshake(credentials=Credentials(secret=""), delivery=h.delivery(query={**VECTOR, "echostr": "1"}))


def test_verify_accepts_the_published_vector() -> None:
    wechat.verify(credentials=CREDENTIALS, delivery=h.delivery(h.fixture("wechat", "text.xml"), query=VECTOR))


def test_verify_accepts_an_uppercase_signature() -> None:
    query = {**VECTOR, "signature": VECTOR["signature"].upper()}
    wechat.verify(credentials=CREDENTIALS, delivery=h.delivery(b"", query=query))


@pytest.mark.parametrize(
    ("query", "credentials", "message"),
    [
        (WRONG_VECTOR, CREDENTIALS, "signature does not match"),
        (VECTOR, Credentials(secret="other"), "signature does not match"),
        ({**VECTOR, "timestamp": "1410685590"}, CREDENTIALS, "signature does not match"),
        ({"timestamp": "1410685589", "nonce": "test"}, CREDENTIALS, "missing signature query parameter"),
        ({"signature": VECTOR["signature"], "nonce": "test"}, CREDENTIALS, "missing timestamp or nonce"),
        ({}, CREDENTIALS, "missing timestamp or nonce"),
        (VECTOR, Credentials(secret=""), "no WeChat token"),
    ],
)
def test_verify_refuses_wrong_or_missing_signatures(
    query: dict[str, str], credentials: Credentials, message: str
) -> None:
    with pytest.raises(SignatureInvalid, match=message):
        wechat.verify(credentials=credentials, delivery=h.delivery(h.fixture("wechat", "text.xml"), query=query))


# Parsing


def test_parse_a_text_message() -> None:
    assert parse(h.fixture("wechat", "text.xml")) == [
        InboundMessage(
            external_id="24318755092873423",
            sender_id=SENDER,
            sender_name="",
            text=TEXT,
            sent_at=h.at(1763890200),
        )
    ]


def test_parse_an_image_keeps_its_url_and_media_id() -> None:
    image = message(h.fixture("wechat", "image.xml"))
    assert image.text == ""
    assert image.attachments == (
        Attachment(
            kind="image",
            url="http://mmbiz.qpic.cn/mmbiz_jpg/aB3dE5fG7hJ9kL1mN3pQ5rS7tU9vW1xY/0",
            media_id="Vt2b8Qe-0nS1sKd4_Jm7yHw3ZpXc6LrA9fGuTqE5oIbN",
        ),
    )


def test_parse_a_voice_message_uses_its_recognition_as_text() -> None:
    voice = message(h.fixture("wechat", "voice.xml"))
    assert voice.text == "我的包裹坏了"
    assert voice.attachments == (
        Attachment(kind="audio", media_id="Hk9-pL2mQw4eRt6yUi8oPa1sDf3gHj5kLz7xCv9bNm0", mime_type="audio/amr"),
    )


def test_parse_a_short_video() -> None:
    video = message(h.fixture("wechat", "shortvideo.xml"))
    assert video.attachments == (Attachment(kind="video", media_id="Qz1-wX3eC5rV7tB9yN1uM3iK5oL7pA9sD1fG3hJ5kL7"),)


def test_parse_a_location_is_a_geo_attachment_with_a_readable_text() -> None:
    location = message(h.fixture("wechat", "location.xml"))
    assert location.text == "Location: 广州市天河区天河路 (23.134521, 113.358803)"
    assert location.attachments == (Attachment(kind="location", url="geo:23.134521,113.358803"),)


def test_parse_a_location_without_label() -> None:
    body = (
        h.fixture("wechat", "location.xml")
        .replace(b"<Label><![CDATA[\xe5", b"<Other><![CDATA[\xe5")
        .replace(b"</Label>", b"</Other>")
    )
    assert message(body).text == "Location: (23.134521, 113.358803)"


def test_parse_a_link_gives_its_title_description_and_url() -> None:
    link = message(h.fixture("wechat", "link.xml"))
    assert link.text == "Tracking page\nParcel SF1234567890\nhttps://www.sf-express.com/track?no=SF1234567890"
    assert link.attachments == ()


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("subscribe_event.xml", "event:subscribe"),
        ("template_job_finish_event.xml", "event:TEMPLATESENDJOBFINISH"),
        ("location_select_event.xml", "event:location_select"),
        ("unknown_msgtype.xml", "msgtype:hologram"),
    ],
)
def test_parse_events_and_unknown_message_types_are_ignored(name: str, kind: str) -> None:
    [event] = parse(h.fixture("wechat", name))
    assert isinstance(event, Ignored) and event.kind == kind


def test_parse_a_template_job_result_is_ignored_with_its_status() -> None:
    # The helpdesk never sends template messages, so a template job's result is never about one of ours.
    [event] = parse(h.fixture("wechat", "template_job_finish_event.xml"))
    assert event == Ignored(
        kind="event:TEMPLATESENDJOBFINISH",
        detail=f"FromUserName={SENDER}, MsgID=2914483617810169856, Status=failed:user block",
    )


def test_parse_an_event_without_a_name() -> None:
    [event] = parse(b"<xml><MsgType>event</MsgType></xml>")
    assert event == Ignored(kind="event:unknown", detail="")


def _without(name: str, tag: str) -> bytes:
    lines = h.fixture("wechat", name).splitlines(keepends=True)
    return b"".join(line for line in lines if f"<{tag}>".encode() not in line)


def _with(name: str, tag: str, value: str) -> bytes:
    lines = h.fixture("wechat", name).decode().splitlines(keepends=True)
    return "".join(f"<{tag}>{value}</{tag}>\n" if f"<{tag}>" in line else line for line in lines).encode()


BOMB = b"""<?xml version="1.0"?>
<!DOCTYPE xml [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>
<xml><MsgType>text</MsgType><Content>&b;</Content></xml>"""
EXTERNAL = b"""<?xml version="1.0"?>
<!DOCTYPE xml [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<xml><MsgType>text</MsgType><Content>&secret;</Content></xml>"""


@pytest.mark.parametrize(
    ("body", "message_text"),
    [
        (b"", "not valid XML"),
        (b"{}", "not valid XML"),
        (b"<xml><MsgType>text</xml>", "not valid XML"),
        (b"<xml>\xff\xfe</xml>", "not valid XML"),
        (b"<html><MsgType>text</MsgType></html>", "root element must be <xml>"),
        (BOMB, "declares a DOCTYPE or entities"),
        (EXTERNAL, "declares a DOCTYPE or entities"),
        (b"<!DOCTYPE xml><xml/>", "declares a DOCTYPE"),
        ('<?xml version="1.0" encoding="utf-16"?><!DOCTYPE xml><xml/>'.encode("utf-16"), "declares a DOCTYPE"),
        (b'<?xml version="1.0" encoding="no-such-codec"?><xml/>', "XML"),
        (b"<xml/>", "missing field 'MsgType'"),
        (_without("text.xml", "MsgId"), "missing field 'MsgId'"),
        (_without("text.xml", "FromUserName"), "missing field 'FromUserName'"),
        (_without("text.xml", "CreateTime"), "missing field 'CreateTime'"),
        (_without("text.xml", "Content"), "missing field 'Content'"),
        (_with("text.xml", "Content", " "), "field 'Content' must not be empty"),
        (_with("text.xml", "CreateTime", "soon"), "field 'CreateTime' must be a Unix time in seconds"),
        (_with("text.xml", "CreateTime", "123456789"), "field 'CreateTime' must be between 2000 and 2100"),
        (_with("text.xml", "CreateTime", "1763890200000"), "field 'CreateTime' must be between 2000 and 2100"),
        (_with("text.xml", "MsgId", "9" * 256), "field 'MsgId' is longer than 255"),
        (_without("image.xml", "MediaId"), "missing field 'MediaId'"),
        (_without("voice.xml", "MediaId"), "missing field 'MediaId'"),
        (_without("link.xml", "Url"), "missing field 'Url'"),
        (_with("location.xml", "Location_X", "north"), "field 'Location_X' must be a number"),
        (_with("location.xml", "Location_X", "91"), "field 'Location_X' must be a number between -90 and 90"),
        (_with("location.xml", "Location_Y", "nan"), "field 'Location_Y' must be a number between -180 and 180"),
        (_without("location.xml", "Location_Y"), "missing field 'Location_Y'"),
    ],
)
def test_parse_names_what_is_wrong(body: bytes, message_text: str) -> None:
    with pytest.raises(PayloadInvalid, match=message_text):
        parse(body)


def test_parse_takes_the_first_of_a_repeated_element_and_skips_nested_ones() -> None:
    body = h.fixture("wechat", "text.xml").replace(b"<MsgId>", b"<Extra><Content>nested</Content></Extra><MsgId>")
    body = body.replace(b"</xml>", b"<Content>second</Content></xml>")
    assert message(body).text == TEXT


REFERENCE_KINDS = {
    "a_text_message.xml": InboundMessage,
    "d_template_send_job_finish_event.xml": Ignored,
    "e_image_message.xml": InboundMessage,
    "e_voice_message.xml": InboundMessage,
    "g_kf_close_session_event.xml": Ignored,
    "g_subscribe_event.xml": Ignored,
    "g_unknown_msgtype.xml": Ignored,
}


@pytest.mark.skipif(not REFERENCE.is_dir(), reason=h.NO_REFERENCE)
@pytest.mark.parametrize("name", sorted(REFERENCE_KINDS))
def test_parse_accepts_every_plain_reference_delivery(name: str) -> None:
    assert [type(event) for event in parse((REFERENCE / name).read_bytes())] == [REFERENCE_KINDS[name]]


def test_every_reference_delivery_is_covered() -> None:
    if REFERENCE.is_dir():
        expected = {*REFERENCE_KINDS, "h_wecom_encrypted_text_message.xml"}
        assert {path.name for path in REFERENCE.iterdir()} == expected


# Sending

REPLY = h.reply(SENDER, "您好 — a new parcel is on its way", ticket_number=1042, sent_at=h.at(1763890900))


def send(platform: FakePlatform, credentials: Credentials = CREDENTIALS) -> str | None:
    return wechat.send_reply(credentials=h.on(platform, credentials), reply=REPLY, timeout=5).external_id


def test_answer_is_success_as_plain_text() -> None:
    assert wechat.ANSWER == ("success", "text/plain")


def test_send_reply_posts_a_customer_service_text_message(platform_api: FakePlatform) -> None:
    platform_api.answer("/cgi-bin/message/custom/send", {"errcode": 0, "errmsg": "ok", "msgid": 2914483617810169856})
    assert send(platform_api) == "2914483617810169856"
    [request] = platform_api.requests
    assert (request.method, request.path) == ("POST", "/cgi-bin/message/custom/send")
    assert request.query == {"access_token": ["wechat-access-token"]}
    assert request.headers["Content-Type"] == "application/json; charset=utf-8"
    assert request.json() == {"touser": SENDER, "msgtype": "text", "text": {"content": REPLY.text}}
    assert "您好".encode() in request.body  # the characters themselves, not \u escapes


def test_send_reply_quotes_the_access_token(platform_api: FakePlatform) -> None:
    send(platform_api, Credentials(secret="test", access_token="a&b=c d"))
    assert platform_api.requests[0].query == {"access_token": ["a&b=c d"]}


@pytest.mark.parametrize("body", [b"", b"not json", b"[]", b'{"errcode": 0, "errmsg": "ok"}'])
def test_send_reply_without_an_id_still_counts_as_sent(platform_api: FakePlatform, body: bytes) -> None:
    platform_api.answer("/cgi-bin/", Answer(body=body))
    assert send(platform_api) is None


@pytest.mark.parametrize(
    ("answer", "retryable", "message_text"),
    [
        ({"errcode": -1, "errmsg": "system error"}, True, "errcode -1: system error"),
        ({"errcode": "-1"}, True, "errcode -1$"),
        ({"errcode": 45015, "errmsg": "response out of time limit or subscription is canceled"}, False, "45015"),
        ({"errcode": 40001, "errmsg": "invalid credential, access_token is invalid"}, False, "access_token is invalid"),
        ({"errcode": [1]}, False, r"errcode \[1\]"),
    ],
)
def test_send_reply_refused_with_an_errcode_in_a_200_answer(
    platform_api: FakePlatform, answer: dict[str, object], retryable: bool, message_text: str
) -> None:
    platform_api.answer("/cgi-bin/", answer)
    assert h.send_failure(lambda: send(platform_api), message_text).retryable is retryable


@pytest.mark.parametrize(("status", "retryable"), [(500, True), (502, True), (400, False), (404, False)])
def test_send_reply_http_failures_say_whether_a_retry_may_help(
    platform_api: FakePlatform, status: int, retryable: bool
) -> None:
    answer = Answer(status=status, body=b"oops", content_type="text/plain")
    h.assert_refused(
        platform_api,
        "/cgi-bin/",
        answer,
        lambda: send(platform_api),
        retryable=retryable,
        saying=f"HTTP {status}: oops",
    )


def test_send_reply_without_an_access_token_fails_for_good(platform_api: FakePlatform) -> None:
    h.assert_not_sent(platform_api, lambda: send(platform_api, Credentials(secret="test")), "no WeChat access token")


def test_send_reply_defaults_to_wechat_api() -> None:
    assert wechat.DEFAULT_BASE_URL == "https://api.weixin.qq.com"
