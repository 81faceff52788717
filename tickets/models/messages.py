"""Messages on a ticket: inbound from the contact, outbound replies from agents."""

from django.conf import settings
from django.db import models

from tickets.models.accounts import ChannelAccount
from tickets.models.tickets import Ticket


class Direction(models.TextChoices):
    IN = "in", "Inbound"
    OUT = "out", "Outbound"


class DeliveryStatus(models.TextChoices):
    RECEIVED = "received", "Received"
    QUEUED = "queued", "Queued"
    SENT = "sent", "Sent"
    DELIVERED = "delivered", "Delivered"
    READ = "read", "Read"
    FAILED = "failed", "Failed"
    NOT_SENT = "not_sent", "Not sent"
    NOTE = "note", "Internal note"


class Message(models.Model):
    """One message. Its platform id is unique per channel account, so a redelivery is stored once."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="messages")
    channel_account = models.ForeignKey(ChannelAccount, on_delete=models.PROTECT, related_name="messages")
    direction = models.CharField(max_length=3, choices=Direction.choices)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        help_text="The agent who wrote an outbound message; empty for the contact's.",
    )
    text = models.TextField()
    internal = models.BooleanField(default=False, help_text="An internal note: agents see it, the contact never does.")
    # NULL, not "", until a reply is sent: NULLs never collide in the (account, external_id) unique constraint.
    external_id = models.CharField(  # noqa: DJ001
        max_length=255, null=True, blank=True, help_text="The platform's message id (empty until a reply is sent)."
    )
    sent_at = models.DateTimeField(help_text="When the platform says it was sent, or when the agent wrote it.")
    created_at = models.DateTimeField(auto_now_add=True)
    edited_at = models.DateTimeField(
        null=True, blank=True, help_text="When the contact last edited it (the earlier texts are in the events)."
    )
    attachments = models.JSONField(
        default=list, blank=True, help_text="Files the contact sent, as the platform described them."
    )
    delivery_status = models.CharField(max_length=10, choices=DeliveryStatus.choices)
    delivery_error = models.TextField(blank=True)
    send_attempts = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["id"]
        constraints = [
            # Per direction: a platform's ids for what it delivered to us and for what we sent are separate
            # namespaces, and an id a callback gives a reply must never make a customer's message a "duplicate".
            models.UniqueConstraint(
                fields=["channel_account", "direction", "external_id"], name="message_unique_per_account"
            ),
            models.CheckConstraint(
                condition=models.Q(direction=Direction.OUT) | models.Q(external_id__isnull=False),
                name="inbound_message_has_platform_id",
            ),
        ]
        indexes = [models.Index(fields=["ticket", "id"], name="message_ticket_id")]

    def __str__(self) -> str:
        return f"{self.direction} message {self.pk} on ticket {self.ticket_id}"
