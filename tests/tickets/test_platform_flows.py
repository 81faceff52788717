"""Every platform the whole way: its handshake, a signed delivery becoming a ticket, a redelivery stored once,
an agent's reply reaching the (fake) platform's send API, its status callback, and what the helpdesk ignores.

The deliveries are built here from each platform's documented shape and signed here with the platform's
scheme (not with the connectors' own code); the platform's API is a real HTTP server on 127.0.0.1. In the
embedded pass replies go out eagerly, in the production pass through a real Celery worker.
"""

import base64
import hashlib
import hmac
import json
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.conf import settings
from django.test import Client

from tests.factories import ChannelAccountFactory
from tests.fake_platform import FakePlatform
from tickets.models import ChannelAccount, DeliveryState, DeliveryStatus, EventKind, InboundDelivery, Message, Ticket

pytestmark = pytest.mark.django_db(transaction=True)

SECRET = "platform-secret"
TOKEN = "access-token-1"
NOW = int(time.time())


@dataclass
class Posted:
    """A delivery as the platform would POST it: body, content type, headers and query string."""

    body: bytes
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)
    query: str = ""


@dataclass
class Platform:
    """How one platform talks: its account fields, deliveries, send API and answers."""

    kind: str
    account: dict[str, str]
    text: Callable[[str, str], dict[str, Any] | str]  # (message id, text) -> delivery
    sign: Callable[[ChannelAccount, str, Posted], Posted]  # (account, path, unsigned) -> signed
    send_path: str
    send_answer: dict[str, Any]
    sent_id: str
    contact: str
    status: Callable[[str], dict[str, Any] | str] | None = None  # (our message's platform id) -> delivery
    unknown: dict[str, Any] | str | None = None
    form: bool = False


def _json(data: dict[str, Any] | str) -> Posted:
    if isinstance(data, str):
        return Posted(body=data.encode(), content_type="text/xml")
    return Posted(body=json.dumps(data).encode())


def _form(data: dict[str, Any] | str) -> Posted:
    assert isinstance(data, dict)
    return Posted(body=urllib.parse.urlencode(data).encode(), content_type="application/x-www-form-urlencoded")


def hub_signed(account: ChannelAccount, path: str, posted: Posted) -> Posted:
    digest = hmac.new(account.secret.encode(), posted.body, hashlib.sha256).hexdigest()
    return Posted(posted.body, posted.content_type, {"X-Hub-Signature-256": f"sha256={digest}"})


def telegram_signed(account: ChannelAccount, path: str, posted: Posted) -> Posted:
    return Posted(posted.body, posted.content_type, {"X-Telegram-Bot-Api-Secret-Token": account.secret})


def line_signed(account: ChannelAccount, path: str, posted: Posted) -> Posted:
    digest = base64.b64encode(hmac.new(account.secret.encode(), posted.body, hashlib.sha256).digest()).decode()
    return Posted(posted.body, posted.content_type, {"x-line-signature": digest})


def x_signed(account: ChannelAccount, path: str, posted: Posted) -> Posted:
    digest = base64.b64encode(hmac.new(account.secret.encode(), posted.body, hashlib.sha256).digest()).decode()
    return Posted(posted.body, posted.content_type, {"x-twitter-webhooks-signature": f"sha256={digest}"})


def twilio_signed(account: ChannelAccount, path: str, posted: Posted) -> Posted:
    # Twilio signs the URL it called followed by each POST parameter's name and value, sorted by name.
    params = urllib.parse.parse_qsl(posted.body.decode(), keep_blank_values=True)
    signed = settings.HELPDESK_BASE_URL.rstrip("/") + path + "".join(k + v for k, v in sorted(params))
    digest = base64.b64encode(hmac.new(account.secret.encode(), signed.encode(), hashlib.sha1).digest()).decode()
    return Posted(posted.body, posted.content_type, {"X-Twilio-Signature": digest})


def wechat_signed(account: ChannelAccount, path: str, posted: Posted) -> Posted:
    timestamp, nonce = str(NOW), "n0nce"
    signature = hashlib.sha1("".join(sorted([account.secret, timestamp, nonce])).encode()).hexdigest()
    query = urllib.parse.urlencode({"signature": signature, "timestamp": timestamp, "nonce": nonce})
    return Posted(posted.body, posted.content_type, {}, query)


def meta_messaging(kind: str, page: str, event: dict[str, Any]) -> dict[str, Any]:
    event = {"sender": {"id": "cust-1"}, "recipient": {"id": page}, "timestamp": NOW * 1000, **event}
    return {"object": kind, "entry": [{"id": page, "time": NOW * 1000, "messaging": [event]}]}


def whatsapp(value: dict[str, Any]) -> dict[str, Any]:
    metadata = {"display_phone_number": "15550001111", "phone_number_id": "pn-1"}
    change = {"field": "messages", "value": {"messaging_product": "whatsapp", "metadata": metadata, **value}}
    return {"object": "whatsapp_business_account", "entry": [{"id": "waba-1", "changes": [change]}]}


def wechat_xml(fields: dict[str, str]) -> str:
    head = {"ToUserName": "gh_brand", "FromUserName": "o-cust"}
    inner = "".join(f"<{name}><![CDATA[{value}]]></{name}>" for name, value in {**head, **fields}.items())
    return f"<xml>{inner}<CreateTime>{NOW}</CreateTime></xml>"


PLATFORMS = [
    Platform(
        kind="messenger",
        account={"verify_token": "vt", "platform_account_id": "page-1"},
        text=lambda mid, text: meta_messaging("page", "page-1", {"message": {"mid": mid, "text": text}}),
        sign=hub_signed,
        send_path="/v21.0/me/messages",
        send_answer={"recipient_id": "cust-1", "message_id": "m_out_1"},
        sent_id="m_out_1",
        contact="cust-1",
        status=lambda mid: meta_messaging(
            "page", "page-1", {"delivery": {"mids": [mid], "watermark": (NOW + 60) * 1000}}
        ),
        unknown=meta_messaging("page", "page-1", {"reaction": {"mid": "m_1", "action": "react", "emoji": "x"}}),
    ),
    Platform(
        kind="instagram",
        account={"verify_token": "vt", "platform_account_id": "ig-1"},
        text=lambda mid, text: meta_messaging("instagram", "ig-1", {"message": {"mid": mid, "text": text}}),
        sign=hub_signed,
        send_path="/v21.0/me/messages",
        send_answer={"recipient_id": "cust-1", "message_id": "ig_out_1"},
        sent_id="ig_out_1",
        contact="cust-1",
        unknown=meta_messaging("instagram", "ig-1", {"reaction": {"mid": "m_1", "action": "react"}}),
    ),
    Platform(
        kind="whatsapp",
        account={"verify_token": "vt", "platform_account_id": "pn-1"},
        text=lambda mid, text: whatsapp(
            {
                "contacts": [{"profile": {"name": "Ann"}, "wa_id": "4915112345678"}],
                "messages": [
                    {"from": "4915112345678", "id": mid, "timestamp": str(NOW), "type": "text", "text": {"body": text}}
                ],
            }
        ),
        sign=hub_signed,
        send_path="/v21.0/pn-1/messages",
        send_answer={"messaging_product": "whatsapp", "messages": [{"id": "wamid.out1"}]},
        sent_id="wamid.out1",
        contact="4915112345678",
        status=lambda mid: whatsapp(
            {"statuses": [{"id": mid, "status": "read", "timestamp": str(NOW + 60), "recipient_id": "4915112345678"}]}
        ),
        unknown=whatsapp(
            {"messages": [{"from": "4915112345678", "id": "wamid.r", "timestamp": str(NOW), "type": "reaction"}]}
        ),
    ),
    Platform(
        kind="telegram",
        account={},
        text=lambda mid, text: {
            "update_id": int(mid),
            "message": {
                "message_id": int(mid),
                "from": {"id": 42, "is_bot": False, "first_name": "Ann"},
                "chat": {"id": 42, "type": "private", "first_name": "Ann"},
                "date": NOW,
                "text": text,
            },
        },
        sign=telegram_signed,
        send_path=f"/bot{TOKEN}/sendMessage",
        send_answer={"ok": True, "result": {"message_id": 77, "chat": {"id": 42}, "date": NOW, "text": "x"}},
        sent_id="42:77",
        contact="42",
        unknown={"update_id": 9, "my_chat_member": {"chat": {"id": 42, "type": "private"}}},
    ),
    Platform(
        kind="line",
        account={},
        text=lambda mid, text: {
            "destination": "U-bot",
            "events": [
                {
                    "type": "message",
                    "message": {"type": "text", "id": mid, "text": text},
                    "timestamp": NOW * 1000,
                    "source": {"type": "user", "userId": "U-cust"},
                    "replyToken": "reply-token",
                    "mode": "active",
                    "webhookEventId": f"evt-{mid}",
                    "deliveryContext": {"isRedelivery": False},
                }
            ],
        },
        sign=line_signed,
        send_path="/v2/bot/message/push",
        send_answer={"sentMessages": [{"id": "line-out-1", "quoteToken": "q"}]},
        sent_id="line-out-1",
        contact="U-cust",
        unknown={
            "destination": "U-bot",
            "events": [
                {
                    "type": "follow",
                    "timestamp": NOW * 1000,
                    "source": {"type": "user", "userId": "U-cust"},
                    "mode": "active",
                    "webhookEventId": "evt-follow",
                    "deliveryContext": {"isRedelivery": False},
                }
            ],
        },
    ),
    Platform(
        kind="sms",
        account={"platform_account_id": "AC123", "platform_address": "+15550001111"},
        text=lambda mid, text: {
            "MessageSid": mid,
            "SmsSid": mid,
            "AccountSid": "AC123",
            "From": "+4915112345678",
            "To": "+15550001111",
            "Body": text,
            "NumMedia": "0",
        },
        sign=twilio_signed,
        send_path="/2010-04-01/Accounts/AC123/Messages.json",
        send_answer={"sid": "SMout1", "status": "queued"},
        sent_id="SMout1",
        contact="+4915112345678",
        status=lambda sid: {"MessageSid": sid, "MessageStatus": "delivered", "AccountSid": "AC123"},
        unknown={"MessageSid": "SMout1", "MessageStatus": "sending", "AccountSid": "AC123"},
        form=True,
    ),
    Platform(
        kind="x",
        account={"platform_account_id": "bot-1"},
        text=lambda mid, text: {
            "for_user_id": "bot-1",
            "direct_message_events": [
                {
                    "type": "message_create",
                    "id": mid,
                    "created_timestamp": str(NOW * 1000),
                    "message_create": {
                        "target": {"recipient_id": "bot-1"},
                        "sender_id": "cust-x",
                        "message_data": {"text": text, "entities": {}},
                    },
                }
            ],
            "users": {"cust-x": {"id": "cust-x", "name": "Ann", "screen_name": "ann"}},
        },
        sign=x_signed,
        send_path="/2/dm_conversations/with/cust-x/messages",
        send_answer={"data": {"dm_conversation_id": "c-1", "dm_event_id": "dm-out-1"}},
        sent_id="dm-out-1",
        contact="cust-x",
        unknown={"for_user_id": "bot-1", "favorite_events": [{"id": "f1"}]},
    ),
    Platform(
        kind="wechat",
        account={},
        text=lambda mid, text: wechat_xml({"MsgType": "text", "Content": text}).replace(
            "</xml>", f"<MsgId>{mid}</MsgId></xml>"
        ),
        sign=wechat_signed,
        send_path="/cgi-bin/message/custom/send",
        send_answer={"errcode": 0, "errmsg": "ok", "msgid": 555},
        sent_id="555",
        contact="o-cust",
        unknown=wechat_xml({"MsgType": "event", "Event": "subscribe"}),
    ),
]
IDS = [platform.kind for platform in PLATFORMS]
MESSAGE_IDS = {"telegram": "5", "line": "100001", "sms": "SMin1", "wechat": "1234567"}


def account_for(platform: Platform, team: Any, platform_api: FakePlatform) -> ChannelAccount:
    return ChannelAccountFactory(
        kind=platform.kind,
        team=team,
        secret=SECRET,
        access_token=TOKEN,
        api_base_url=platform_api.url,
        **platform.account,
    )


def post(client: Client, platform: Platform, account: ChannelAccount, data: dict[str, Any] | str) -> Any:
    path = f"/webhooks/{platform.kind}/{account.pk}/"
    signed = platform.sign(account, path, (_form if platform.form else _json)(data))
    url = path + (f"?{signed.query}" if signed.query else "")
    return client.post(url, data=signed.body, content_type=signed.content_type, headers=signed.headers)


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


def wait_for_status(message: Message, *, not_in: set[str], timeout: float = 30.0) -> Message:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        message.refresh_from_db()
        if message.delivery_status not in not_in:
            return message
        time.sleep(0.05)
    raise AssertionError(f"message {message.pk} stayed {message.delivery_status} for {timeout} s")


def test_an_edit_keeps_the_earlier_text_and_an_attachment_is_listed_on_the_ticket_page(
    platform_api: FakePlatform, team_a: Any, agent_a: Any
) -> None:
    telegram = PLATFORMS[3]
    account = account_for(telegram, team_a, platform_api)
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
    assert [(a["kind"], a["media_id"]) for a in second.attachments] == [("image", "big-file")]
    agent = Client()
    agent.force_login(agent_a)
    page = agent.get(f"/tickets/{ticket.number}/").content.decode()
    # The thread shows the text as edited (the subject keeps the first words the ticket opened with).
    assert '<div class="text">Order 1235 is late</div>' in page
    assert '<div class="text">Order 1234 is late</div>' not in page
    assert 'class="edited"' in page and 'class="attachment attachment-image"' in page


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
    for mid in ("m_echo_1", "m_echo_2"):
        echo = {
            "sender": {"id": "page-1"},
            "recipient": {"id": "cust-1"},
            "message": {"mid": mid, "text": "ok", "is_echo": True},
        }
        data = {
            "object": "page",
            "entry": [{"id": "page-1", "time": NOW * 1000, "messaging": [{**echo, "timestamp": NOW * 1000}]}],
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
