"""WeChat's safe mode on its own: msg_signature over the encrypted envelope, AES-256-CBC with the account's
EncodingAESKey, and the AppID inside, encrypted here from WeChat's documentation (not with the connector)."""

import base64
import hashlib

import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from tests.tickets.connectors import helpers as h
from tests.tickets.connectors.test_wechat import APP_ID, CREDENTIALS, REFERENCE, VECTOR, message, parse
from tickets.connectors import wechat
from tickets.connectors.base import Credentials, Delivery, InboundMessage, PayloadInvalid, SignatureInvalid

AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"  # 43 characters, as WeChat generates them
SAFE = Credentials(secret="test", aes_key=AES_KEY, account_id=APP_ID)


def encrypt(xml: bytes, *, aes_key: str = AES_KEY, app_id: str = APP_ID, random: bytes = b"0123456789abcdef") -> str:
    """WeChat's safe-mode encryption, written from its documentation (the test's own, not the connector's)."""
    key = base64.b64decode(aes_key + "=")
    plain = random + len(xml).to_bytes(4, "big") + xml + app_id.encode()
    pad = 32 - len(plain) % 32
    plain += bytes([pad]) * pad
    encryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).encryptor()
    return base64.b64encode(encryptor.update(plain) + encryptor.finalize()).decode()


def safe_delivery(encrypted: str, *, token: str = "test") -> Delivery:
    """A safe-mode POST: the <Encrypt> envelope, its msg_signature and WeChat's other query parameters."""
    body = f"<xml><ToUserName><![CDATA[gh_3ad31f2a7b6c]]></ToUserName><Encrypt><![CDATA[{encrypted}]]></Encrypt></xml>"
    timestamp, nonce = "1763890200", "1320562132"
    msg_signature = hashlib.sha1("".join(sorted([token, timestamp, nonce, encrypted])).encode()).hexdigest()
    query = {"timestamp": timestamp, "nonce": nonce, "encrypt_type": "aes", "msg_signature": msg_signature}
    query["signature"] = hashlib.sha1("".join(sorted([token, timestamp, nonce])).encode()).hexdigest()
    return h.delivery(body.encode(), query=query)


# Safe mode


def test_safe_mode_verifies_msg_signature_and_decrypts_the_message() -> None:
    safe = safe_delivery(encrypt(h.fixture("wechat", "text.xml")))
    wechat.verify(credentials=SAFE, delivery=safe)
    [event] = wechat.parse(credentials=SAFE, delivery=safe)
    assert event == message(h.fixture("wechat", "text.xml"))


def test_safe_mode_decrypts_without_an_app_id_to_check() -> None:
    credentials = Credentials(secret="test", aes_key=AES_KEY)
    [event] = wechat.parse(credentials=credentials, delivery=safe_delivery(encrypt(h.fixture("wechat", "image.xml"))))
    assert isinstance(event, InboundMessage) and event.attachments[0].kind == "image"


def test_safe_mode_refuses_a_wrong_msg_signature() -> None:
    safe = safe_delivery(encrypt(h.fixture("wechat", "text.xml")), token="other")
    with pytest.raises(SignatureInvalid, match="msg_signature does not match"):
        wechat.verify(credentials=SAFE, delivery=safe)


def test_safe_mode_refuses_a_missing_msg_signature() -> None:
    safe = safe_delivery(encrypt(h.fixture("wechat", "text.xml")))
    query = {key: value for key, value in safe.query.items() if key != "msg_signature"}
    with pytest.raises(SignatureInvalid, match="missing msg_signature"):
        wechat.verify(credentials=SAFE, delivery=h.delivery(safe.body, query=query))


def test_safe_mode_account_refuses_a_plain_delivery() -> None:
    # A plain signature covers only the timestamp and nonce, not the body: never accept one instead.
    with pytest.raises(SignatureInvalid, match="must carry an <Encrypt> element"):
        wechat.verify(credentials=SAFE, delivery=h.delivery(h.fixture("wechat", "text.xml"), query=VECTOR))
    with pytest.raises(PayloadInvalid, match="must carry an <Encrypt> element"):
        parse(h.fixture("wechat", "text.xml"), SAFE)


def test_safe_mode_refuses_a_message_for_another_app() -> None:
    safe = safe_delivery(encrypt(h.fixture("wechat", "text.xml"), app_id="wx0000000000000000"))
    with pytest.raises(PayloadInvalid, match="encrypted for AppID 'wx0000000000000000', not this account's"):
        wechat.parse(credentials=SAFE, delivery=safe)


def test_safe_mode_refuses_a_message_encrypted_with_another_key() -> None:
    safe = safe_delivery(encrypt(h.fixture("wechat", "text.xml"), aes_key="Z" * 43))
    with pytest.raises(PayloadInvalid, match="does not decrypt with this account's EncodingAESKey"):
        wechat.parse(credentials=SAFE, delivery=safe)


def test_safe_mode_refuses_an_encrypted_delivery_when_the_account_has_no_key() -> None:
    with pytest.raises(PayloadInvalid, match=r"encrypted .* but the channel account has no EncodingAESKey"):
        wechat.parse(credentials=CREDENTIALS, delivery=safe_delivery(encrypt(h.fixture("wechat", "text.xml"))))


def _length_lies() -> str:
    """A correctly padded plaintext whose length field points past its end."""
    key = base64.b64decode(AES_KEY + "=")
    plain = b"0" * 16 + (1000).to_bytes(4, "big") + b"<xml/>"
    plain += bytes([32 - len(plain) % 32]) * (32 - len(plain) % 32)
    encryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).encryptor()
    return base64.b64encode(encryptor.update(plain) + encryptor.finalize()).decode()


@pytest.mark.parametrize(
    ("encrypted", "credentials", "message_text"),
    [
        ("not base64!", SAFE, "<Encrypt> is not base64"),
        (base64.b64encode(b"0123456789").decode(), SAFE, "not a whole number of AES blocks"),
        ("", SAFE, "not a whole number of AES blocks"),
        (_length_lies(), SAFE, "length field does not fit"),
        (encrypt(b"<html/>"), SAFE, "root element must be <xml>"),
        (encrypt(b"<xml>"), SAFE, "not valid XML"),
        (encrypt(b"<xml/>"), Credentials(secret="test", aes_key="short"), "EncodingAESKey is not 43 base64"),
        (encrypt(b"<xml/>"), Credentials(secret="test", aes_key="!" * 43), "EncodingAESKey is not 43 base64"),
    ],
)
def test_safe_mode_names_what_is_wrong(encrypted: str, credentials: Credentials, message_text: str) -> None:
    with pytest.raises(PayloadInvalid, match=message_text):
        wechat.parse(credentials=credentials, delivery=safe_delivery(encrypted))


@pytest.mark.skipif(not REFERENCE.is_dir(), reason=h.NO_REFERENCE)
def test_the_reference_encrypted_delivery_is_refused_without_its_key() -> None:
    # Its EncodingAESKey is not published with it: without the key it must be refused clearly, not crash.
    with pytest.raises(PayloadInvalid, match="no EncodingAESKey"):
        parse((REFERENCE / "h_wecom_encrypted_text_message.xml").read_bytes())
    with pytest.raises(PayloadInvalid, match="does not decrypt"):
        parse((REFERENCE / "h_wecom_encrypted_text_message.xml").read_bytes(), SAFE)
