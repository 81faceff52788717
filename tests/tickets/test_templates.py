"""WhatsApp's approved templates: the only way to write to a customer more than 24 hours after their last message.

The reply box offers the account's templates when the window has closed; the agent fills in the values; the
reply goes out through the Cloud API's template message to the fake platform (a real HTTP server on 127.0.0.1),
in the production pass from a real Celery worker.
"""

from typing import Any

import pytest
from django.test import Client

from tests.fake_platform import FakePlatform
from tests.support import wait_for_status
from tests.tickets.platform_deliveries import NOW, PLATFORMS, TOKEN, account_for, post, whatsapp
from tickets.admin_messaging import MessageTemplateForm
from tickets.models import ChannelAccount, DeliveryStatus, Message, MessageTemplate, Ticket

pytestmark = pytest.mark.django_db(transaction=True)

WHATSAPP = next(p for p in PLATFORMS if p.kind == "whatsapp")
TELEGRAM = next(p for p in PLATFORMS if p.kind == "telegram")
BODY = "Hello {{1}}, your order {{2}} has shipped."


def quiet_for_a_day(account: ChannelAccount) -> Ticket:
    """A WhatsApp ticket whose customer last wrote 25 hours ago: free text is closed."""
    message = {"from": "4915112345678", "id": "wamid.old", "timestamp": str(NOW - 25 * 3600), "type": "text"}
    message["text"] = {"body": "Where is my order?"}  # type: ignore[assignment]
    assert post(Client(), WHATSAPP, account, whatsapp({"messages": [message]})).status_code == 200
    return Ticket.objects.get(identity__channel_account=account)


def signed_in(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def account(platform_api: FakePlatform, team_a: Any) -> ChannelAccount:
    return account_for(WHATSAPP, team_a, platform_api)


@pytest.fixture
def template(account: ChannelAccount) -> MessageTemplate:
    return MessageTemplate.objects.create(channel_account=account, name="order_shipped", language="en_US", body=BODY)


def test_the_reply_box_offers_the_templates_once_the_window_has_closed(
    account: ChannelAccount, template: MessageTemplate, agent_a: Any
) -> None:
    MessageTemplate.objects.create(channel_account=account, name="retired", language="en_US", body="x", active=False)
    ticket = quiet_for_a_day(account)
    page = signed_in(agent_a).get(f"/tickets/{ticket.number}/").content.decode()
    assert "send an approved template below" in page
    assert f'id="template-{template.pk}"' in page and "order_shipped" in page and "retired" not in page
    assert f'name="value_{template.pk}_1"' in page and f'name="value_{template.pk}_2"' in page
    assert f'name="value_{template.pk}_3"' not in page


def test_a_template_reply_goes_out_as_a_template_message_with_the_agents_values(
    task_runner: str, platform_api: FakePlatform, account: ChannelAccount, template: MessageTemplate, agent_a: Any
) -> None:
    ticket = quiet_for_a_day(account)
    platform_api.answer(WHATSAPP.send_path, {"messaging_product": "whatsapp", "messages": [{"id": "wamid.tpl1"}]})
    values = {"template": template.pk, f"value_{template.pk}_1": "Ann", f"value_{template.pk}_2": "A-1234"}
    response = signed_in(agent_a).post(f"/tickets/{ticket.number}/template/", values)
    assert response.status_code == 302
    reply = Message.objects.get(ticket=ticket, direction="out")
    assert reply.text == "Hello Ann, your order A-1234 has shipped."
    assert (reply.template_id, reply.template_parameters) == (template.pk, ["Ann", "A-1234"])
    reply = wait_for_status(reply, not_in={DeliveryStatus.QUEUED})
    assert (reply.delivery_status, reply.external_id) == (DeliveryStatus.SENT, "wamid.tpl1"), reply.delivery_error
    [sent] = [r for r in platform_api.requests if r.path == WHATSAPP.send_path]
    assert sent.headers["Authorization"] == f"Bearer {TOKEN}"
    body = sent.json()
    assert (body["type"], body["to"]) == ("template", "4915112345678")
    assert body["template"]["name"] == "order_shipped"
    assert body["template"]["language"] == {"code": "en_US"}
    assert body["template"]["components"] == [
        {"type": "body", "parameters": [{"type": "text", "text": "Ann"}, {"type": "text", "text": "A-1234"}]}
    ]
    page = signed_in(agent_a).get(f"/tickets/{ticket.number}/").content.decode()
    assert "Hello Ann, your order A-1234 has shipped." in page


@pytest.mark.parametrize(
    ("values", "said"),
    [
        ({"1": "Ann"}, "needs 2 value(s), each filled in"),
        ({"1": "Ann", "2": "  "}, "needs 2 value(s), each filled in"),
        ({"1": "Ann", "2": "line\nbreak"}, "value 2 may not hold a line break"),
        ({"1": "x" * 1025, "2": "A-1"}, "value 1 is longer than 1024 characters"),
    ],
)
def test_values_the_platform_would_refuse_are_refused_before_anything_is_stored(
    account: ChannelAccount, template: MessageTemplate, agent_a: Any, values: dict[str, str], said: str
) -> None:
    ticket = quiet_for_a_day(account)
    posted = {"template": template.pk, **{f"value_{template.pk}_{n}": value for n, value in values.items()}}
    response = signed_in(agent_a).post(f"/tickets/{ticket.number}/template/", posted)
    assert response.status_code == 400 and said in response.content.decode()
    assert not Message.objects.filter(ticket=ticket, direction="out").exists()


def test_a_template_of_another_account_or_platform_cannot_be_sent(
    platform_api: FakePlatform, account: ChannelAccount, team_a: Any, agent_a: Any, agent_b: Any
) -> None:
    other = MessageTemplate.objects.create(
        channel_account=account_for(WHATSAPP, team_a, platform_api), name="other", language="en", body="Hi"
    )
    ticket = quiet_for_a_day(account)
    response = signed_in(agent_a).post(f"/tickets/{ticket.number}/template/", {"template": other.pk})
    assert response.status_code == 400 and b"not one this ticket" in response.content
    assert signed_in(agent_a).post(f"/tickets/{ticket.number}/template/", {}).status_code == 400
    # Someone who may not see the ticket learns nothing of it.
    assert signed_in(agent_b).post(f"/tickets/{ticket.number}/template/", {"template": other.pk}).status_code == 404

    telegram = account_for(TELEGRAM, team_a, platform_api)
    wrong = MessageTemplate.objects.create(channel_account=telegram, name="tg", language="en", body="Hi")
    assert post(Client(), TELEGRAM, telegram, TELEGRAM.text("9", "Hello")).status_code == 200
    telegram_ticket = Ticket.objects.get(identity__channel_account=telegram)
    response = signed_in(agent_a).post(f"/tickets/{telegram_ticket.number}/template/", {"template": wrong.pk})
    assert response.status_code == 400
    assert not Message.objects.filter(direction="out").exists()
    assert [r for r in platform_api.requests if r.method == "POST"] == []


@pytest.mark.parametrize(
    ("body", "valid"),
    [
        ("Hello {{1}}, order {{2}}", True),
        ("No values at all", True),
        ("Hello {{2}}", False),
        ("Hello {{1}} and {{3}}", False),
    ],
)
def test_the_admin_takes_only_bodies_whose_placeholders_run_in_order(
    account: ChannelAccount, body: str, valid: bool
) -> None:
    form = MessageTemplateForm(
        data={"channel_account": account.pk, "name": "t", "language": "en", "body": body, "active": True}
    )
    assert form.is_valid() is valid, form.errors
    if not valid:
        assert "{{1}}, {{2}}... in order" in str(form.errors["body"])


@pytest.mark.parametrize(
    "posted",
    [
        {"template": "²"},  # a digit to str.isdigit, not to int()
        {"template": "{pk}", "value_{pk}_1": "Ann", "value_{pk}_2": "A\x00B"},
        {"template": "{pk}", "value_{pk}_1": "Ann", "value_{pk}_2": "A\rB"},
    ],
)
def test_odd_input_is_a_400_not_an_error(
    account: ChannelAccount, template: MessageTemplate, agent_a: Any, posted: dict[str, str]
) -> None:
    ticket = quiet_for_a_day(account)
    data = {key.format(pk=template.pk): value.format(pk=template.pk) for key, value in posted.items()}
    response = signed_in(agent_a).post(f"/tickets/{ticket.number}/template/", data)
    assert response.status_code == 400
    assert not Message.objects.filter(ticket=ticket, direction="out").exists()
