"""Contacts: who wrote to us, and their identity on each channel account."""

from django.db import IntegrityError, transaction

from tickets.models import ChannelAccount, Contact, ContactIdentity


def identity_for_sender(*, account: ChannelAccount, sender_id: str, sender_name: str) -> ContactIdentity:
    """The sender's identity on `account`, made (with a new contact) on their first message."""
    identity = (
        ContactIdentity.objects.select_related("channel_account")
        .filter(channel_account=account, external_id=sender_id)
        .first()
    )
    if identity is not None:
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
