"""Agents' replies: stored, then delivered by a Celery task to the account's callback URL, signed.

In the embedded pass the task runs eagerly; in the production pass a real Celery worker process on Redis
delivers it, so these tests wait (with a deadline) for the worker's result in the database.
"""

import json
from typing import Any

import pytest
from django.conf import settings
from django.test import Client

from tests.factories import ChannelAccountFactory, ContactIdentityFactory, TicketFactory
from tests.support import FakePlatform, wait_for_status
from tickets.connectors import api
from tickets.models import DeliveryStatus, EventKind, Message

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def ticket(fake_platform: FakePlatform, agent_a: Any, team_a: Any) -> Any:
    account = ChannelAccountFactory(team=team_a, callback_url=fake_platform.url, secret="out-secret")
    return TicketFactory(team=team_a, identity=ContactIdentityFactory(channel_account=account, external_id="cust-7"))


def reply(agent: Any, ticket: Any, text: str) -> Message:
    client = Client()
    client.force_login(agent)
    response = client.post(f"/tickets/{ticket.number}/reply/", {"text": text}, headers={"HX-Request": "true"})
    assert response.status_code == 200
    return Message.objects.get(ticket=ticket, text=text)


def test_a_reply_is_delivered_signed_and_marked_sent(
    task_runner: str, fake_platform: FakePlatform, agent_a: Any, ticket: Any
) -> None:
    message = reply(agent_a, ticket, "We have shipped a replacement.")
    assert message.direction == "out" and message.author == agent_a
    message = wait_for_status(message, not_in={DeliveryStatus.QUEUED})
    assert message.delivery_status == DeliveryStatus.SENT, message.delivery_error
    assert message.external_id == fake_platform.reply_id
    [request] = fake_platform.requests
    assert request.headers[api.SIGNATURE_HEADER] == api.sign("out-secret", request.body)
    assert json.loads(request.body) == {
        "message_id": str(message.pk),
        "ticket": ticket.number,
        "recipient_id": "cust-7",
        "text": "We have shipped a replacement.",
        "sent_at": message.sent_at.isoformat(),
    }
    kinds = list(ticket.events.values_list("kind", flat=True))
    assert kinds == [EventKind.MESSAGE_OUT, EventKind.MESSAGE_STATUS]


def test_a_platform_that_refuses_the_reply_marks_it_failed_with_the_reason(
    task_runner: str, fake_platform: FakePlatform, agent_a: Any, ticket: Any
) -> None:
    fake_platform.statuses = [400]
    message = wait_for_status(reply(agent_a, ticket, "Hello?"), not_in={DeliveryStatus.QUEUED})
    assert message.delivery_status == DeliveryStatus.FAILED
    assert message.delivery_error == 'the platform answered HTTP 400: {"error": "nope"}'
    assert len(fake_platform.requests) == 1  # a 400 is not retried


@pytest.mark.production_stack
def test_a_worker_retries_a_platform_error_until_it_goes_through(
    task_runner: str, fake_platform: FakePlatform, agent_a: Any, ticket: Any
) -> None:
    fake_platform.statuses = [503, 503]
    message = wait_for_status(reply(agent_a, ticket, "Third time lucky"), not_in={DeliveryStatus.QUEUED})
    assert message.delivery_status == DeliveryStatus.SENT
    assert message.send_attempts == 3
    assert len(fake_platform.requests) == 3


@pytest.mark.production_stack
def test_a_worker_gives_up_after_the_last_retry_and_says_why(
    task_runner: str, fake_platform: FakePlatform, agent_a: Any, ticket: Any
) -> None:
    # More failures than Celery's own default cap of 3 retries: the helpdesk's count must end it, as failed.
    fake_platform.statuses = [503] * 20
    message = wait_for_status(reply(agent_a, ticket, "Anyone there?"), not_in={DeliveryStatus.QUEUED})
    assert message.delivery_status == DeliveryStatus.FAILED
    assert message.send_attempts == settings.HELPDESK_OUTBOUND_MAX_RETRIES + 1 == 6
    assert "HTTP 503" in message.delivery_error


def test_an_account_without_callback_url_keeps_the_reply_as_not_sent(agent_a: Any, team_a: Any) -> None:
    ticket = TicketFactory(team=team_a)
    message = reply(agent_a, ticket, "Nobody will get this")
    assert message.delivery_status == DeliveryStatus.NOT_SENT
    assert message.delivery_error == "the channel account has no callback URL"
    page = _page(agent_a, ticket)
    assert "Not sent: the channel account has no callback URL" in page


def test_an_empty_reply_is_refused_with_a_message(agent_a: Any, team_a: Any) -> None:
    ticket = TicketFactory(team=team_a)
    client = Client()
    client.force_login(agent_a)
    response = client.post(f"/tickets/{ticket.number}/reply/", {"text": "   "}, headers={"HX-Request": "true"})
    assert response.status_code == 400
    assert "This field is required." in response.content.decode()
    assert not Message.objects.exists()


def test_the_ticket_page_shows_the_delivery_status(
    task_runner: str, fake_platform: FakePlatform, agent_a: Any, ticket: Any
) -> None:
    wait_for_status(reply(agent_a, ticket, "Shown as sent"), not_in={DeliveryStatus.QUEUED})
    assert 'data-status="sent"' in _page(agent_a, ticket)


def _page(agent: Any, ticket: Any) -> str:
    client = Client()
    client.force_login(agent)
    return client.get(f"/tickets/{ticket.number}/").content.decode()


def test_a_2xx_answer_that_is_not_json_still_means_sent(
    task_runner: str, fake_platform: FakePlatform, agent_a: Any, ticket: Any
) -> None:
    fake_platform.raw_answer = b"OK"
    message = wait_for_status(reply(agent_a, ticket, "Plain answer"), not_in={DeliveryStatus.QUEUED})
    assert (message.delivery_status, message.external_id) == (DeliveryStatus.SENT, None)


def test_a_reply_id_never_turns_a_customer_message_into_a_duplicate(
    task_runner: str, fake_platform: FakePlatform, agent_a: Any, ticket: Any, client: Client
) -> None:
    from tests.support import delivery_body, signed_headers

    fake_platform.reply_id = "77"
    wait_for_status(reply(agent_a, ticket, "We sent id 77"), not_in={DeliveryStatus.QUEUED})
    account = ticket.identity.channel_account
    body = delivery_body(message_id="77", sender_id="cust-7", text="my own message 77")
    response = client.post(
        f"/webhooks/api/{account.pk}/",
        data=body,
        content_type="application/json",
        headers=signed_headers(account.secret, body),
    )
    assert response.json()["status"] == "processed"
    assert Message.objects.filter(external_id="77").count() == 2


def test_the_same_reply_id_for_two_replies_keeps_both_sent(
    task_runner: str, fake_platform: FakePlatform, agent_a: Any, ticket: Any
) -> None:
    fake_platform.reply_id = "same"
    first = wait_for_status(reply(agent_a, ticket, "one"), not_in={DeliveryStatus.QUEUED})
    second = wait_for_status(reply(agent_a, ticket, "two"), not_in={DeliveryStatus.QUEUED})
    assert (first.delivery_status, first.external_id) == (DeliveryStatus.SENT, "same")
    assert (second.delivery_status, second.external_id) == (DeliveryStatus.SENT, None)
    assert "already in use" in second.delivery_error
