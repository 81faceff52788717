"""Channel accounts in the admin: the platform credentials, and the webhook URL to paste into the platform."""

import json
from typing import Any

import pytest
from django.conf import settings
from django.test import Client

from tests.fake_platform import Answer, FakePlatform
from tickets.models import ChannelAccount

pytestmark = pytest.mark.django_db


def test_a_new_account_is_given_the_webhook_url_to_paste_into_the_platform(
    admin_client: Client, team_a: Any, platform_api: FakePlatform
) -> None:
    platform_api.answer("/v21.0/me", {"id": "1234567890", "name": "Acme Store"})
    add = admin_client.get("/admin/tickets/channelaccount/add/")
    assert add.status_code == 200
    assert b"shown once the account is saved" in add.content
    response = admin_client.post(
        "/admin/tickets/channelaccount/add/",
        {
            "name": "Acme page",
            "kind": "messenger",
            "team": team_a.pk,
            "enabled": "on",
            "secret": "app-secret",
            "verify_token": "my-verify-token",
            "access_token": "page-token",
            "platform_account_id": "1234567890",
            "platform_address": "",
            "encoding_aes_key": "",
            "api_base_url": platform_api.url,
            "callback_url": "",
        },
        follow=True,
    )
    assert b"The platform accepted these credentials: they are Acme Store." in response.content
    account = ChannelAccount.objects.get(name="Acme page")
    assert (account.verify_token, account.access_token, account.platform_account_id) == (
        "my-verify-token",
        "page-token",
        "1234567890",
    )
    url = f"{settings.HELPDESK_BASE_URL.rstrip('/')}/webhooks/messenger/{account.pk}/"
    assert url.encode() in admin_client.get(f"/admin/tickets/channelaccount/{account.pk}/change/").content
    assert url.encode() in admin_client.get("/admin/tickets/channelaccount/").content


def test_credentials_the_platform_refuses_are_not_saved(
    admin_client: Client, team_a: Any, platform_api: FakePlatform
) -> None:
    refusal = {"ok": False, "error_code": 401, "description": "Unauthorized"}
    platform_api.answer("/botbad-token/getMe", Answer(status=401, body=json.dumps(refusal).encode()))
    response = admin_client.post(
        "/admin/tickets/channelaccount/add/",
        {
            "name": "Acme bot",
            "kind": "telegram",
            "team": team_a.pk,
            "enabled": "on",
            "secret": "webhook-secret",
            "access_token": "bad-token",
            "api_base_url": platform_api.url,
        },
    )
    assert response.status_code == 200
    assert b"The platform refused these credentials: the platform answered HTTP 401: Unauthorized" in response.content
    assert not ChannelAccount.objects.filter(name="Acme bot").exists()


def test_stored_secrets_are_never_sent_back_and_an_empty_field_keeps_them(admin_client: Client, team_a: Any) -> None:
    account = ChannelAccount.objects.create(
        name="Shop API", kind="api", team=team_a, secret="very-secret-1", access_token="token-secret-2"
    )
    page = admin_client.get(f"/admin/tickets/channelaccount/{account.pk}/change/").content.decode()
    assert "very-secret-1" not in page and "token-secret-2" not in page
    assert "Set; leave empty to keep it." in page
    form = {"name": "Shop API", "kind": "api", "team": team_a.pk, "enabled": "on", "secret": "", "access_token": ""}
    response = admin_client.post(f"/admin/tickets/channelaccount/{account.pk}/change/", form)
    assert response.status_code == 302, response.content[:3000]
    account.refresh_from_db()
    assert (account.secret, account.access_token) == ("very-secret-1", "token-secret-2")
    response = admin_client.post(f"/admin/tickets/channelaccount/{account.pk}/change/", {**form, "secret": "new-one"})
    assert response.status_code == 302
    account.refresh_from_db()
    assert (account.secret, account.access_token) == ("new-one", "token-secret-2")


def test_a_new_account_must_be_given_its_secret(admin_client: Client, team_a: Any) -> None:
    form = {"name": "No secret", "kind": "api", "team": team_a.pk, "enabled": "on", "secret": ""}
    response = admin_client.post("/admin/tickets/channelaccount/add/", form)
    assert response.status_code == 200 and b"This field is required." in response.content
    assert not ChannelAccount.objects.filter(name="No secret").exists()


def test_moving_the_api_base_url_in_the_admin_needs_the_secrets_typed_again(
    admin_client: Client, team_a: Any, platform_api: FakePlatform
) -> None:
    from tests.factories import ChannelAccountFactory

    account = ChannelAccountFactory(
        team=team_a, kind="telegram", name="Bot", secret="s1", access_token="9:stored", api_base_url=platform_api.url
    )
    response = admin_client.post(
        f"/admin/tickets/channelaccount/{account.pk}/change/",
        {
            "name": "Bot",
            "kind": "telegram",
            "team": team_a.pk,
            "enabled": "on",
            "secret": "",
            "verify_token": "",
            "access_token": "",
            "platform_account_id": "",
            "platform_address": "",
            "encoding_aes_key": "",
            "api_base_url": "https://elsewhere.example",
            "callback_url": "",
        },
    )
    assert response.status_code == 200  # the form again, with the errors
    assert response.content.decode().count("Type it again: the API base URL changed") == 1
    assert platform_api.requests == []
    account.refresh_from_db()
    assert account.api_base_url == platform_api.url


def test_only_superusers_see_and_make_api_tokens_and_a_key_is_shown_once(admin_client: Client, team_a: Any) -> None:
    from django.contrib.auth.models import Permission
    from rest_framework.authtoken.models import Token

    from tests.factories import UserFactory

    lead = UserFactory(teams=[team_a], is_staff=True)
    lead.user_permissions.add(*Permission.objects.filter(codename__endswith="tokenproxy"))
    other = UserFactory(teams=[team_a])
    lead_client = Client()
    lead_client.force_login(lead)
    assert lead_client.get("/admin/authtoken/tokenproxy/").status_code == 403
    assert lead_client.post("/admin/authtoken/tokenproxy/add/", {"user": lead.pk}).status_code == 403
    assert not Token.objects.exists()

    made = admin_client.post("/admin/authtoken/tokenproxy/add/", {"user": other.pk}, follow=True)
    key = Token.objects.get(user=other).key
    assert f"is {key}. Give it to them now" in made.content.decode()
    assert key not in admin_client.get("/admin/authtoken/tokenproxy/").content.decode()
