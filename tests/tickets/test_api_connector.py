"""The generic API connector on its own: signatures and parsing, with no database."""

from datetime import UTC, datetime

import pytest

from tests.support import delivery_body
from tickets.connectors import api
from tickets.connectors.base import Credentials, Delivery, Event, PayloadInvalid, SignatureInvalid


def verify(*, secret: str, body: bytes, headers: dict[str, str]) -> None:
    api.verify(credentials=Credentials(secret=secret), delivery=posted(body, headers))


def parse(*, body: bytes, headers: dict[str, str]) -> list[Event]:
    return api.parse(credentials=Credentials(secret="s3cret"), delivery=posted(body, headers))


def posted(body: bytes, headers: dict[str, str]) -> Delivery:
    return Delivery(method="POST", url="https://helpdesk.example/webhooks/api/1/", query={}, headers=headers, body=body)


def test_sign_is_hex_hmac_sha256_of_the_raw_body() -> None:
    # RFC 4231, test case 2.
    expected = "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
    assert api.sign("Jefe", b"what do ya want for nothing?") == f"sha256={expected}"


def test_verify_accepts_the_right_signature() -> None:
    body = delivery_body()
    verify(secret="s3cret", body=body, headers={"x-helpdesk-signature": api.sign("s3cret", body)})


@pytest.mark.parametrize(
    ("headers", "message"),
    [
        ({}, "missing X-Helpdesk-Signature header"),
        ({"X-Helpdesk-Signature": "md5=abc"}, "must look like sha256="),
        ({"X-Helpdesk-Signature": "sha256=" + "0" * 64}, "does not match"),
    ],
)
def test_verify_refuses_wrong_or_missing_signatures(headers: dict[str, str], message: str) -> None:
    with pytest.raises(SignatureInvalid, match=message):
        verify(secret="s3cret", body=b"{}", headers=headers)


def test_verify_refuses_a_signature_made_with_another_secret() -> None:
    body = delivery_body()
    with pytest.raises(SignatureInvalid):
        verify(secret="s3cret", body=body, headers={"X-Helpdesk-Signature": api.sign("other", body)})


def test_parse_normalizes_one_message() -> None:
    body = delivery_body(
        message_id="m-1", sender_id="c-9", sender_name="Ann", text=" hi ", sent_at="2026-11-23T09:30:00Z"
    )
    [message] = parse(body=body, headers={})
    assert message.external_id == "m-1"
    assert message.sender_id == "c-9"
    assert message.sender_name == "Ann"
    assert message.text == "hi"
    assert message.sent_at == datetime(2026, 11, 23, 9, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"{not json", "not valid JSON"),
        (b"\xff\xfe", "not valid JSON"),
        (b"[1, 2]", "must be a JSON object"),
        (delivery_body(message_id=None), "missing field 'message_id'"),
        (delivery_body(sender_id=None), "missing field 'sender_id'"),
        (delivery_body(text=None), "missing field 'text'"),
        (delivery_body(sent_at=None), "missing field 'sent_at'"),
        (delivery_body(text="   "), "field 'text' must not be empty"),
        (delivery_body(sender_id=42), "field 'sender_id' must be a string"),
        (delivery_body(sent_at="yesterday"), "field 'sent_at' must be an ISO 8601 date-time"),
        (delivery_body(sent_at="2026-11-23T09:30:00"), "field 'sent_at' must include a time zone"),
        (delivery_body(message_id="x" * 256), "field 'message_id' is longer than 255"),
    ],
)
def test_parse_names_what_is_wrong(body: bytes, message: str) -> None:
    with pytest.raises(PayloadInvalid, match=message):
        parse(body=body, headers={})


def test_parse_drops_nul_characters_which_postgresql_cannot_store() -> None:
    [message] = parse(body=delivery_body(text="hel\u0000lo", sender_id="a\u0000b"), headers={})
    assert (message.text, message.sender_id) == ("hello", "ab")


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"[" * 100_000 + b"]" * 100_000, "the body is JSON this endpoint cannot read"),
        (b'{"message_id": ' + b"1" * 5000 + b"}", "the body is JSON this endpoint cannot read"),
        (delivery_body(text="\ud800"), "field 'text' is not valid Unicode"),
        (delivery_body(sent_at="9999-12-31T23:59:59-01:00"), "field 'sent_at' is out of range"),
        (delivery_body(sent_at="0001-01-01T00:00:00+01:00"), "field 'sent_at' is out of range"),
        (delivery_body(sent_at="1999-12-31T23:59:59Z"), "field 'sent_at' must be between 2000 and 2100"),
    ],
)
def test_parse_refuses_bodies_at_pythons_and_databases_limits(body: bytes, message: str) -> None:
    with pytest.raises(PayloadInvalid, match=message):
        parse(body=body, headers={})
