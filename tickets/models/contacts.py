"""Contacts (the people who write to us) and their identities on each channel account."""

from django.db import models

from tickets.models.accounts import ChannelAccount


class Contact(models.Model):
    """A customer. One contact may write from several platforms; each is a ContactIdentity."""

    display_name = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.display_name or f"Contact {self.pk}"


class ContactIdentity(models.Model):
    """A contact's user id on one channel account; at most one per (account, platform user id)."""

    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="identities")
    channel_account = models.ForeignKey(ChannelAccount, on_delete=models.PROTECT, related_name="identities")
    external_id = models.CharField(max_length=255, help_text="The sender's id on the platform.")
    display_name = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = "contact identities"
        constraints = [
            models.UniqueConstraint(fields=["channel_account", "external_id"], name="identity_unique_per_account"),
            models.CheckConstraint(condition=~models.Q(external_id=""), name="identity_external_id_not_empty"),
        ]

    def __str__(self) -> str:
        return f"{self.display_name or self.external_id} on {self.channel_account_id}"
