"""Contacts: who wrote to us, and their identity on each channel account."""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from django.contrib.auth.models import AnonymousUser, User
from django.db import IntegrityError, transaction

from tickets.models import ChannelAccount, Contact, ContactIdentity, EventKind, Ticket
from tickets.selectors import visible_tickets
from tickets.services.audit import ticket_event_record


def identity_for_sender(*, account: ChannelAccount, sender_id: str, sender_name: str) -> ContactIdentity:
    """The sender's identity on `account`, made (with a new contact) on their first message."""
    # Locked (inside the caller's transaction): a merge that moves this identity to another contact is waited
    # for, and its new contact read, so a new ticket never points at a contact the merge is deleting.
    identity = (
        ContactIdentity.objects.select_for_update(of=("self",))
        .select_related("channel_account")
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
        # Locked in one order, so two merges never deadlock. A message opening a ticket for one of them waits on
        # its identity row (identity_for_sender locks it), which the move below updates.
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


class MergeRefused(Exception):
    """Why these contacts may not be merged by this user, in words they can act on."""


class MergeContactHidden(MergeRefused):
    """One of the contacts is not visible to the user (the agent UI answers as if it did not exist)."""


class MergeTicketsHidden(MergeRefused):
    """A ticket of one of the contacts is hidden from the user; a merge would move it behind their back."""


class MergeIntoItself(MergeRefused):
    """A contact was asked to be merged into itself."""


@dataclass(frozen=True)
class MergeSummary:
    """What a merge moves to the contact kept."""

    tickets: int
    identities: int


def contacts_merge_check(*, user: User | AnonymousUser, keep: Contact, others: Sequence[Contact]) -> MergeSummary:
    """Whether `user` may merge `others` into `keep` (raises a MergeRefused if not), and what would move."""
    other_ids = {other.pk for other in others}
    if keep.pk in other_ids:
        raise MergeIntoItself("A contact cannot be merged into itself: choose another contact.")
    ids = {keep.pk, *other_ids}
    visible = visible_tickets(user)
    if set(visible.filter(contact_id__in=ids).values_list("contact_id", flat=True).distinct()) != ids:
        raise MergeContactHidden("No such contact.")
    # Merging moves every ticket of these contacts, so it takes someone who sees them all.
    if Ticket.objects.filter(contact_id__in=ids).exclude(pk__in=visible.values("pk")).exists():
        raise MergeTicketsHidden(
            "Some of these contacts' tickets are hidden from you, and a merge moves every ticket: "
            "ask someone who sees them all."
        )
    return MergeSummary(
        tickets=Ticket.objects.filter(contact_id__in=other_ids).count(),
        identities=ContactIdentity.objects.filter(contact_id__in=other_ids).count(),
    )


def contacts_merge_as(*, user: User, keep: Contact, others: Sequence[Contact], now: datetime) -> MergeSummary:
    """Merge `others` into `keep` on `user`'s behalf, if contacts_merge_check allows it; what moved."""
    with transaction.atomic():
        # Locked before the check, so no ticket of theirs appears in a hidden team between the check and the move.
        ids = [keep.pk, *(other.pk for other in others)]
        list(Contact.objects.select_for_update().filter(pk__in=ids).order_by("pk"))
        summary = contacts_merge_check(user=user, keep=keep, others=others)
        moved = contacts_merge(keep=keep, others=others, now=now, actor=user)
    return MergeSummary(tickets=moved, identities=summary.identities)
