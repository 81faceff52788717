"""Messages: receiving a contact's message onto a ticket, writing a reply, and delivering it."""

import logging
from collections.abc import Sequence
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from tickets.connectors import connector_for
from tickets.connectors.base import (
    Attachment,
    Echo,
    InboundMessage,
    MessageEdit,
    OutboundReply,
    SendFailed,
    StatusUpdate,
)
from tickets.models import (
    ChannelAccount,
    DeliveryStatus,
    Direction,
    EventKind,
    Message,
    MessageTemplate,
    Ticket,
)
from tickets.services.attachments import attachments_add
from tickets.services.audit import ticket_event_record
from tickets.services.tickets import active_ticket, ticket_for_inbound

logger = logging.getLogger(__name__)

_PREVIEW = 200


class DuplicateMessage(Exception):
    """The platform message is already stored: a redelivery. Nothing was written."""


def message_receive(*, account: ChannelAccount, inbound: InboundMessage, now: datetime) -> Message:
    """Put a contact's message on their ticket (opening or reopening one); DuplicateMessage if stored before.

    All in one transaction (a savepoint inside the caller's): on DuplicateMessage nothing it wrote remains.
    """
    with transaction.atomic():
        return _message_receive(account=account, inbound=inbound, now=now)


def _message_receive(*, account: ChannelAccount, inbound: InboundMessage, now: datetime) -> Message:
    # No "already stored?" query up front: redeliveries are rare, and the unique constraint catches them.
    subject = inbound.text or _attachments_label(inbound.attachments)
    ticket, _created = ticket_for_inbound(
        account=account, sender_id=inbound.sender_id, sender_name=inbound.sender_name, subject=subject, now=now
    )
    try:
        with transaction.atomic():
            message = Message.objects.create(
                ticket=ticket,
                channel_account=account,
                direction=Direction.IN,
                text=inbound.text,
                external_id=inbound.external_id,
                sent_at=inbound.sent_at,
                delivery_status=DeliveryStatus.RECEIVED,
            )
    except IntegrityError:
        # The platform id is stored already: a redelivery, or a concurrent copy that committed first.
        if Message.objects.filter(channel_account=account, external_id=inbound.external_id).exists():
            raise DuplicateMessage(inbound.external_id) from None
        raise
    attachments_add(message=message, described=inbound.attachments)
    _touch(ticket, message=message, now=now)
    ticket_event_record(ticket=ticket, kind=EventKind.MESSAGE_IN, now=now, data=_message_data(message))
    return message


def _attachments_label(attachments: tuple[Attachment, ...]) -> str:
    kinds = sorted({attachment.kind for attachment in attachments})
    return f"({', '.join(kinds)})" if kinds else ""


def message_edit_receive(*, account: ChannelAccount, edit: MessageEdit, now: datetime) -> Message | None:
    """Apply a contact's edit to the message they sent; the earlier text stays in the ticket's events. None when
    the message is unknown (sent before the account was connected) or the text did not change."""
    with transaction.atomic():
        message = (
            Message.objects.select_for_update()
            .select_related("ticket")
            .filter(channel_account=account, direction=Direction.IN, external_id=edit.external_id)
            .first()
        )
        if message is None or message.text == edit.text:
            return None
        if message.edited_at is not None and message.edited_at >= edit.edited_at:
            return None  # an older edit arriving late (or re-run): the text has moved on since
        before, message.text, message.edited_at = message.text, edit.text, edit.edited_at
        message.save(update_fields=["text", "edited_at"])
        ticket_event_record(
            ticket=message.ticket,
            kind=EventKind.MESSAGE_EDITED,
            now=now,
            data={**_message_data(message), "before": before, "edited_at": edit.edited_at.isoformat()},
        )
        return message


# A status only moves forward: a late "delivered" never undoes "read"; failed ends a message not yet delivered.
_STATUS_RANK = {
    DeliveryStatus.QUEUED: 0,
    DeliveryStatus.SENT: 1,
    DeliveryStatus.FAILED: 2,
    DeliveryStatus.DELIVERED: 3,
    DeliveryStatus.READ: 4,
}


def message_status_receive(*, account: ChannelAccount, update: StatusUpdate, now: datetime) -> list[Message]:
    """Record what the platform says became of our messages: one by its id, or, for a watermark, every message
    to that contact sent up to it. The messages whose status moved."""
    status = DeliveryStatus(update.status)
    outbound = Message.objects.filter(channel_account=account, direction=Direction.OUT, internal=False)
    if update.external_id:
        targets = outbound.filter(external_id=update.external_id)
    elif update.watermark is not None and update.recipient_id:
        targets = outbound.filter(
            ticket__identity__external_id=update.recipient_id,
            sent_at__lte=update.watermark,
            # Only replies the platform has taken: a queued one has not left yet, a failed one never arrived.
            delivery_status__in=[
                s for s in (DeliveryStatus.SENT, DeliveryStatus.DELIVERED) if _STATUS_RANK[s] < _STATUS_RANK[status]
            ],
        )
    else:
        return []
    moved = []
    for message_id, current in targets.values_list("pk", "delivery_status"):
        if _STATUS_RANK.get(DeliveryStatus(current), -1) < _STATUS_RANK[status]:
            _delivery_status_set(message_id=message_id, status=status, error=update.error, now=now)
            moved.append(message_id)
    return list(Message.objects.filter(pk__in=moved))


# How far the platform's clock may be behind ours when an echo is matched to the reply it repeats.
_ECHO_CLOCK_SKEW = timedelta(minutes=5)


def message_echo_receive(*, account: ChannelAccount, echo: Echo, now: datetime) -> Message | None:
    """Our own account's message as the platform repeats it. A reply the helpdesk sent is known (by its id, or,
    when the echo overtakes the send's answer, by its text) and nothing is stored; one sent from the platform's
    own app is put on the contact's ticket as a reply (it answers them: clocks stop). None when nothing was
    stored."""
    if Message.objects.filter(channel_account=account, direction=Direction.OUT, external_id=echo.external_id).exists():
        return None
    with transaction.atomic():
        ticket = active_ticket(account, echo.recipient_id)
        if ticket is None:
            return None
        # Echoes come in the order the replies were sent: the oldest reply with this text that has left (or is
        # leaving: its send has begun) and has no platform id yet is the one echoed.
        ours = (
            Message.objects.select_for_update()
            .filter(
                Q(delivery_status=DeliveryStatus.SENT) | Q(delivery_status=DeliveryStatus.QUEUED, send_attempts__gt=0),
                ticket=ticket,
                direction=Direction.OUT,
                internal=False,
                external_id__isnull=True,
                text=echo.text,
                sent_at__lte=echo.sent_at + _ECHO_CLOCK_SKEW,
            )
            .order_by("id")
            .first()
        )
        if ours is not None:
            ours.external_id = echo.external_id
            ours.save(update_fields=["external_id"])
            return None
        try:
            with transaction.atomic():
                message = Message.objects.create(
                    ticket=ticket,
                    channel_account=account,
                    direction=Direction.OUT,
                    text=echo.text,
                    external_id=echo.external_id,
                    sent_at=echo.sent_at,
                    delivery_status=DeliveryStatus.SENT,
                )
        except IntegrityError:
            return None  # the same echo, delivered twice at once: the other copy stored it
        _touch(ticket, message=message, now=now)
        data = {**_message_data(message), "from_platform_app": True}
        ticket_event_record(ticket=ticket, kind=EventKind.MESSAGE_OUT, now=now, data=data)
        return message


def reply_store(
    *,
    ticket: Ticket,
    author: User,
    text: str,
    now: datetime,
    template: MessageTemplate | None = None,
    parameters: Sequence[str] = (),
) -> Message:
    """Store an outbound reply (free text, or an approved template with its values) and queue its delivery once
    the transaction commits. The checks of what may be sent are the caller's."""
    account = ticket.identity.channel_account
    with transaction.atomic():
        blocker = account.reply_blocker()
        sendable = not blocker
        message = Message.objects.create(
            ticket=ticket,
            channel_account=account,
            direction=Direction.OUT,
            author=author,
            text=text,
            template=template,
            template_parameters=list(parameters),
            sent_at=now,
            delivery_status=DeliveryStatus.QUEUED if sendable else DeliveryStatus.NOT_SENT,
            delivery_error=blocker,
        )
        _touch(ticket, message=message, now=now)
        ticket_event_record(
            ticket=ticket, kind=EventKind.MESSAGE_OUT, now=now, actor=author, data=_message_data(message)
        )
        if sendable:
            from tickets.tasks import message_send  # the task module is a face over message_deliver

            transaction.on_commit(lambda: message_send.delay(message.pk), robust=True)
    return message


def message_note(*, ticket: Ticket, text: str, now: datetime, author: User | None = None) -> Message:
    """Add an internal note to `ticket` (agents see it, the contact never does). It answers nobody: no clock stops.

    `author` None is the system (an escalation level). The ticket's activity time and preview do not move,
    since the contact's conversation did not.
    """
    message = note_new(ticket=ticket, text=text, now=now, author=author)
    with transaction.atomic():
        message.save(force_insert=True)
        ticket_event_record(ticket=ticket, kind=EventKind.NOTE, now=now, actor=author, data=note_data(message))
    return message


def note_new(*, ticket: Ticket, text: str, now: datetime, author: User | None = None) -> Message:
    """The internal note `message_note` adds, not stored yet (the tick stores many in one insert)."""
    text = text.strip()
    if not text:
        raise ValueError("a note needs some text")
    return Message(
        ticket=ticket,
        channel_account_id=ticket.identity.channel_account_id,
        direction=Direction.OUT,
        internal=True,
        author=author,
        text=text,
        sent_at=now,
        delivery_status=DeliveryStatus.NOTE,
    )


def note_data(message: Message) -> dict[str, object]:
    """What the NOTE event of a stored note records."""
    return {**_message_data(message), "internal": True}


def message_deliver(*, message_id: int, final_attempt: bool) -> bool:
    """Send an outbound message to its platform. True when done (sent, or failed for good); False to retry.

    Delivery is at least once: the HTTP call happens outside any transaction (a slow platform must not
    hold database locks), so a worker that dies after the call and before recording it sends again on
    redelivery. Receivers dedupe on our `message_id`.
    """
    with transaction.atomic():
        message = (
            # Only the message is locked: the template is an outer join, which PostgreSQL cannot lock.
            Message.objects.select_for_update(of=("self",))
            .select_related("ticket__identity", "channel_account", "template")
            .get(pk=message_id)
        )
        if message.delivery_status != DeliveryStatus.QUEUED:
            return True  # already sent or given up on: a redelivered task does nothing
        message.send_attempts += 1
        message.save(update_fields=["send_attempts"])
    account = message.channel_account
    reply = OutboundReply(
        message_id=message.pk,
        ticket_number=message.ticket.number,
        recipient_id=message.ticket.identity.external_id,
        text=message.text,
        sent_at=message.sent_at,
    )
    connector, timeout = connector_for(account.kind), settings.HELPDESK_OUTBOUND_TIMEOUT
    try:
        if message.template is not None:
            if not hasattr(connector, "send_template"):
                raise SendFailed(f"{account.get_kind_display()} has no approved templates to send", retryable=False)
            result = connector.send_template(
                credentials=account.credentials(),
                recipient_id=reply.recipient_id,
                name=message.template.name,
                language=message.template.language,
                parameters=[str(value) for value in message.template_parameters],
                timeout=timeout,
            )
        else:
            result = connector.send_reply(credentials=account.credentials(), reply=reply, timeout=timeout)
    except SendFailed as exc:
        logger.warning("reply %s not delivered (attempt %s): %s", message.pk, message.send_attempts, exc)
        if exc.retryable and not final_attempt:
            Message.objects.filter(pk=message.pk).update(delivery_error=exc.message)
            return False
        _delivery_status_set(message_id=message.pk, status=DeliveryStatus.FAILED, error=exc.message)
        return True
    _delivery_status_set(message_id=message.pk, status=DeliveryStatus.SENT, external_id=result.external_id)
    return True


def _delivery_status_set(
    *,
    message_id: int,
    status: DeliveryStatus,
    error: str = "",
    external_id: str | None = None,
    now: datetime | None = None,
) -> None:
    with transaction.atomic():
        message = Message.objects.select_for_update().select_related("ticket").get(pk=message_id)
        if _STATUS_RANK.get(DeliveryStatus(message.delivery_status), -1) > _STATUS_RANK.get(status, -1):
            # Never backwards: the platform reported delivery (through an echo's id) before the send answered.
            status, error = DeliveryStatus(message.delivery_status), message.delivery_error
        message.delivery_status = status
        message.delivery_error = error
        if external_id is not None:
            message.external_id = external_id
        try:
            with transaction.atomic():
                message.save(update_fields=["delivery_status", "delivery_error", "external_id"])
        except IntegrityError:
            # The platform gave an id it already gave another reply: keep the status, not the id.
            message.external_id = None
            message.delivery_error = f"the platform answered with an id already in use: {external_id}"
            message.save(update_fields=["delivery_status", "delivery_error", "external_id"])
        ticket_event_record(
            ticket=message.ticket,
            kind=EventKind.MESSAGE_STATUS,
            now=now or timezone.now(),
            data={"message_id": message.pk, "status": status, "error": error},
        )


def message_delivery_abandon(*, message_id: int, reason: str) -> None:
    """Mark a reply that could not be handled at all as failed, so it never stays queued without a word."""
    _delivery_status_set(message_id=message_id, status=DeliveryStatus.FAILED, error=reason)


def _touch(ticket: Ticket, *, message: Message, now: datetime) -> None:
    ticket.last_activity_at = now
    ticket.preview = message.text[:_PREVIEW]
    ticket.save(update_fields=["last_activity_at", "preview", "updated_at"])


def _message_data(message: Message) -> dict[str, object]:
    return {"message_id": message.pk, "direction": message.direction, "preview": message.text[:_PREVIEW]}
