"""Every platform the whole way: its handshake, a signed delivery becoming a ticket, a redelivery stored once,
an agent's reply reaching the (fake) platform's send API, its status callback, and what the helpdesk ignores.

The deliveries come from tests/tickets/platform_deliveries.py; the platform's API is a real HTTP server on
127.0.0.1. In the embedded pass replies go out eagerly, in the production pass through a real Celery worker.
"""

import base64
import hashlib
import hmac
import json
import urllib.parse
from typing import Any

import pytest
from django.test import Client

from tests.fake_platform import Answer, FakePlatform
from tests.support import wait_for_field, wait_for_status
from tests.tickets.platform_deliveries import (
    IDS,
    MESSAGE_IDS,
    NOW,
    PLATFORMS,
    SECRET,
    TOKEN,
    Platform,
    Posted,
    _form,
    _json,
    account_for,
    post,
    wechat_signed,
    whatsapp,
)
from tickets.models import ChannelAccount, DeliveryState, DeliveryStatus, EventKind, InboundDelivery, Message, Ticket

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.parametrize("platform", PLATFORMS, ids=IDS)
def test_a_delivery_becomes_a_ticket_once_and_the_reply_reaches_the_platform(
    platform: Platform, task_runner: str, platform_api: FakePlatform, team_a: Any, agent_a: Any
) -> None:
    account = account_for(platform, team_a, platform_api)
    client = Client()
    message_id = MESSAGE_IDS.get(platform.kind, f"{platform.kind}-in-1")
    first = post(client, platform, account, platform.text(message_id, "My parcel never came"))
    assert first.status_code == 200, first.content
    again = post(client, platform, account, platform.text(message_id, "My parcel never came"))
    assert again.status_code == 200, again.content
    [ticket] = Ticket.objects.filter(identity__channel_account=account)
    assert ticket.identity.external_id == platform.contact
    assert list(ticket.messages.values_list("text", flat=True)) == ["My parcel never came"]
    states = list(
        InboundDelivery.objects.filter(channel_account=account).order_by("id").values_list("state", flat=True)
    )
    assert states == [DeliveryState.PROCESSED, DeliveryState.DUPLICATE]

    platform_api.answer(platform.send_path, platform.send_answer)
    agent = Client()
    agent.force_login(agent_a)
    response = agent.post(f"/tickets/{ticket.number}/reply/", {"text": "A new one is on its way"})
    assert response.status_code in (200, 302)
    reply = Message.objects.get(ticket=ticket, direction="out")
    reply = wait_for_status(reply, not_in={DeliveryStatus.QUEUED})
    assert (reply.delivery_status, reply.external_id) == (DeliveryStatus.SENT, platform.sent_id), reply.delivery_error
    [request] = [r for r in platform_api.requests if r.path == platform.send_path]
    assert "A new one is on its way" in urllib.parse.unquote_plus(request.body.decode())
    assert TOKEN in request.headers.get("Authorization", "") + json.dumps(request.query) + request.path or (
        platform.kind == "sms"  # HTTP Basic: the account SID and the auth token, base64-encoded
        and request.headers["Authorization"] == "Basic " + base64.b64encode(f"AC123:{TOKEN}".encode()).decode()
    )

    if platform.form:
        # Twilio is told where to report this message's statuses: our webhook for the account.
        assert request.form()["StatusCallback"] == [account.webhook_url()]
    if platform.status is not None:
        status = post(client, platform, account, platform.status(platform.sent_id))
        assert status.status_code == 200, status.content
        reply.refresh_from_db()
        assert reply.delivery_status in (DeliveryStatus.DELIVERED, DeliveryStatus.READ)
        assert ticket.events.filter(kind=EventKind.MESSAGE_STATUS, data__status=reply.delivery_status).exists()


@pytest.mark.parametrize("platform", PLATFORMS, ids=IDS)
def test_what_the_helpdesk_does_not_act_on_is_stored_answered_and_marked_ignored(
    platform: Platform, platform_api: FakePlatform, team_a: Any
) -> None:
    account = account_for(platform, team_a, platform_api)
    assert platform.unknown is not None
    response = post(Client(), platform, account, platform.unknown)
    assert response.status_code == 200, response.content
    delivery = InboundDelivery.objects.get(channel_account=account)
    assert delivery.state == DeliveryState.IGNORED and delivery.summary["ignored"], delivery.summary
    assert not Ticket.objects.filter(identity__channel_account=account).exists()


@pytest.mark.parametrize("platform", PLATFORMS, ids=IDS)
def test_a_delivery_signed_with_another_secret_is_refused_and_kept(
    platform: Platform, platform_api: FakePlatform, team_a: Any
) -> None:
    account = account_for(platform, team_a, platform_api)
    impostor = ChannelAccount(kind=platform.kind, secret="not-the-secret")
    path = f"/webhooks/{platform.kind}/{account.pk}/"
    data = platform.text(MESSAGE_IDS.get(platform.kind, "m-9"), "Hi")
    signed = platform.sign(impostor, path, (_form if platform.form else _json)(data))
    url = path + (f"?{signed.query}" if signed.query else "")
    response = Client().post(url, data=signed.body, content_type=signed.content_type, headers=signed.headers)
    assert response.status_code in (401, 403), response.content
    assert response.json()["error"]
    assert InboundDelivery.objects.get(channel_account=account).state == DeliveryState.REJECTED
    assert not Ticket.objects.filter(identity__channel_account=account).exists()


def test_the_meta_handshake_echoes_the_challenge_only_for_the_right_token(
    platform_api: FakePlatform, team_a: Any
) -> None:
    account = account_for(PLATFORMS[0], team_a, platform_api)
    url = f"/webhooks/messenger/{account.pk}/"
    good = Client().get(url, {"hub.mode": "subscribe", "hub.verify_token": "vt", "hub.challenge": "1158201444"})
    assert (good.status_code, good.content) == (200, b"1158201444")
    bad = Client().get(url, {"hub.mode": "subscribe", "hub.verify_token": "nope", "hub.challenge": "1"})
    assert bad.status_code == 403 and bad.json()["error"]


def test_the_x_crc_challenge_is_answered_with_its_signature(platform_api: FakePlatform, team_a: Any) -> None:
    account = account_for(PLATFORMS[6], team_a, platform_api)
    response = Client().get(f"/webhooks/x/{account.pk}/", {"crc_token": "challenge-123"})
    expected = base64.b64encode(hmac.new(SECRET.encode(), b"challenge-123", hashlib.sha256).digest()).decode()
    assert response.status_code == 200 and response.json() == {"response_token": f"sha256={expected}"}


def test_the_wechat_handshake_echoes_echostr_only_when_signed(platform_api: FakePlatform, team_a: Any) -> None:
    account = account_for(PLATFORMS[7], team_a, platform_api)
    signed = wechat_signed(account, "", Posted(b""))
    query = dict(urllib.parse.parse_qsl(signed.query))
    good = Client().get(f"/webhooks/wechat/{account.pk}/", {**query, "echostr": "hello-wechat"})
    assert (good.status_code, good.content) == (200, b"hello-wechat")
    bad = Client().get(f"/webhooks/wechat/{account.pk}/", {**query, "signature": "0" * 40, "echostr": "x"})
    assert bad.status_code == 403


def test_an_edit_keeps_the_earlier_text_and_a_photo_is_fetched_and_shown_on_the_ticket_page(
    task_runner: str, platform_api: FakePlatform, team_a: Any, agent_a: Any
) -> None:
    telegram = PLATFORMS[3]
    account = account_for(telegram, team_a, platform_api)
    # The Bot API: getFile gives the largest photo's path on its file server.
    got_file = {"ok": True, "result": {"file_id": "big-file", "file_path": "photos/file_7.jpg"}}
    platform_api.answer(f"/bot{TOKEN}/getFile", got_file)
    jpeg = Answer(body=b"\xff\xd8\xff\xe0jpeg", content_type="application/octet-stream")
    platform_api.answer(f"/file/bot{TOKEN}/photos/file_7.jpg", jpeg)
    client = Client()
    assert post(client, telegram, account, telegram.text("5", "Order 1234 is late")).status_code == 200
    sender = {"id": 42, "is_bot": False, "first_name": "Ann"}
    chat = {"id": 42, "type": "private", "first_name": "Ann"}
    edit = {
        "update_id": 6,
        "edited_message": {
            "message_id": 5,
            "from": sender,
            "chat": chat,
            "date": NOW,
            "edit_date": NOW + 30,
            "text": "Order 1235 is late",
        },
    }
    assert post(client, telegram, account, edit).status_code == 200
    photo = {
        "update_id": 7,
        "message": {
            "message_id": 6,
            "from": sender,
            "chat": chat,
            "date": NOW + 40,
            "photo": [
                {"file_id": "small-file", "file_unique_id": "s", "width": 90, "height": 90, "file_size": 900},
                {"file_id": "big-file", "file_unique_id": "b", "width": 800, "height": 800, "file_size": 80000},
            ],
            "caption": "The box it came in",
        },
    }
    assert post(client, telegram, account, photo).status_code == 200
    ticket = Ticket.objects.get(identity__channel_account=account)
    first, second = ticket.messages.order_by("id")
    assert (first.text, first.edited_at is not None) == ("Order 1235 is late", True)
    event = ticket.events.get(kind=EventKind.MESSAGE_EDITED)
    assert (event.data["before"], event.data["message_id"]) == ("Order 1234 is late", first.pk)
    assert second.text == "The box it came in"
    [photo_file] = second.attachments.all()
    assert (photo_file.kind, photo_file.media_id) == ("image", "big-file")
    photo_file = wait_for_field(photo_file, "state", not_in={"pending"})
    assert (photo_file.state, photo_file.name, photo_file.mime_type) == ("stored", "file_7.jpg", "image/jpeg")
    agent = Client()
    agent.force_login(agent_a)
    page = agent.get(f"/tickets/{ticket.number}/").content.decode()
    # The thread shows the text as edited (the subject keeps the first words the ticket opened with).
    assert '<div class="text">Order 1235 is late</div>' in page
    assert '<div class="text">Order 1234 is late</div>' not in page
    assert 'class="edited"' in page and f'<img src="/attachments/{photo_file.pk}/"' in page


def test_whatsapp_takes_no_free_text_a_day_after_the_customers_last_message(
    platform_api: FakePlatform, team_a: Any, agent_a: Any
) -> None:
    wa = PLATFORMS[2]
    account = account_for(wa, team_a, platform_api)
    client, agent = Client(), Client()
    agent.force_login(agent_a)
    for message_id, sent in (("wamid.old", NOW - 25 * 3600), ("wamid.new", NOW - 3600)):
        message = {
            "from": "4915112345678",
            "id": message_id,
            "timestamp": str(sent),
            "type": "text",
            "text": {"body": "Hi"},
        }
        assert post(client, wa, account, whatsapp({"messages": [message]})).status_code == 200
        ticket = Ticket.objects.get(identity__channel_account=account)
        page = agent.get(f"/tickets/{ticket.number}/").content.decode()
        if message_id == "wamid.old":
            # Said before the agent types, and enforced when they send anyway.
            assert "WhatsApp accepts free text only within 24 hours of the customer&#x27;s last message" in page
            refused = agent.post(f"/tickets/{ticket.number}/reply/", {"text": "Sorry for the wait"})
            assert refused.status_code == 400 and b"WhatsApp accepts free text only" in refused.content
            assert not Message.objects.filter(ticket=ticket, direction="out").exists()
        else:
            assert "WhatsApp accepts free text only" not in page
            assert "The platform takes free text until" in page
    assert platform_api.requests == []
