"""Channel accounts (a brand's account on a platform) and the raw deliveries they receive."""

from django.core.validators import URLValidator
from django.db import models

from tickets.models.teams import Team


class ChannelKind(models.TextChoices):
    API = "api", "Generic API"
    MESSENGER = "messenger", "Messenger"
    INSTAGRAM = "instagram", "Instagram"
    WHATSAPP = "whatsapp", "WhatsApp"
    TELEGRAM = "telegram", "Telegram"
    X = "x", "X"
    LINE = "line", "LINE"
    SMS = "sms", "SMS (Twilio)"
    WECHAT = "wechat", "WeChat"


class ChannelAccount(models.Model):
    """A brand's account on one platform. Its deliveries become tickets of its team."""

    name = models.CharField(max_length=100)
    kind = models.CharField(max_length=20, choices=ChannelKind.choices, default=ChannelKind.API)
    team = models.ForeignKey(Team, on_delete=models.PROTECT, related_name="channel_accounts")
    secret = models.CharField(
        max_length=255, help_text="Shared secret: signs inbound deliveries and outbound replies (HMAC-SHA256)."
    )
    callback_url = models.URLField(
        blank=True,
        validators=[URLValidator(schemes=["http", "https"])],
        help_text="Where agents' replies are POSTed, signed with the secret. Empty: replies are not sent.",
    )
    enabled = models.BooleanField(default=True, help_text="A disabled account answers 403 to deliveries.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["kind", "name"], name="account_name_unique_per_kind"),
            models.CheckConstraint(condition=~models.Q(secret=""), name="account_secret_not_empty"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_kind_display()})"


class DeliveryState(models.TextChoices):
    RECEIVED = "received", "Received"
    PROCESSED = "processed", "Processed"
    DUPLICATE = "duplicate", "Duplicate"
    REJECTED = "rejected", "Rejected"
    FAILED = "failed", "Failed"


class InboundDelivery(models.Model):
    """One HTTP delivery as the platform sent it, stored before anything else happens to it."""

    channel_account = models.ForeignKey(ChannelAccount, on_delete=models.PROTECT, related_name="deliveries")
    received_at = models.DateTimeField(auto_now_add=True, db_index=True)
    body = models.BinaryField()
    headers = models.JSONField(default=dict)
    state = models.CharField(max_length=20, choices=DeliveryState.choices, default=DeliveryState.RECEIVED)
    error = models.TextField(blank=True)
    attempts = models.PositiveIntegerField(default=0)
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "inbound deliveries"
        indexes = [models.Index(fields=["state", "received_at"], name="delivery_state_received")]

    def __str__(self) -> str:
        return f"Delivery {self.pk} ({self.state})"
