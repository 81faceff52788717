"""Channel accounts: asking the platform whether an account's credentials work."""

from django.conf import settings

from tickets.connectors import connector_for
from tickets.models import ChannelAccount


def channel_account_check(account: ChannelAccount) -> str:
    """What the platform calls `account` when asked with its credentials (saved or not); SendFailed with the
    platform's refusal when they do not work."""
    connector = connector_for(account.kind)
    return str(connector.check(credentials=account.credentials(), timeout=settings.HELPDESK_OUTBOUND_TIMEOUT))
