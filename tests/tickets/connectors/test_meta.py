"""What every Meta platform must do alike, checked for Messenger, Instagram and WhatsApp: Meta's handshake and
signatures, bodies that are no delivery at all, the shared reference deliveries, and the Send API that
Messenger and Instagram share."""

from pathlib import Path
from typing import Any

import pytest

from tests.fake_platform import Answer, FakePlatform
from tests.tickets.connectors import meta_helpers as h
from tests.tickets.connectors.helpers import NO_REFERENCE, REFERENCE, assert_refused, delivery, fixture, reference_files
from tickets.connectors import base, instagram, messenger, meta, whatsapp

# Each Meta connector by the name of its folder of fixtures and reference deliveries.
CONNECTORS: dict[str, Any] = {"messenger": messenger, "instagram": instagram, "whatsapp": whatsapp}
# What the reference deliveries are, by the first letter of their name (see the reference folder's README):
# a contact's message, a batch, an echo of ours, a status, an attachment, an edit, something to ignore.
REFERENCE_KINDS: dict[str, Any] = {
    "a": base.InboundMessage,
    "b": base.InboundMessage,
    "c": base.Echo,
    "d": base.StatusUpdate,
    "e": base.InboundMessage,
    "f": (base.MessageEdit, base.Ignored),
    "g": base.Ignored,
}
# What some reference messages say, as (sender name, text).
REFERENCE_MESSAGES = {"a_text_message_signed_pywa.json": ("PyWa Tests", "Hey there! I am using PyWa.")}
# The two that send through the Send API: /me/messages as the page or Instagram account.
SEND_API = "/v21.0/me/messages"
USER = "1254459154682919"


def _text_message(platform: str) -> bytes:
    return fixture(platform, "text_message.json")


# Handshake and signatures


@pytest.mark.parametrize("platform", CONNECTORS)
def test_handshake_answers_the_challenge(platform: str) -> None:
    answer = CONNECTORS[platform].handshake(credentials=h.credentials(), delivery=h.handshake_request(h.GOOD_HANDSHAKE))
    assert (answer.body, answer.content_type) == ("1158201444", "text/plain")


@pytest.mark.parametrize("platform", CONNECTORS)
@pytest.mark.parametrize(("query", "method", "message"), h.BAD_HANDSHAKES)
def test_handshake_refuses_what_does_not_check_out(
    platform: str, query: dict[str, str], method: str, message: str
) -> None:
    with pytest.raises(base.HandshakeFailed, match=message):
        CONNECTORS[platform].handshake(credentials=h.credentials(), delivery=h.handshake_request(query, method))


@pytest.mark.parametrize("platform", CONNECTORS)
def test_verify_accepts_metas_signature(platform: str) -> None:
    CONNECTORS[platform].verify(credentials=h.credentials(), delivery=h.signed(_text_message(platform)))


@pytest.mark.parametrize(
    ("platform", "headers", "message"),
    [
        (platform, headers, message)
        for platform in CONNECTORS
        for headers, message in h.bad_signatures(_text_message(platform))
    ],
)
def test_verify_refuses_wrong_or_missing_signatures(platform: str, headers: dict[str, str], message: str) -> None:
    with pytest.raises(base.SignatureInvalid, match=message):
        CONNECTORS[platform].verify(credentials=h.credentials(), delivery=delivery(_text_message(platform), headers))


@pytest.mark.skipif(not REFERENCE.exists(), reason=NO_REFERENCE)
@pytest.mark.parametrize("platform", ["instagram", "whatsapp"])
def test_verify_matches_the_published_sha256_vector(platform: str) -> None:
    # Meta signs every platform's deliveries the same way: pywa's WhatsApp vector holds for Instagram too.
    body = (REFERENCE / h.PYWA_FILE).read_bytes()
    assert meta.sign(h.PYWA_SECRET, body) == h.PYWA_SIGNATURE
    connector, credentials = CONNECTORS[platform], h.credentials(secret=h.PYWA_SECRET)
    connector.verify(credentials=credentials, delivery=delivery(body, {"X-Hub-Signature-256": h.PYWA_SIGNATURE}))
    with pytest.raises(base.SignatureInvalid):
        connector.verify(
            credentials=credentials, delivery=delivery(body + b" ", {"X-Hub-Signature-256": h.PYWA_SIGNATURE})
        )


# Parsing


@pytest.mark.parametrize("platform", CONNECTORS)
@pytest.mark.parametrize(("body", "message"), h.NOT_DELIVERIES)
def test_parse_refuses_bodies_that_are_not_deliveries(platform: str, body: bytes, message: str) -> None:
    with pytest.raises(base.PayloadInvalid, match=message):
        CONNECTORS[platform].parse(credentials=h.credentials(), delivery=delivery(body))


@pytest.mark.parametrize(
    ("platform", "path"),
    [(platform, path) for platform in CONNECTORS for path in reference_files(platform)],
    ids=lambda value: value.name if isinstance(value, Path) else value,
)
def test_parse_accepts_every_reference_delivery(platform: str, path: Path) -> None:
    events = CONNECTORS[platform].parse(credentials=h.credentials(), delivery=delivery(path.read_bytes()))
    assert events
    assert all(isinstance(event, REFERENCE_KINDS[path.name[0]]) for event in events)
    if path.name in REFERENCE_MESSAGES:
        assert [(event.sender_name, event.text) for event in events] == [REFERENCE_MESSAGES[path.name]]


# Sending through the Send API (Messenger and Instagram)


@pytest.mark.parametrize("platform", ["messenger", "instagram"])
def test_send_reply_posts_to_the_send_api_with_the_access_token(platform_api: FakePlatform, platform: str) -> None:
    platform_api.answer(SEND_API, {"recipient_id": USER, "message_id": "m_sent_1"})
    credentials = h.credentials(base_url=platform_api.url)
    result = CONNECTORS[platform].send_reply(credentials=credentials, reply=h.reply(USER), timeout=5)
    assert result.external_id == "m_sent_1"
    [request] = platform_api.requests
    assert (request.method, request.path, request.query) == ("POST", SEND_API, {})
    assert request.headers["Authorization"] == f"Bearer {h.ACCESS_TOKEN}"
    assert request.headers["Content-Type"] == "application/json"
    assert request.json() == {
        "recipient": {"id": USER},
        "messaging_type": "RESPONSE",
        "message": {"text": "We are on it"},
    }


@pytest.mark.parametrize(
    ("platform", "answer"),
    [
        ("messenger", Answer(body=b"ok", content_type="text/plain")),
        ("instagram", Answer(body=b'{"message_id": {"nested": true}}')),
    ],
)
def test_send_reply_without_an_id_in_the_answer_still_counts(
    platform_api: FakePlatform, platform: str, answer: Answer
) -> None:
    platform_api.answer(SEND_API, answer)
    credentials = h.credentials(base_url=platform_api.url + "/")
    assert CONNECTORS[platform].send_reply(credentials=credentials, reply=h.reply(), timeout=5).external_id is None
    assert platform_api.requests[0].path == SEND_API


@pytest.mark.parametrize(
    ("platform", "answer", "retryable"),
    [
        ("messenger", Answer(status=500, body=b"oops"), True),
        ("messenger", Answer(status=503, body=b""), True),
        ("messenger", Answer(status=400, body=h.graph_error(100, "(#100) No matching user found")), False),
        (
            "messenger",
            Answer(status=400, body=h.graph_error(613, "Calls to this api have exceeded the rate limit.")),
            True,
        ),
        (
            "messenger",
            Answer(status=400, body=h.graph_error(2, "An unexpected error has occurred.", transient=True)),
            True,
        ),
        (
            "messenger",
            Answer(status=403, body=h.graph_error(10, "(#10) This message is sent outside of allowed window.")),
            False,
        ),
        ("messenger", Answer(status=401, body=h.graph_error(190, "Invalid OAuth access token.")), False),
        ("instagram", Answer(status=500, body=h.graph_error(100, "Invalid parameter")), True),
        ("instagram", Answer(status=429, body=h.graph_error(100, "Invalid parameter")), True),
        ("instagram", Answer(status=400, body=h.graph_error(100, "Invalid parameter")), False),
    ],
)
def test_send_reply_failures_say_whether_to_retry(
    platform_api: FakePlatform, platform: str, answer: Answer, retryable: bool
) -> None:
    credentials = h.credentials(base_url=platform_api.url)
    send = CONNECTORS[platform].send_reply
    assert_refused(
        platform_api,
        SEND_API,
        answer,
        lambda: send(credentials=credentials, reply=h.reply(), timeout=5),
        retryable=retryable,
    )
