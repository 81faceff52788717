"""The edges of platform deliveries found in review: statuses that must not move queued or failed replies,
echoes of equal replies, edits out of order, a NUL in the query string, a failed delivery's answer, profile
names, and secret headers in the admin.
"""

from typing import Any

import pytest
from django.test import Client

from tests.fake_platform import FakePlatform
from tests.tickets.platform_deliveries import (
    MESSAGE_IDS,
    NOW,
    PLATFORMS,
    SECRET,
    Platform,
    _json,
    account_for,
    meta_messaging,
    post,
    telegram_signed,
    whatsapp,
)
from tickets.models import ChannelAccount, DeliveryState, InboundDelivery, Message, Ticket

pytestmark = pytest.mark.django_db(transaction=True)


def ticket_with_replies(
    platform: Platform, team: Any, platform_api: FakePlatform, *statuses: str, text: str = "ok"
) -> tuple[ChannelAccount, Ticket, list[Message]]:
    """A ticket opened by the platform's contact, with our replies in the given statuses (no platform ids)."""
    account = account_for(platform, team, platform_api)
    message_id = MESSAGE_IDS.get(platform.kind, f"{platform.kind}-in-1")
    assert post(Client(), platform, account, platform.text(message_id, "Hello")).status_code == 200
    ticket = Ticket.objects.get(identity__channel_account=account)
    replies = [
        Message.objects.create(
            ticket=ticket,
            channel_account=account,
            direction="out",
            text=text,
            sent_at=ticket.created_at,
            delivery_status=status,
            send_attempts=1,
        )
        for status in statuses
    ]
    return account, ticket, replies


def test_a_watermark_moves_only_replies_the_platform_has_taken(platform_api: FakePlatform, team_a: Any) -> None:
    messenger = PLATFORMS[0]
    account, _ticket, replies = ticket_with_replies(messenger, team_a, platform_api, "queued", "failed", "sent")
    read = meta_messaging("page", "page-1", {"read": {"watermark": (NOW + 3600) * 1000}})
    assert post(Client(), messenger, account, read).status_code == 200
    assert [Message.objects.get(pk=r.pk).delivery_status for r in replies] == ["queued", "failed", "read"]


def test_echoes_of_two_same_replies_are_matched_in_the_order_they_were_sent(
    platform_api: FakePlatform, team_a: Any
) -> None:
    messenger = PLATFORMS[0]
    account, ticket, (first, second) = ticket_with_replies(messenger, team_a, platform_api, "sent", "sent")
    # The echoes come now, a moment after the replies: not at the module's NOW, which in a long run is minutes
    # before the replies and outside the skew an echo is matched within.
    echoed_at = int(first.sent_at.timestamp() * 1000) + 500
    for mid in ("m_echo_1", "m_echo_2"):
        echo = {
            "sender": {"id": "page-1"},
            "recipient": {"id": "cust-1"},
            "message": {"mid": mid, "text": "ok", "is_echo": True},
        }
        data = {
            "object": "page",
            "entry": [{"id": "page-1", "time": echoed_at, "messaging": [{**echo, "timestamp": echoed_at}]}],
        }
        assert post(Client(), messenger, account, data).status_code == 200
    assert [Message.objects.get(pk=m.pk).external_id for m in (first, second)] == ["m_echo_1", "m_echo_2"]
    assert Message.objects.filter(ticket=ticket, direction="out").count() == 2  # nothing stored twice


def test_an_edit_that_arrives_after_a_newer_one_does_not_undo_it(platform_api: FakePlatform, team_a: Any) -> None:
    telegram = PLATFORMS[3]
    account = account_for(telegram, team_a, platform_api)
    assert post(Client(), telegram, account, telegram.text("5", "v0")).status_code == 200
    person = {"id": 42, "is_bot": False, "first_name": "Ann"}
    chat = {"id": 42, "type": "private", "first_name": "Ann"}
    for update_id, (text, edited) in enumerate((("v2", NOW + 20), ("v1", NOW + 10)), start=10):
        edit = {"message_id": 5, "from": person, "chat": chat, "date": NOW, "edit_date": edited, "text": text}
        assert post(Client(), telegram, account, {"update_id": update_id, "edited_message": edit}).status_code == 200
    assert Message.objects.get(channel_account=account).text == "v2"


def test_a_nul_in_the_query_string_is_stored_without_it_not_a_500(platform_api: FakePlatform, team_a: Any) -> None:
    telegram = PLATFORMS[3]
    account = account_for(telegram, team_a, platform_api)
    signed = telegram_signed(account, "", _json(telegram.text("5", "Hi")))
    path = f"/webhooks/telegram/{account.pk}/?note=a%00b"
    response = Client().post(path, data=signed.body, content_type=signed.content_type, headers=signed.headers)
    assert response.status_code == 200, response.content
    assert InboundDelivery.objects.get(channel_account=account).query == {"note": "ab"}


def test_a_delivery_that_fails_still_gets_the_answer_its_platform_expects(
    platform_api: FakePlatform, team_a: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tickets.services import deliveries

    def broken(**kwargs: Any) -> Any:
        raise RuntimeError("the database went away")

    monkeypatch.setattr(deliveries, "message_receive", broken)
    twilio = PLATFORMS[5]
    account = account_for(twilio, team_a, platform_api)
    response = post(Client(), twilio, account, twilio.text("SMx", "Hi"))
    assert response.status_code == 200 and response["Content-Type"].startswith("text/xml")
    assert InboundDelivery.objects.get(channel_account=account).state == DeliveryState.FAILED


def test_the_profile_name_follows_the_platform_and_secret_headers_are_masked_in_the_admin(
    platform_api: FakePlatform, team_a: Any, admin_client: Client
) -> None:
    whatsapp_platform = PLATFORMS[2]
    account = account_for(whatsapp_platform, team_a, platform_api)
    for message_id, name in (("wamid.1", "Ann"), ("wamid.2", "Ann Smith")):
        message = {
            "from": "4915112345678",
            "id": message_id,
            "timestamp": str(NOW),
            "type": "text",
            "text": {"body": "Hi"},
        }
        contacts = [{"profile": {"name": name}, "wa_id": "4915112345678"}]
        data = whatsapp({"contacts": contacts, "messages": [message]})
        assert post(Client(), whatsapp_platform, account, data).status_code == 200
    assert Ticket.objects.get(identity__channel_account=account).identity.display_name == "Ann Smith"
    telegram = PLATFORMS[3]
    bot = account_for(telegram, team_a, platform_api)
    assert post(Client(), telegram, bot, telegram.text("5", "Hi")).status_code == 200
    delivery = InboundDelivery.objects.get(channel_account=bot)
    page = admin_client.get(f"/admin/tickets/inbounddelivery/{delivery.pk}/change/").content.decode()
    assert "(the account&#x27;s secret)" in page and SECRET not in page
