"""Every connector asks its platform whether an account's credentials work (the admin does on save)."""

import json

import pytest

from tests.fake_platform import Answer, FakePlatform
from tickets.connectors import connector_for
from tickets.connectors.base import Credentials, SendFailed

# kind, extra credentials, the path asked, the platform's answer, what the account is then called
CASES = [
    ("messenger", {}, "/v21.0/me", {"id": "1", "name": "Acme Store"}, "Acme Store"),
    ("instagram", {}, "/v21.0/me", {"id": "2", "username": "acme.store"}, "acme.store"),
    ("whatsapp", {"account_id": "pn-1"}, "/v21.0/pn-1", {"verified_name": "Acme", "id": "pn-1"}, "Acme"),
    ("telegram", {}, "/bottok-1/getMe", {"ok": True, "result": {"id": 9, "username": "acme_bot"}}, "@acme_bot"),
    ("line", {}, "/v2/bot/info", {"userId": "U1", "displayName": "Acme LINE"}, "Acme LINE"),
    ("sms", {"account_id": "AC1"}, "/2010-04-01/Accounts/AC1.json", {"sid": "AC1", "friendly_name": "Acme"}, "Acme"),
    ("x", {}, "/2/users/me", {"data": {"id": "7", "username": "acme"}}, "@acme"),
    ("wechat", {"account_id": "wx123"}, "/cgi-bin/get_api_domain_ip", {"ip_list": ["1.2.3.4"]}, "wx123"),
]


@pytest.mark.parametrize(("kind", "extra", "path", "answer", "called"), CASES, ids=[c[0] for c in CASES])
def test_check_names_the_account_the_credentials_open(
    platform_api: FakePlatform, kind: str, extra: dict[str, str], path: str, answer: dict[str, object], called: str
) -> None:
    platform_api.answer(path, answer)
    credentials = Credentials(secret="s", access_token="tok-1", base_url=platform_api.url, **extra)
    assert connector_for(kind).check(credentials=credentials, timeout=5) == called
    [request] = platform_api.requests
    assert (request.method, request.path) == ("GET", path)


@pytest.mark.parametrize(("kind", "extra", "path", "answer", "called"), CASES, ids=[c[0] for c in CASES])
def test_check_refused_credentials_raise_send_failed_with_the_platforms_words(
    platform_api: FakePlatform, kind: str, extra: dict[str, str], path: str, answer: dict[str, object], called: str
) -> None:
    refusal = {"error": {"message": "Invalid OAuth access token"}, "description": "Unauthorized", "message": "bad"}
    if kind == "wechat":  # WeChat refuses with a 200 and an error code
        platform_api.answer(path, {"errcode": 40001, "errmsg": "invalid credential"})
    else:
        platform_api.answer(path, Answer(status=401, body=json.dumps(refusal).encode()))
    credentials = Credentials(secret="s", access_token="tok-1", base_url=platform_api.url, **extra)
    with pytest.raises(SendFailed) as raised:
        connector_for(kind).check(credentials=credentials, timeout=5)
    assert not raised.value.retryable
