"""Messages on a ticket: inbound from the contact, outbound replies from agents, and the files they carry."""

import uuid

from django.conf import settings
from django.core.exceptions import SuspiciousFileOperation
from django.db import models
from django.utils.text import get_valid_filename

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
    template = models.ForeignKey(
        "MessageTemplate",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="messages",
        help_text="The platform-approved template this reply was sent as (WhatsApp outside its 24-hour window).",
    )
    template_parameters = models.JSONField(
        default=list, blank=True, help_text="The values of the template's {{1}}, {{2}}... in order."
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


class MessageTemplate(models.Model):
    """A message template the platform approved (WhatsApp): the only way to write first after 24 hours.

    The body is the template's text as approved, with {{1}}, {{2}}... where the agent's values go; the name
    and language are what the platform knows it by.
    """

    channel_account = models.ForeignKey(ChannelAccount, on_delete=models.CASCADE, related_name="templates")
    name = models.CharField(max_length=512, help_text="The template's name on the platform, e.g. order_update.")
    language = models.CharField(max_length=15, help_text="The approved language code, e.g. en_US.")
    body = models.TextField(help_text="The approved body text, with {{1}}, {{2}}... for the values.")
    active = models.BooleanField(default=True, help_text="Offered to agents in the reply box.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name", "language"]
        constraints = [
            models.UniqueConstraint(
                fields=["channel_account", "name", "language"], name="template_unique_per_account_language"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.language})"


class AttachmentState(models.TextChoices):
    PENDING = "pending", "Being fetched"
    STORED = "stored", "Stored"
    TOO_LARGE = "too_large", "Too large to keep"
    FAILED = "failed", "Could not be fetched"
    LINK = "link", "Nothing to fetch"


# What the thread may show inside the page. Anything else (SVG and HTML above all, which can carry script) is
# only ever offered as a download.
INLINE_IMAGE_TYPES = frozenset({"image/jpeg", "image/png", "image/gif", "image/webp"})


def _attachment_path(attachment: "Attachment", filename: str) -> str:
    # A random folder per file: names repeat (image.jpg), and a path never says what another file is called.
    try:
        stored = get_valid_filename(filename)
    except SuspiciousFileOperation:  # a name with nothing Django keeps ("😀", "!!!")
        stored = "file"
    return f"attachments/{attachment.message.ticket_id}/{uuid.uuid4().hex}/{stored}"


class Attachment(models.Model):
    """A file a contact sent with a message, fetched from the platform into the helpdesk's storage.

    Stored files are served only through a view that checks the ticket's permission, never as public media.
    """

    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="attachments")
    position = models.PositiveSmallIntegerField(help_text="Its place among the message's attachments.")
    kind = models.CharField(max_length=20, help_text="image, video, audio, file, sticker or location.")
    source_url = models.CharField(max_length=2000, blank=True, help_text="Where the platform said it is.")
    media_id = models.CharField(max_length=255, blank=True, help_text="The platform's id of the file.")
    mime_type = models.CharField(max_length=255, blank=True)
    name = models.CharField(max_length=255, blank=True)
    file = models.FileField(upload_to=_attachment_path, max_length=500, blank=True)
    size = models.PositiveBigIntegerField(null=True, blank=True, help_text="Bytes, once stored.")
    state = models.CharField(max_length=10, choices=AttachmentState.choices, default=AttachmentState.PENDING)
    error = models.TextField(blank=True, help_text="Why it was not stored.")
    attempts = models.PositiveIntegerField(default=0)
    fetched_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["message", "position"]
        constraints = [
            models.UniqueConstraint(fields=["message", "position"], name="attachment_unique_position"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.name or self.pk} of message {self.message_id}"

    @property
    def label(self) -> str:
        """What the thread calls it: its name, or its kind."""
        return self.name or self.kind.capitalize()

    @property
    def inline(self) -> bool:
        """Whether the thread shows the stored file inside the page (a safe image type) or only links to it."""
        return self.state == AttachmentState.STORED and self.mime_type in INLINE_IMAGE_TYPES
