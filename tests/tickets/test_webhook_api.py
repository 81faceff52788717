"""POST /webhooks/api/<account>/ from the outside: what a sender sees, and what is stored."""

from typing import Any

import pytest
from django.test import Client

from tests.factories import ChannelAccountFactory
from tests.support import delivery_body, signed_headers
from tickets.models import DeliveryState, EventKind, InboundDelivery, Message, Status, Ticket, TicketEvent

pytestmark = pytest.mark.django_db


def post(client: Client, account: Any, body: bytes, headers: dict[str, str] | None = None) -> Any:
    headers = signed_headers(account.secret, body) if headers is None else headers
    return client.post(f"/webhooks/api/{account.pk}/", data=body, content_type="application/json", headers=headers)


def test_a_signed_message_becomes_a_ticket(client: Client, account_a: Any) -> None:
    body = delivery_body(message_id="m-1", sender_id="c-1", sender_name="Ann", text="My parcel is late")
    response = post(client, account_a, body)
    assert response.status_code == 200, response.content
    ticket = Ticket.objects.get()
    assert response.json() == {
        "delivery": InboundDelivery.objects.get().pk,
        "status": "processed",
        "tickets": [ticket.number],
        "messages": [Message.objects.get().pk],
    }
    assert ticket.team == account_a.team
    assert ticket.status == Status.OPEN
    assert ticket.contact.display_name == "Ann"
    assert ticket.identity.external_id == "c-1"
    assert ticket.preview == "My parcel is late"
    message = ticket.messages.get()
    assert (message.external_id, message.direction, message.text) == ("m-1", "in", "My parcel is late")
    assert list(ticket.events.values_list("kind", flat=True)) == [EventKind.CREATED, EventKind.MESSAGE_IN]


def test_the_raw_delivery_is_stored_with_its_headers(client: Client, account_a: Any) -> None:
    body = delivery_body()
    post(client, account_a, body)
    delivery = InboundDelivery.objects.get()
    assert bytes(delivery.body) == body
    assert delivery.headers["X-Helpdesk-Signature"].startswith("sha256=")
    assert delivery.state == DeliveryState.PROCESSED


def test_ticket_numbers_count_up(client: Client, account_a: Any) -> None:
    for sender in ("c-1", "c-2", "c-3"):
        post(client, account_a, delivery_body(sender_id=sender))
    numbers = list(Ticket.objects.order_by("id").values_list("number", flat=True))
    assert numbers == [numbers[0], numbers[0] + 1, numbers[0] + 2]


def test_the_same_message_twice_is_stored_once_and_answered_200_twice(client: Client, account_a: Any) -> None:
    body = delivery_body(message_id="dup-1")
    first, second = post(client, account_a, body), post(client, account_a, body)
    assert (first.status_code, second.status_code) == (200, 200)
    assert second.json()["status"] == "duplicate"
    assert Message.objects.count() == 1
    assert Ticket.objects.count() == 1
    assert TicketEvent.objects.filter(kind=EventKind.MESSAGE_IN).count() == 1


def test_the_same_message_id_on_another_account_is_another_message(client: Client, account_a: Any) -> None:
    other = ChannelAccountFactory(team=account_a.team)
    post(client, account_a, delivery_body(message_id="same"))
    post(client, other, delivery_body(message_id="same"))
    assert Message.objects.count() == 2


# Threading: which ticket a message joins.


def test_a_second_message_joins_the_open_ticket(client: Client, account_a: Any) -> None:
    post(client, account_a, delivery_body(sender_id="c-1", text="first"))
    post(client, account_a, delivery_body(sender_id="c-1", text="second"))
    ticket = Ticket.objects.get()
    assert list(ticket.messages.values_list("text", flat=True)) == ["first", "second"]
    assert ticket.preview == "second"


def test_a_message_joins_an_open_ticket_without_changing_it(client: Client, account_a: Any) -> None:
    post(client, account_a, delivery_body(sender_id="c-1"))
    post(client, account_a, delivery_body(sender_id="c-1"))
    ticket = Ticket.objects.get()
    assert ticket.status == Status.OPEN
    assert ticket.messages.count() == 2
    assert not ticket.events.filter(kind=EventKind.STATUS).exists()


@pytest.mark.parametrize("status", [Status.PENDING, Status.SOLVED])
def test_a_message_on_a_pending_or_solved_ticket_reopens_it(client: Client, account_a: Any, status: Status) -> None:
    post(client, account_a, delivery_body(sender_id="c-1"))
    Ticket.objects.update(status=status)
    post(client, account_a, delivery_body(sender_id="c-1"))
    ticket = Ticket.objects.get()
    assert ticket.status == Status.OPEN
    assert ticket.messages.count() == 2
    reopened = ticket.events.get(kind=EventKind.STATUS)
    assert reopened.data == {"from": status.value, "to": "open", "reason": "the customer wrote again"}


def test_a_message_after_a_closed_ticket_makes_a_new_ticket(client: Client, account_a: Any) -> None:
    post(client, account_a, delivery_body(sender_id="c-1"))
    Ticket.objects.update(status=Status.CLOSED)
    post(client, account_a, delivery_body(sender_id="c-1"))
    closed, new = Ticket.objects.order_by("id")
    assert (closed.status, new.status) == (Status.CLOSED, Status.OPEN)
    assert closed.contact_id == new.contact_id
    assert new.messages.count() == 1


def test_different_senders_get_different_tickets(client: Client, account_a: Any) -> None:
    post(client, account_a, delivery_body(sender_id="c-1"))
    post(client, account_a, delivery_body(sender_id="c-2"))
    assert Ticket.objects.count() == 2


# Bad input: a clear JSON error, never a 500.


def test_bad_signature_is_401_and_the_delivery_is_kept_as_rejected(client: Client, account_a: Any) -> None:
    body = delivery_body()
    response = post(client, account_a, body, headers=signed_headers("wrong-secret", body))
    assert response.status_code == 401
    assert "does not match" in response.json()["error"]
    delivery = InboundDelivery.objects.get()
    assert (delivery.state, bytes(delivery.body)) == (DeliveryState.REJECTED, body)
    assert not Ticket.objects.exists()


def test_missing_signature_is_401(client: Client, account_a: Any) -> None:
    response = post(client, account_a, delivery_body(), headers={})
    assert response.status_code == 401
    assert response.json() == {"error": "missing X-Helpdesk-Signature header"}


def test_unknown_account_is_404(client: Client, db: None) -> None:
    body = delivery_body()
    response = client.post(
        "/webhooks/api/999999/", data=body, content_type="application/json", headers=signed_headers("x", body)
    )
    assert response.status_code == 404
    assert response.json() == {"error": "there is no Generic API channel account 999999"}


def test_unknown_channel_kind_is_404(client: Client, account_a: Any) -> None:
    response = client.post(f"/webhooks/fax/{account_a.pk}/", data=b"{}", content_type="application/json")
    assert response.status_code == 404
    assert response.json()["error"].startswith("there is no channel kind 'fax'; the kinds are api, messenger")


def test_disabled_account_is_403(client: Client, account_a: Any) -> None:
    account_a.enabled = False
    account_a.save()
    response = post(client, account_a, delivery_body())
    assert response.status_code == 403
    assert "disabled" in response.json()["error"]
    assert InboundDelivery.objects.get().state == DeliveryState.REJECTED


@pytest.mark.parametrize(
    ("body", "error"),
    [
        (b"{oops", "the body is not valid JSON"),
        (delivery_body(text=None), "missing field 'text'"),
        (delivery_body(message_id=None), "missing field 'message_id'"),
        (delivery_body(sender_id=None), "missing field 'sender_id'"),
        (delivery_body(sent_at=None), "missing field 'sent_at'"),
        (delivery_body(sent_at="last tuesday"), "field 'sent_at' must be an ISO 8601 date-time"),
    ],
)
def test_malformed_body_is_400_naming_the_problem(client: Client, account_a: Any, body: bytes, error: str) -> None:
    response = post(client, account_a, body)
    assert response.status_code == 400
    assert response.json()["error"].startswith(error)
    assert InboundDelivery.objects.get().error.startswith(error)


def test_body_over_one_megabyte_is_413(client: Client, account_a: Any) -> None:
    body = delivery_body(text="x" * (1024 * 1024))
    response = post(client, account_a, body)
    assert response.status_code == 413
    assert response.json() == {"error": "the body is larger than 1048576 bytes"}


@pytest.mark.parametrize("method", ["put", "delete", "patch"])
def test_other_methods_are_405(client: Client, account_a: Any, method: str) -> None:
    response = getattr(client, method)(f"/webhooks/api/{account_a.pk}/")
    assert response.status_code == 405
    assert response["Allow"] == "GET, POST"
    assert "POST a delivery" in response.json()["error"]


def test_the_api_channel_has_no_handshake(client: Client, account_a: Any) -> None:
    response = client.get(f"/webhooks/api/{account_a.pk}/")
    assert response.status_code == 403
    assert response.json() == {"error": "the API channel has no handshake: POST a signed JSON message"}


def test_a_delivery_that_fails_in_processing_is_kept_and_can_be_rerun_from_the_admin(
    client: Client, account_a: Any, monkeypatch: pytest.MonkeyPatch, admin_client: Client
) -> None:
    from tickets.services import deliveries

    real_receive = deliveries.message_receive

    def broken_receive(**kwargs: Any) -> Any:
        raise RuntimeError("the disk is full")

    monkeypatch.setattr(deliveries, "message_receive", broken_receive)
    response = post(client, account_a, delivery_body(message_id="m-fail"))
    assert response.status_code == 202
    assert response.json()["status"] == "failed"
    assert response.json()["error"] == "RuntimeError: the disk is full"
    delivery = InboundDelivery.objects.get()
    assert (delivery.state, delivery.error) == (DeliveryState.FAILED, "RuntimeError: the disk is full")
    assert not Ticket.objects.exists()

    monkeypatch.setattr(deliveries, "message_receive", real_receive)
    rerun = admin_client.post(
        "/admin/tickets/inbounddelivery/",
        {"action": "rerun", "_selected_action": [delivery.pk]},
        follow=True,
    )
    assert "Re-ran deliveries: 1 processed." in rerun.content.decode()
    delivery.refresh_from_db()
    assert (delivery.state, delivery.error, delivery.attempts) == (DeliveryState.PROCESSED, "", 2)
    assert Message.objects.get().external_id == "m-fail"


def test_unusual_but_valid_text_is_stored_as_sent(client: Client, account_a: Any) -> None:
    text = "Ünïcödé 😀 \u202e rtl <script>alert(1)</script> nul:\u0000:end"
    response = post(client, account_a, delivery_body(text=text, sender_name="名前"))
    assert response.status_code == 200, response.content
    message = Message.objects.get()
    assert message.text == text.replace("\u0000", "")
    assert message.ticket.contact.display_name == "名前"
