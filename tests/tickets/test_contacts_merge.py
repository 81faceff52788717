"""One person writing from two platforms: a team lead merges the two contacts into one profile."""

import threading
import time
from typing import Any

import pytest
from django.db import connection, transaction
from django.test import Client
from django.utils import timezone
from guardian.shortcuts import assign_perm

from tests.factories import ChannelAccountFactory, ContactIdentityFactory, TicketFactory, UserFactory
from tickets.connectors.base import InboundMessage
from tickets.models import Contact, ContactIdentity, EventKind, Ticket
from tickets.services.contacts import contacts_merge, identity_for_sender
from tickets.services.messages import message_receive

pytestmark = pytest.mark.django_db


def ticket_of(account: Any, external_id: str, name: str) -> Any:
    identity = ContactIdentityFactory(channel_account=account, external_id=external_id)
    identity.contact.display_name = name
    identity.contact.save()
    return TicketFactory(team=account.team, identity=identity, contact=identity.contact)


def test_merging_moves_identities_and_tickets_to_one_contact(account_a: Any, team_a: Any) -> None:
    telegram = ChannelAccountFactory(team=team_a, kind="telegram", name="Acme bot")
    on_api, on_telegram = ticket_of(account_a, "ann-api", "Ann"), ticket_of(telegram, "42", "")
    keep, other = on_api.contact, on_telegram.contact
    other_id = other.pk
    assert contacts_merge(keep=keep, others=[other], now=timezone.now()) == 1
    assert not Contact.objects.filter(pk=other_id).exists()
    assert set(ContactIdentity.objects.filter(contact=keep).values_list("external_id", flat=True)) == {"ann-api", "42"}
    on_telegram.refresh_from_db()
    assert on_telegram.contact_id == keep.pk
    event = on_telegram.events.get(kind=EventKind.CONTACT_MERGED)
    assert event.data == {"merged": other_id, "into": keep.pk, "name": "Ann"}
    # Her next message on Telegram joins the same person.
    identity = identity_for_sender(account=telegram, sender_id="42", sender_name="Ann B.")
    assert identity.contact_id == keep.pk and identity.display_name == "Ann B."


def test_a_lead_merges_in_the_admin_only_contacts_whose_tickets_they_all_see(
    account_a: Any, account_b: Any, team_a: Any
) -> None:
    lead = UserFactory(username="lead-a", is_staff=True)
    assign_perm("view_team", lead, team_a)
    for codename in ("view_contact", "change_contact"):
        assign_perm(f"tickets.{codename}", lead)
    first, second = ticket_of(account_a, "a-1", "Ann"), ticket_of(account_a, "a-2", "Ann (WhatsApp)")
    client = Client()
    client.force_login(lead)
    ids = [str(first.contact_id), str(second.contact_id)]
    response = client.post("/admin/tickets/contact/", {"action": "merge", "_selected_action": ids}, follow=True)
    assert response.status_code == 200 and b"Merged 1 contact(s) into Ann; 1 ticket(s) moved." in response.content
    second.refresh_from_db()
    assert second.contact_id == first.contact_id
    # A contact who also has a ticket in a team the lead does not see is not merged.
    elsewhere = ticket_of(account_b, "b-1", "Bob")
    TicketFactory(team=team_a, identity=ContactIdentityFactory(channel_account=account_a, contact=elsewhere.contact))
    ids = [str(first.contact_id), str(elsewhere.contact_id)]
    response = client.post("/admin/tickets/contact/", {"action": "merge", "_selected_action": ids}, follow=True)
    assert b"tickets are hidden from you" in response.content and b"Nothing was merged." in response.content
    assert Contact.objects.filter(pk=elsewhere.contact_id).exists()


@pytest.mark.production_stack
@pytest.mark.django_db(transaction=True)
def test_a_message_arriving_during_a_merge_waits_and_joins_the_contact_kept(account_a: Any, team_a: Any) -> None:
    """On PostgreSQL: the merge has moved the identity and is about to delete the old contact when the person's
    next message arrives. The message waits for the merge and opens its ticket for the contact kept (without
    the identity's lock, it would point at the deleted contact and fail at commit)."""
    keep = ticket_of(account_a, "ann-1", "Ann").contact
    other = ContactIdentityFactory(channel_account=account_a, external_id="ann-2").contact
    outcome: dict[str, Any] = {}
    moved = threading.Event()

    def merge_slowly() -> None:
        # What contacts_merge does, with a pause between moving the identity and deleting the contact.
        try:
            with transaction.atomic():
                list(Contact.objects.select_for_update().filter(pk__in=[keep.pk, other.pk]).order_by("pk"))
                ContactIdentity.objects.filter(contact=other).update(contact=keep)
                moved.set()
                time.sleep(0.5)
                Contact.objects.filter(pk=other.pk).delete()
        finally:
            connection.close()

    def receive() -> None:
        moved.wait(5)
        inbound = InboundMessage(
            external_id="m-during-merge",
            sender_id="ann-2",
            sender_name="Ann",
            text="Hello again",
            sent_at=timezone.now(),
        )
        try:
            outcome["ticket"] = message_receive(account=account_a, inbound=inbound, now=timezone.now()).ticket_id
        except Exception as exc:  # reported below, with what it was
            outcome["error"] = repr(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=merge_slowly), threading.Thread(target=receive)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert "error" not in outcome, outcome.get("error")
    assert Ticket.objects.get(pk=outcome["ticket"]).contact_id == keep.pk
