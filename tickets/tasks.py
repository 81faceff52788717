"""Celery tasks of the tickets app: thin wrappers that call one service each."""

import logging
from typing import Any

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from tickets.services.attachments import AttachmentFetchFailed, attachment_abandon, attachment_store
from tickets.services.messages import message_deliver, message_delivery_abandon
from tickets.services.notifications import notification_emails_send

logger = logging.getLogger(__name__)


# max_retries=None: these tasks count their own tries and make the last one final (the reply or file is then
# marked failed). Celery's own cap (3 by default) would otherwise end the task with an exception first and
# leave the row queued or "being fetched" for good.
@shared_task(bind=True, name="tickets.message_send", acks_late=True, max_retries=None)
def message_send(self: Any, message_id: int) -> None:
    """Deliver an agent's reply to its platform, retrying with exponential backoff while it may succeed."""
    # Tasks that run eagerly (the embedded default) would retry inline, holding the request for every
    # backoff, so they get a single attempt; a real worker retries in the background.
    final = bool(self.request.is_eager) or self.request.retries >= settings.HELPDESK_OUTBOUND_MAX_RETRIES
    try:
        done = message_deliver(message_id=message_id, final_attempt=final)
    except Exception as exc:
        # A bug must not leave the reply "queued" forever: the agent sees it failed, and why.
        logger.exception("reply %s could not be delivered", message_id)
        message_delivery_abandon(message_id=message_id, reason=f"internal error: {type(exc).__name__}: {exc}")
        return
    if not done:
        raise self.retry(countdown=_backoff(settings.HELPDESK_OUTBOUND_BACKOFF_SECONDS, self.request.retries))


@shared_task(name="tickets.notification_email", acks_late=True, ignore_result=True)
def notification_email(notification_ids: list[int]) -> int:
    """Email notifications to the agents they are for."""
    return notification_emails_send(notification_ids=notification_ids)


@shared_task(bind=True, name="tickets.attachment_fetch", acks_late=True, ignore_result=True, max_retries=None)
def attachment_fetch(self: Any, attachment_id: int) -> None:
    """Fetch a file a contact sent into storage, retrying with exponential backoff while the platform may answer."""
    # Eager tasks (the embedded default) get one try, as message_send does; the admin can fetch again.
    final = bool(self.request.is_eager) or self.request.retries + 1 >= settings.HELPDESK_ATTACHMENT_MAX_TRIES
    try:
        attachment_store(attachment_id=attachment_id, now=timezone.now(), final_attempt=final)
    except AttachmentFetchFailed as exc:
        raise self.retry(
            countdown=_backoff(settings.HELPDESK_ATTACHMENT_BACKOFF_SECONDS, self.request.retries)
        ) from exc
    except Exception as exc:
        logger.exception("attachment %s could not be fetched", attachment_id)
        reason = f"internal error: {type(exc).__name__}: {exc}"
        attachment_abandon(attachment_id=attachment_id, reason=reason, now=timezone.now())


def _backoff(first: float, retries: int) -> float:
    """Seconds before the next try: `first`, doubling after each failed one, at most ten minutes."""
    return float(min(first * 2**retries, 600))
