"""Inbound deliveries: store the raw request first, then verify, parse and process it."""

import json
import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from tickets.connectors import connector_for
from tickets.connectors.base import (
    ConnectorError,
    Delivery,
    Echo,
    Event,
    InboundMessage,
    MessageEdit,
    PayloadInvalid,
    StatusUpdate,
)
from tickets.models import ChannelAccount, DeliveryState, InboundDelivery, Message
from tickets.services.messages import (
    DuplicateMessage,
    message_echo_receive,
    message_edit_receive,
    message_receive,
    message_status_receive,
)

logger = logging.getLogger(__name__)

# Headers that carry credentials of the sender's own session are never stored.
_UNSTORED_HEADERS = {"cookie", "authorization", "proxy-authorization"}


class AccountDisabled(ConnectorError):
    http_status = 403


@dataclass
class DeliveryOutcome:
    """What became of a delivery: its state, the messages it stored, and what it held, by event type."""

    delivery: InboundDelivery
    messages: list[Message] = field(default_factory=list)
    duplicates: int = 0
    summary: dict[str, Any] = field(default_factory=dict)

    @property
    def state(self) -> str:
        return self.delivery.state


def delivery_store(*, account: ChannelAccount, request: Delivery) -> InboundDelivery:
    """Commit the delivery exactly as it arrived, before anything else looks at it."""
    kept = {
        _storable(name): _storable(value)
        for name, value in request.headers.items()
        if name.lower() not in _UNSTORED_HEADERS
    }
    with transaction.atomic():
        return InboundDelivery.objects.create(
            channel_account=account,
            method=request.method,
            url=_storable(request.url),
            query={_storable(key): _storable(value) for key, value in request.query.items()},
            body=request.body,
            headers=kept,
        )


def _storable(text: str) -> str:
    """`text` without NUL characters, which PostgreSQL's text and jsonb cannot hold (no platform sends one)."""
    return text.replace("\x00", "")


def delivery_receive(*, account: ChannelAccount, request: Delivery, now: datetime | None = None) -> DeliveryOutcome:
    """Store a delivery, then process it. ConnectorError (with its HTTP status) if it is refused."""
    delivery = delivery_store(account=account, request=request)
    return delivery_process(delivery=delivery, now=now)


def delivery_process(*, delivery: InboundDelivery, now: datetime | None = None) -> DeliveryOutcome:
    """Verify, parse and apply a stored delivery; also how the admin re-runs one.

    A refused delivery (disabled account, bad signature, malformed body) is marked rejected and raises
    ConnectorError. A failure while applying it is marked failed with the reason and never raised, so the
    platform gets an answer and a team lead can re-run it once the cause is fixed. A delivery of events the
    helpdesk does not act on (reactions, follows) is marked ignored, with their kinds in its summary.
    """
    now = now or timezone.now()
    account = delivery.channel_account
    request = Delivery(
        method=delivery.method,
        url=delivery.url,
        query=delivery.query,
        headers=delivery.headers,
        body=bytes(delivery.body),
    )
    credentials = account.credentials()
    try:
        if not account.enabled:
            raise AccountDisabled(f"channel account {account.pk} is disabled")
        connector = connector_for(account.kind)
        connector.verify(credentials=credentials, delivery=request)
        events = connector.parse(credentials=credentials, delivery=request)
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
            applied = sum(_apply(account, event, outcome, now=now) for event in events)
            if applied:
                state = DeliveryState.PROCESSED
            elif outcome.duplicates:
                state = DeliveryState.DUPLICATE
            else:
                state = DeliveryState.IGNORED
            _finish(delivery, state, error="", now=now, summary=outcome.summary)
    except Exception as exc:
        logger.exception("delivery %s failed", delivery.pk)
        outcome.messages.clear()
        _finish(delivery, DeliveryState.FAILED, error=f"{type(exc).__name__}: {exc}", now=now, summary=outcome.summary)
    return outcome


def _apply(account: ChannelAccount, event: Event, outcome: DeliveryOutcome, *, now: datetime) -> bool:
    """Apply one event; whether it changed anything. Counted in the summary.

    Each service writes in a transaction of its own (a message's rolls back whole when it is a redelivery).
    """
    counts = outcome.summary.setdefault("events", {})
    name = type(event).__name__
    counts[name] = counts.get(name, 0) + 1
    if isinstance(event, InboundMessage):
        try:
            outcome.messages.append(message_receive(account=account, inbound=event, now=now))
            return True
        except DuplicateMessage:
            outcome.duplicates += 1
            return False
    if isinstance(event, MessageEdit):
        return message_edit_receive(account=account, edit=event, now=now) is not None
    if isinstance(event, StatusUpdate):
        return bool(message_status_receive(account=account, update=event, now=now))
    if isinstance(event, Echo):
        return message_echo_receive(account=account, echo=event, now=now) is not None
    ignored = outcome.summary.setdefault("ignored", [])
    ignored.append(f"{event.kind}: {event.detail}" if event.detail else event.kind)
    return False


def _finish(
    delivery: InboundDelivery, state: DeliveryState, *, error: str, now: datetime, summary: dict[str, Any] | None = None
) -> None:
    delivery.state = state
    delivery.error = error
    delivery.attempts += 1
    delivery.processed_at = now
    # What the events held (names from the platform) is stored as text: without NUL characters.
    delivery.summary = json.loads(json.dumps(summary or {}).replace("\\u0000", ""))
    delivery.save(update_fields=["state", "error", "attempts", "processed_at", "summary"])
