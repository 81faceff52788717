"""How each platform talks, for the end-to-end platform tests: its account fields, its deliveries built from
the platform's documented shapes and signed here with its scheme (not with the connectors' own code), its
send API path and answer, and the helpers that post them to /webhooks/<kind>/<account>/.
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

from django.conf import settings
from django.test import Client

from tests.factories import ChannelAccountFactory
from tests.fake_platform import FakePlatform
from tickets.models import ChannelAccount

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
