"""Inbound deliveries: store the raw request first, then verify, parse and process it."""

import logging
from dataclasses import dataclass, field
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from tickets.connectors import connector_for
from tickets.connectors.base import ConnectorError, PayloadInvalid
from tickets.models import ChannelAccount, DeliveryState, InboundDelivery, Message
from tickets.services.messages import DuplicateMessage, message_receive

logger = logging.getLogger(__name__)

# Headers that carry credentials of the sender's own session are never stored.
_UNSTORED_HEADERS = {"cookie", "authorization", "proxy-authorization"}


class AccountDisabled(ConnectorError):
    http_status = 403


@dataclass
class DeliveryOutcome:
    """What became of a delivery: its state, and the messages it stored."""

    delivery: InboundDelivery
    messages: list[Message] = field(default_factory=list)
    duplicates: int = 0

    @property
    def state(self) -> str:
        return self.delivery.state


def delivery_store(*, account: ChannelAccount, body: bytes, headers: dict[str, str]) -> InboundDelivery:
    """Commit the delivery exactly as it arrived, before anything else looks at it."""
    kept = {name: value for name, value in headers.items() if name.lower() not in _UNSTORED_HEADERS}
    with transaction.atomic():
        return InboundDelivery.objects.create(channel_account=account, body=body, headers=kept)


def delivery_receive(
    *, account: ChannelAccount, body: bytes, headers: dict[str, str], now: datetime | None = None
) -> DeliveryOutcome:
    """Store a delivery, then process it. ConnectorError (with its HTTP status) if it is refused."""
    delivery = delivery_store(account=account, body=body, headers=headers)
    return delivery_process(delivery=delivery, now=now)


def delivery_process(*, delivery: InboundDelivery, now: datetime | None = None) -> DeliveryOutcome:
    """Verify, parse and apply a stored delivery; also how the admin re-runs one.

    A refused delivery (disabled account, bad signature, malformed body) is marked rejected and raises
    ConnectorError. A failure while applying it is marked failed with the reason and never raised, so the
    platform gets an answer and a team lead can re-run it once the cause is fixed.
    """
    now = now or timezone.now()
    account = delivery.channel_account
    body = bytes(delivery.body)
    try:
        if not account.enabled:
            raise AccountDisabled(f"channel account {account.pk} is disabled")
        connector = connector_for(account.kind)
        connector.verify(secret=account.secret, body=body, headers=delivery.headers)
        inbound = connector.parse(body=body, headers=delivery.headers)
    except ConnectorError as exc:
        _finish(delivery, DeliveryState.REJECTED, error=exc.message, now=now)
        raise
    except Exception as exc:
        # A connector bug on odd input must still answer 4xx and leave the delivery marked, never stuck.
        logger.exception("delivery %s could not be read", delivery.pk)
        refused = PayloadInvalid(f"the body could not be read: {type(exc).__name__}: {exc}")
        _finish(delivery, DeliveryState.REJECTED, error=refused.message, now=now)
        raise refused from exc
    outcome = DeliveryOutcome(delivery=delivery)
    try:
        with transaction.atomic():
            for item in inbound:
                try:
                    with transaction.atomic():
                        outcome.messages.append(message_receive(account=account, inbound=item, now=now))
                except DuplicateMessage:
                    outcome.duplicates += 1
            state = DeliveryState.DUPLICATE if inbound and not outcome.messages else DeliveryState.PROCESSED
            _finish(delivery, state, error="", now=now)
    except Exception as exc:
        logger.exception("delivery %s failed", delivery.pk)
        outcome.messages.clear()
        _finish(delivery, DeliveryState.FAILED, error=f"{type(exc).__name__}: {exc}", now=now)
    return outcome


def _finish(delivery: InboundDelivery, state: DeliveryState, *, error: str, now: datetime) -> None:
    delivery.state = state
    delivery.error = error
    delivery.attempts += 1
    delivery.processed_at = now
    delivery.save(update_fields=["state", "error", "attempts", "processed_at"])
