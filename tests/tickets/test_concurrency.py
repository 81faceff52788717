"""Concurrent deliveries against the real server process: duplicates stored once, one ticket per sender."""

import threading
import urllib.request
from typing import Any

import pytest

from tests.factories import ChannelAccountFactory
from tests.support import delivery_body, signed_headers
from tickets.models import DeliveryState, InboundDelivery, Message, Ticket

pytestmark = pytest.mark.django_db(transaction=True)

CONCURRENCY = 32


def post_all_at_once(url: str, bodies: list[bytes], secret: str) -> list[int]:
    """POST every body from its own thread, released together; the HTTP statuses, in order."""
    barrier = threading.Barrier(len(bodies))
    statuses: list[int] = [0] * len(bodies)

    def send(index: int) -> None:
        request = urllib.request.Request(
            url, data=bodies[index], method="POST", headers=signed_headers(secret, bodies[index])
        )
        barrier.wait(timeout=30)
        with urllib.request.urlopen(request, timeout=60) as response:
            statuses[index] = response.status

    threads = [threading.Thread(target=send, args=(i,)) for i in range(len(bodies))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=90)
    return statuses


def test_32_concurrent_copies_of_one_message_are_stored_once(live_server_url: str) -> None:
    account: Any = ChannelAccountFactory()
    body = delivery_body(message_id="same-id", sender_id="new-sender")
    statuses = post_all_at_once(f"{live_server_url}/webhooks/api/{account.pk}/", [body] * CONCURRENCY, account.secret)
    assert statuses == [200] * CONCURRENCY
    assert Message.objects.filter(external_id="same-id").count() == 1
    assert Ticket.objects.count() == 1
    states = list(InboundDelivery.objects.values_list("state", flat=True))
    assert len(states) == CONCURRENCY  # every delivery is on record...
    assert states.count(DeliveryState.PROCESSED) == 1  # ...one applied, the rest recognized as duplicates
    assert states.count(DeliveryState.DUPLICATE) == CONCURRENCY - 1


def test_32_concurrent_first_messages_from_one_sender_share_one_ticket(live_server_url: str) -> None:
    account: Any = ChannelAccountFactory()
    bodies = [delivery_body(message_id=f"m-{i}", sender_id="eager-sender") for i in range(CONCURRENCY)]
    statuses = post_all_at_once(f"{live_server_url}/webhooks/api/{account.pk}/", bodies, account.secret)
    assert statuses == [200] * CONCURRENCY
    ticket = Ticket.objects.get()
    assert ticket.messages.count() == CONCURRENCY
    assert ticket.contact.identities.count() == 1
