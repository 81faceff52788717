"""Channel accounts (a brand's account on a platform) and the raw deliveries they receive."""

from django.conf import settings
from django.core.validators import URLValidator
from django.db import models
from django.urls import reverse

from tickets.connectors.base import Credentials
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
        max_length=255,
        help_text=(
            "Verifies deliveries: the app secret (Messenger, Instagram, WhatsApp), the secret token given to "
            "setWebhook (Telegram), the consumer secret (X), the channel secret (LINE), the auth token (Twilio), "
            "the token (WeChat), or the shared secret that signs both ways (generic API)."
        ),
    )
    callback_url = models.URLField(
        blank=True,
        validators=[URLValidator(schemes=["http", "https"])],
        help_text="Generic API only: where agents' replies are POSTed, signed with the secret. Empty: not sent.",
    )
    verify_token = models.CharField(
        max_length=255, blank=True, help_text="Meta's webhook verify token (the hub.verify_token you chose)."
    )
    access_token = models.CharField(
        max_length=1000,
        blank=True,
        help_text="Sends replies: the page, bot or channel access token (Twilio: the auth token again).",
    )
    platform_account_id = models.CharField(
        max_length=255,
        blank=True,
        help_text=(
            "The platform's id of this account: the page id (Messenger, Instagram), the phone number id "
            "(WhatsApp), the bot's user id (X), the account SID (Twilio), the AppID (WeChat)."
        ),
    )
    platform_address = models.CharField(
        max_length=255,
        blank=True,
        help_text="Twilio: the number replies come from (+14155550100, or whatsapp:+14155550100).",
    )
    encoding_aes_key = models.CharField(
        max_length=64, blank=True, help_text="WeChat safe mode: the 43-character EncodingAESKey."
    )
    api_base_url = models.URLField(
        blank=True,
        validators=[URLValidator(schemes=["http", "https"])],
        help_text="The platform API's base URL; empty for the platform's own (a test points it at a fake).",
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

    def reply_blocker(self) -> str:
        """Why replies on this account cannot be sent, or "" when they can."""
        if self.kind == ChannelKind.API:
            return "" if self.callback_url else "the channel account has no callback URL"
        if self.kind == ChannelKind.SMS:
            # Twilio sends with the account SID and the auth token (the secret, unless another is given).
            complete = self.platform_account_id and self.platform_address
            return "" if complete else "the Twilio account needs its account SID and the number replies come from"
        return "" if self.access_token else "the channel account has no access token"

    def credentials(self) -> Credentials:
        """What this account's connector is given."""
        return Credentials(
            secret=self.secret,
            verify_token=self.verify_token,
            access_token=self.access_token,
            account_id=self.platform_account_id,
            aes_key=self.encoding_aes_key,
            base_url=self.api_base_url,
            callback_url=self.callback_url,
            sender_address=self.platform_address,
            webhook_url=self.webhook_url() if self.pk else "",
        )

    def webhook_url(self) -> str:
        """The URL this account's platform calls: the helpdesk's public address and the account's webhook path."""
        path = reverse("webhook", kwargs={"kind": self.kind, "account_id": self.pk})
        return settings.HELPDESK_BASE_URL.rstrip("/") + path


class DeliveryState(models.TextChoices):
    RECEIVED = "received", "Received"
    PROCESSED = "processed", "Processed"
    DUPLICATE = "duplicate", "Duplicate"
    REJECTED = "rejected", "Rejected"
    FAILED = "failed", "Failed"
    IGNORED = "ignored", "Ignored (nothing the helpdesk acts on)"


class InboundDelivery(models.Model):
    """One HTTP delivery as the platform sent it, stored before anything else happens to it."""

    channel_account = models.ForeignKey(ChannelAccount, on_delete=models.PROTECT, related_name="deliveries")
    received_at = models.DateTimeField(auto_now_add=True, db_index=True)
    method = models.CharField(max_length=10, default="POST")
    url = models.TextField(blank=True, help_text="The full URL the platform called (Twilio signs it).")
    query = models.JSONField(default=dict, blank=True)
    body = models.BinaryField()
    headers = models.JSONField(default=dict)
    summary = models.JSONField(
        default=dict, blank=True, help_text="What the delivery held: events by type, and the kinds ignored."
    )
    state = models.CharField(max_length=20, choices=DeliveryState.choices, default=DeliveryState.RECEIVED)
    error = models.TextField(blank=True)
    attempts = models.PositiveIntegerField(default=0)
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "inbound deliveries"
        indexes = [models.Index(fields=["state", "received_at"], name="delivery_state_received")]

    def __str__(self) -> str:
        return f"Delivery {self.pk} ({self.state})"
