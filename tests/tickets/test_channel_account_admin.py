"""Channel accounts in the admin: the platform credentials, and the webhook URL to paste into the platform."""

from typing import Any

import pytest
from django.conf import settings
from django.test import Client

from tickets.models import ChannelAccount

pytestmark = pytest.mark.django_db


def test_a_new_account_is_given_the_webhook_url_to_paste_into_the_platform(admin_client: Client, team_a: Any) -> None:
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
            "api_base_url": "",
            "callback_url": "",
        },
    )
    assert response.status_code == 302, response.content[:2000]
    account = ChannelAccount.objects.get(name="Acme page")
    assert (account.verify_token, account.access_token, account.platform_account_id) == (
        "my-verify-token",
        "page-token",
        "1234567890",
    )
    url = f"{settings.HELPDESK_BASE_URL.rstrip('/')}/webhooks/messenger/{account.pk}/"
    assert url.encode() in admin_client.get(f"/admin/tickets/channelaccount/{account.pk}/change/").content
    assert url.encode() in admin_client.get("/admin/tickets/channelaccount/").content
