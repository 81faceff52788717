"""/api/v1/channel-accounts/: programs create and change channel accounts as team leads do in the admin.

The caller sees the accounts of the teams they see (anything else is a 404), needs the model's add, change or
delete permission to write (else a 403), never reads a secret back, and gets the platform's word on the
credentials (the fake platform, a real HTTP server on 127.0.0.1) before anything is saved.
"""

import json
from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth.models import Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from tests.factories import ChannelAccountFactory, MessageFactory, TicketFactory, UserFactory
from tests.fake_platform import Answer, FakePlatform
from tickets.models import ChannelAccount

pytestmark = pytest.mark.django_db

URL = "/api/v1/channel-accounts/"


def lead(team: Any, *actions: str) -> Any:
    """A team lead of `team` who holds the model permissions `actions` (add, change, delete) on accounts."""
    user = UserFactory(teams=[team])
    codenames = [f"{action}_channelaccount" for action in actions]
    user.user_permissions.add(*Permission.objects.filter(codename__in=codenames))
    return user


def token_client(user: Any) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    return client


def telegram_account(team: Any, platform_api: FakePlatform, **fields: Any) -> dict[str, Any]:
    return {
        "name": "Support bot",
        "kind": "telegram",
        "team": team.pk,
        "secret": "webhook-secret",
        "access_token": "123:bot-token",
        "api_base_url": platform_api.url,
        **fields,
    }


def test_a_lead_creates_an_account_and_gets_its_webhook_url_and_the_platforms_word(
    team_a: Any, platform_api: FakePlatform
) -> None:
    platform_api.answer("/bot123:bot-token/getMe", {"ok": True, "result": {"id": 7, "username": "acme_bot"}})
    response = token_client(lead(team_a, "add")).post(URL, telegram_account(team_a, platform_api), format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    account = ChannelAccount.objects.get(name="Support bot")
    assert body["id"] == account.pk and body["platform_says"] == "@acme_bot"
    assert body["webhook_url"] == f"{settings.HELPDESK_BASE_URL.rstrip('/')}/webhooks/telegram/{account.pk}/"
    assert body["secrets_set"] == {
        "secret": True,
        "verify_token": False,
        "access_token": True,
        "encoding_aes_key": False,
    }
    assert body["sending_blocked_because"] == ""
    # Secrets go in, never out.
    assert "webhook-secret" not in response.content.decode() and "bot-token" not in response.content.decode()
    assert (account.secret, account.access_token) == ("webhook-secret", "123:bot-token")


def test_credentials_the_platform_refuses_are_a_400_with_its_reason_and_nothing_is_saved(
    team_a: Any, platform_api: FakePlatform
) -> None:
    refusal = {"ok": False, "error_code": 401, "description": "Unauthorized"}
    platform_api.answer("/bot123:bot-token/getMe", Answer(status=401, body=json.dumps(refusal).encode()))
    response = token_client(lead(team_a, "add")).post(URL, telegram_account(team_a, platform_api), format="json")
    assert response.status_code == 400
    assert response.json()["error"] == "credentials_refused"
    assert "The platform refused these credentials" in response.json()["message"]
    assert "Unauthorized" in response.json()["message"]
    assert not ChannelAccount.objects.exists()


def test_an_account_that_cannot_send_yet_is_saved_without_asking_the_platform(
    team_a: Any, platform_api: FakePlatform
) -> None:
    data = telegram_account(team_a, platform_api, access_token="")
    response = token_client(lead(team_a, "add")).post(URL, data, format="json")
    assert response.status_code == 201
    assert response.json()["sending_blocked_because"] == "the channel account has no access token"
    assert response.json()["platform_says"] == ""
    assert platform_api.requests == []


@pytest.mark.parametrize(
    ("change", "field", "said"),
    [
        ({"secret": ""}, "secret", "needs the secret"),
        ({"kind": "fax"}, "kind", "not a valid choice"),
        ({"api_base_url": "ftp://x"}, "api_base_url", "valid URL"),
        ({"name": ""}, "name", "may not be blank"),
    ],
)
def test_invalid_fields_are_a_400_naming_each(
    team_a: Any, platform_api: FakePlatform, change: dict[str, str], field: str, said: str
) -> None:
    data = telegram_account(team_a, platform_api, **change)
    response = token_client(lead(team_a, "add")).post(URL, data, format="json")
    assert response.status_code == 400
    body = response.json()
    assert body["error"] == "invalid" and field in body["message"]
    assert said in " ".join(body["fields"][field])


def test_a_body_that_is_not_json_is_a_400_that_says_so(team_a: Any) -> None:
    client = token_client(lead(team_a, "add"))
    response = client.post(URL, data=b"{not json", content_type="application/json")
    assert response.status_code == 400 and "JSON parse error" in response.json()["message"]


def test_a_lead_cannot_put_an_account_in_a_team_they_do_not_see(
    team_a: Any, team_b: Any, platform_api: FakePlatform
) -> None:
    data = telegram_account(team_b, platform_api)
    response = token_client(lead(team_a, "add")).post(URL, data, format="json")
    assert response.status_code == 400 and "team" in response.json()["fields"]
    assert not ChannelAccount.objects.exists()


def test_an_agent_without_the_permission_may_read_but_not_write(team_a: Any, platform_api: FakePlatform) -> None:
    account = ChannelAccountFactory(team=team_a, kind="telegram")
    agent = token_client(lead(team_a))
    assert agent.get(f"{URL}{account.pk}/").status_code == 200
    created = agent.post(URL, telegram_account(team_a, platform_api), format="json")
    assert created.status_code == 403 and created.json()["error"] == "permission_denied"
    assert agent.patch(f"{URL}{account.pk}/", {"enabled": False}, format="json").status_code == 403
    assert agent.delete(f"{URL}{account.pk}/").status_code == 403
    assert ChannelAccount.objects.filter(pk=account.pk, enabled=True).exists()


def test_another_teams_account_is_a_404_for_reading_and_writing_alike(team_a: Any, team_b: Any) -> None:
    hidden = ChannelAccountFactory(team=team_b)
    client = token_client(lead(team_a, "add", "change", "delete"))
    for response in (
        client.get(f"{URL}{hidden.pk}/"),
        client.patch(f"{URL}{hidden.pk}/", {"enabled": False}, format="json"),
        client.delete(f"{URL}{hidden.pk}/"),
    ):
        assert response.status_code == 404 and response.json()["error"] == "not_found"
    assert [row["id"] for row in client.get(URL).json()["results"]] == []


def test_a_change_keeps_secrets_left_empty_and_checks_new_credentials(team_a: Any, platform_api: FakePlatform) -> None:
    account = ChannelAccountFactory(team=team_a, kind="telegram", secret="s1", access_token="", name="Bot")
    client = token_client(lead(team_a, "change"))
    platform_api.answer("/bot9:new/getMe", {"ok": True, "result": {"id": 9, "username": "new_bot"}})
    data = {"secret": "", "access_token": "9:new", "api_base_url": platform_api.url}
    response = client.patch(f"{URL}{account.pk}/", data, format="json")
    assert response.status_code == 200 and response.json()["platform_says"] == "@new_bot"
    account.refresh_from_db()
    assert (account.secret, account.access_token) == ("s1", "9:new")

    platform_api.answer("/bot9:bad/getMe", Answer(status=401, body=b'{"ok":false,"description":"Unauthorized"}'))
    refused = client.patch(f"{URL}{account.pk}/", {"access_token": "9:bad"}, format="json")
    assert refused.status_code == 400 and refused.json()["error"] == "credentials_refused"
    account.refresh_from_db()
    assert account.access_token == "9:new"


def test_an_account_with_messages_is_not_deleted_and_the_answer_says_to_disable_it(team_a: Any) -> None:
    ticket = TicketFactory(team=team_a)
    MessageFactory(ticket=ticket)
    account = ticket.identity.channel_account
    client = token_client(lead(team_a, "delete"))
    response = client.delete(f"{URL}{account.pk}/")
    assert response.status_code == 409 and "disable it instead" in response.json()["message"]
    unused = ChannelAccountFactory(team=team_a)
    assert client.delete(f"{URL}{unused.pk}/").status_code == 204
    assert ChannelAccount.objects.filter(pk=account.pk).exists()
    assert not ChannelAccount.objects.filter(pk=unused.pk).exists()


def test_without_credentials_the_answer_is_a_401_with_a_challenge(team_a: Any) -> None:
    response = APIClient().get(URL)
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"
    assert response.json()["error"] == "not_authenticated"
    bad = APIClient()
    bad.credentials(HTTP_AUTHORIZATION="Token not-a-token")
    assert bad.get(URL).status_code == 401


def test_the_browser_session_works_too(team_a: Any) -> None:
    ChannelAccountFactory(team=team_a, name="Visible")
    client = APIClient()
    client.force_login(lead(team_a))
    assert [row["name"] for row in client.get(URL).json()["results"]] == ["Visible"]


def test_the_list_is_paged_by_cursor_at_a_constant_number_of_queries(team_a: Any, team_b: Any) -> None:
    client = token_client(lead(team_a))

    def page_queries() -> tuple[int, list[int]]:
        with CaptureQueriesContext(connection) as captured:
            response = client.get(URL)
        assert response.status_code == 200
        return len(captured), [row["id"] for row in response.json()["results"]]

    ChannelAccountFactory.create_batch(3, team=team_a)
    ChannelAccountFactory(team=team_b)
    few, ids = page_queries()
    assert len(ids) == 3
    ChannelAccountFactory.create_batch(120, team=team_a)
    many, ids = page_queries()
    assert few == many and len(ids) == settings.REST_FRAMEWORK["PAGE_SIZE"]
    following = client.get(client.get(URL).json()["next"]).json()["results"]
    assert following[0]["id"] > ids[-1]


def test_the_schema_describes_the_endpoint_and_its_errors(client: Any) -> None:
    response = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    schema = json.loads(response.content)
    operations = schema["paths"]["/api/v1/channel-accounts/{id}/"]
    assert set(operations) >= {"get", "patch", "delete"}
    assert {"400", "403", "404", "409"} <= set(operations["patch"]["responses"])
    properties = schema["components"]["schemas"]["ChannelAccount"]["properties"]
    assert properties["secret"]["writeOnly"] is True


def test_moving_the_api_base_url_needs_the_secrets_typed_again(team_a: Any, platform_api: FakePlatform) -> None:
    account = ChannelAccountFactory(
        team=team_a, kind="telegram", secret="s1", access_token="9:stored", api_base_url=platform_api.url
    )
    client = token_client(lead(team_a, "change"))
    # Else whoever may edit the account could have the stored token sent to a server of their own.
    moved = client.patch(f"{URL}{account.pk}/", {"api_base_url": "https://elsewhere.example"}, format="json")
    assert moved.status_code == 400
    assert set(moved.json()["fields"]) == {"access_token"}
    assert platform_api.requests == []
    account.refresh_from_db()
    assert account.api_base_url == platform_api.url

    platform_api.answer("/bot9:typed/getMe", {"ok": True, "result": {"id": 9, "username": "typed_bot"}})
    data = {"api_base_url": platform_api.url + "/", "access_token": "9:typed"}
    retyped = client.patch(f"{URL}{account.pk}/", data, format="json")
    assert retyped.status_code == 200 and retyped.json()["platform_says"] == "@typed_bot"
