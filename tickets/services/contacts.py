"""Contacts: who wrote to us, and their identity on each channel account."""

from collections.abc import Iterable
from datetime import datetime

from django.contrib.auth.models import User
from django.db import IntegrityError, transaction

from tickets.models import ChannelAccount, Contact, ContactIdentity, EventKind, Ticket
from tickets.services.audit import ticket_event_record


def identity_for_sender(*, account: ChannelAccount, sender_id: str, sender_name: str) -> ContactIdentity:
    """The sender's identity on `account`, made (with a new contact) on their first message."""
    identity = (
        ContactIdentity.objects.select_related("channel_account")
        .filter(channel_account=account, external_id=sender_id)
        .first()
    )
    if identity is not None:
        if sender_name and identity.display_name != sender_name:
            # The platform's profile name is the person's current one.
            identity.display_name = sender_name
            identity.save(update_fields=["display_name"])
        return identity
    try:
        with transaction.atomic():
            contact = Contact.objects.create(display_name=sender_name)
            identity = ContactIdentity.objects.create(
                contact=contact, channel_account=account, external_id=sender_id, display_name=sender_name
            )
    except IntegrityError:
        # A concurrent first message from the same sender made the identity; use theirs.
        identity = ContactIdentity.objects.get(channel_account=account, external_id=sender_id)
    identity.channel_account = account
    return identity


def contacts_merge(*, keep: Contact, others: Iterable[Contact], now: datetime, actor: User | None = None) -> int:
    """Make `others` the same person as `keep`: their identities and tickets move to `keep`, and they are
    deleted. Each moved ticket records the merge. How many tickets moved."""
    moved = 0
    others = [other for other in others if other.pk != keep.pk]
    with transaction.atomic():
        # Locked in one order, so two merges never deadlock; a ticket being opened for one of them waits.
        list(Contact.objects.select_for_update().filter(pk__in=[keep.pk, *(o.pk for o in others)]).order_by("pk"))
        for other in others:
            ContactIdentity.objects.filter(contact=other).update(contact=keep)
            for ticket in Ticket.objects.select_for_update().filter(contact=other):
                ticket.contact = keep
                ticket.save(update_fields=["contact", "updated_at"])
                data = {"merged": other.pk, "into": keep.pk, "name": str(keep)}
                ticket_event_record(ticket=ticket, kind=EventKind.CONTACT_MERGED, now=now, actor=actor, data=data)
                moved += 1
            if not keep.display_name and other.display_name:
                keep.display_name = other.display_name
                keep.save(update_fields=["display_name"])
            other.delete()
    return moved
