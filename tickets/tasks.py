"""Celery tasks of the tickets app: thin wrappers that call one service each."""

from typing import Any

from celery import shared_task
from django.conf import settings

from tickets.services.messages import message_deliver


@shared_task(bind=True, name="tickets.message_send", acks_late=True)
def message_send(self: Any, message_id: int) -> None:
    """Deliver an agent's reply to its platform, retrying with exponential backoff while it may succeed."""
    # Tasks that run eagerly (the embedded default) would retry inline, holding the request for every
    # backoff, so they get a single attempt; a real worker retries in the background.
    final = bool(self.request.is_eager) or self.request.retries >= settings.HELPDESK_OUTBOUND_MAX_RETRIES
    if not message_deliver(message_id=message_id, final_attempt=final):
        raise self.retry(countdown=min(2 ** (self.request.retries + 1), 300))
