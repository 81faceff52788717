"""Channel accounts: creating and changing them, and asking the platform whether their credentials work."""

from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import ProtectedError

from tickets.connectors import connector_for
from tickets.connectors.base import SendFailed
from tickets.models import ChannelAccount, ChannelKind

# What a caller may set on an account; the rest (its id, when it was made) is the helpdesk's.
ACCOUNT_FIELDS = (
    "name",
    "kind",
    "team",
    "enabled",
    "secret",
    "verify_token",
    "access_token",
    "platform_account_id",
    "platform_address",
    "encoding_aes_key",
    "api_base_url",
    "callback_url",
)
# Never shown again once stored: an empty value on a change keeps the stored one.
SECRET_FIELDS = ("secret", "verify_token", "access_token", "encoding_aes_key")
# The secrets that travel to the platform's API: the access token, and for Twilio the auth token in the secret
# (its basic auth falls back on it). Typed again whenever the API's address changes, or whoever may edit an
# account could have the stored ones sent to a server of their own.
SENT_SECRETS = ("access_token",)
SENT_SECRETS_BY_KIND = {ChannelKind.SMS: ("access_token", "secret")}
RETYPE = "Type it again: the API base URL changed, and stored secrets go only where they went before."


class CredentialsRefused(Exception):
    """The platform refused an account's credentials: nothing was saved. The message is the platform's reason."""


class SecretsRequired(ValueError):
    """A change of the API base URL that leaves stored secrets to be sent there: `fields` must be typed again."""

    def __init__(self, fields: list[str]) -> None:
        super().__init__(f"{', '.join(fields)}: {RETYPE}")
        self.fields = fields


class AccountInUse(Exception):
    """An account with messages cannot be deleted (they would lose their channel): disable it instead."""


def channel_account_check(account: ChannelAccount) -> str:
    """What the platform calls `account` when asked with its credentials (saved or not); SendFailed with the
    platform's refusal when they do not work."""
    connector = connector_for(account.kind)
    return str(connector.check(credentials=account.credentials(), timeout=settings.HELPDESK_OUTBOUND_TIMEOUT))


def channel_account_verify(account: ChannelAccount) -> str:
    """Ask the platform about an enabled account that can send (saved or not); what the platform calls it, or ""
    when there is nothing to ask (disabled, or lacking what sending needs). CredentialsRefused if refused."""
    if not account.enabled or account.reply_blocker():
        return ""
    try:
        return channel_account_check(account)
    except SendFailed as exc:
        raise CredentialsRefused(f"The platform refused these credentials: {exc.message}") from exc


def channel_account_create(**fields: Any) -> tuple[ChannelAccount, str]:
    """A new channel account, its credentials checked with the platform first: (account, what the platform calls
    it). CredentialsRefused, with nothing saved, when the platform refuses them."""
    account = ChannelAccount(**{name: value for name, value in fields.items() if name in ACCOUNT_FIELDS})
    said = channel_account_verify(account)
    account.save()
    return account, said


def secrets_to_retype(account: ChannelAccount, fields: dict[str, Any]) -> list[str]:
    """The stored secrets that a change of `account` to `fields` must give again: those sent to the platform,
    when the API base URL changes (none otherwise)."""
    if "api_base_url" not in fields or fields["api_base_url"] == account.api_base_url:
        return []
    sent = SENT_SECRETS_BY_KIND.get(ChannelKind(fields.get("kind", account.kind)), SENT_SECRETS)
    return [name for name in sent if getattr(account, name) and not fields.get(name)]


def channel_account_update(account: ChannelAccount, **fields: Any) -> tuple[ChannelAccount, str]:
    """Change `account` (an empty secret keeps the stored one), checking the credentials with the platform before
    anything is saved; (account, what the platform calls it). CredentialsRefused when refused; SecretsRequired
    when the API base URL changes without the secrets that would be sent there."""
    missing = secrets_to_retype(account, fields)
    if missing:
        raise SecretsRequired(missing)
    for name, value in fields.items():
        if name not in ACCOUNT_FIELDS or (name in SECRET_FIELDS and not value):
            continue
        setattr(account, name, value)
    said = channel_account_verify(account)
    account.save()
    return account, said


def channel_account_delete(account: ChannelAccount) -> None:
    """Delete an account that never carried a message; AccountInUse otherwise."""
    try:
        with transaction.atomic():
            account.delete()
    except ProtectedError:
        raise AccountInUse(
            f"{account} has contacts or messages, which would lose their channel: disable it instead."
        ) from None
