"""Attachments: the files contacts send, recorded with their message and fetched from the platform into storage."""

import logging
import mimetypes
import posixpath
import urllib.parse
from collections.abc import Iterable
from datetime import datetime

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import F

from tickets.connectors import base, connector_for
from tickets.connectors.downloads import plain_name
from tickets.models import Attachment, AttachmentState, EventKind, Message
from tickets.services.audit import ticket_event_record

logger = logging.getLogger(__name__)


class AttachmentFetchFailed(Exception):
    """A fetch that did not store the file this time; `retryable` says whether a later try may."""

    def __init__(self, message: str, *, retryable: bool) -> None:
        super().__init__(message)
        self.retryable = retryable


def attachments_add(*, message: Message, described: Iterable[base.Attachment]) -> list[Attachment]:
    """Record the files a contact sent with `message`, and fetch each one after the transaction commits."""
    rows = [
        Attachment(
            message=message,
            position=position,
            kind=item.kind,
            source_url=item.url,
            media_id=item.media_id,
            mime_type=item.mime_type,
            name=item.name,
            state=AttachmentState.PENDING if _fetchable(item) else AttachmentState.LINK,
        )
        for position, item in enumerate(described)
    ]
    if not rows:
        return []
    created = Attachment.objects.bulk_create(rows)
    pending = [row.pk for row in created if row.state == AttachmentState.PENDING]
    if pending:
        from tickets.tasks import attachment_fetch  # the task module is a face over attachment_store

        transaction.on_commit(lambda: [attachment_fetch.delay(pk) for pk in pending], robust=True)
    return created


def _fetchable(item: base.Attachment) -> bool:
    # A location is a link (geo:), not a file; with neither a URL nor a media id there is nothing to ask for.
    return item.kind != "location" and bool(item.url or item.media_id)


def attachment_store(*, attachment_id: int, now: datetime, final_attempt: bool) -> Attachment | None:
    """Fetch a pending attachment from its platform and store it; None when it is no longer pending.

    AttachmentFetchFailed when this try did not store it and another may (unless it was the `final_attempt`,
    after which the attachment is marked failed). A file over HELPDESK_ATTACHMENT_MAX_BYTES is never stored.
    """
    attachment = (
        Attachment.objects.select_related("message__channel_account", "message__ticket")
        .filter(pk=attachment_id, state=AttachmentState.PENDING)
        .first()
    )
    if attachment is None:
        return None
    account = attachment.message.channel_account
    described = base.Attachment(
        kind=attachment.kind,
        url=attachment.source_url,
        media_id=attachment.media_id,
        mime_type=attachment.mime_type,
        name=attachment.name,
    )
    # The download runs outside any transaction: a slow platform must not hold a database connection's locks.
    try:
        download = connector_for(account.kind).fetch_attachment(
            credentials=account.credentials(),
            attachment=described,
            timeout=settings.HELPDESK_OUTBOUND_TIMEOUT,
            max_bytes=settings.HELPDESK_ATTACHMENT_MAX_BYTES,
        )
    except base.NothingToFetch as exc:
        return _finish(attachment_id, state=AttachmentState.LINK, error=str(exc), now=now)
    except base.FileTooLarge as exc:
        return _finish(attachment_id, state=AttachmentState.TOO_LARGE, error=exc.message, now=now, size=exc.size)
    except base.SendFailed as exc:
        if exc.retryable and not final_attempt:
            pending = Attachment.objects.filter(pk=attachment_id, state=AttachmentState.PENDING)
            pending.update(error=exc.message[:2000], attempts=F("attempts") + 1)
            raise AttachmentFetchFailed(exc.message, retryable=True) from exc
        return _finish(attachment_id, state=AttachmentState.FAILED, error=exc.message, now=now)
    name = _file_name(attachment, download)
    # File servers often say only "octet-stream" (Telegram's does): the platform's word or the name says more.
    said = "" if download.mime_type == "application/octet-stream" else download.mime_type
    mime_type = said or attachment.mime_type or mimetypes.guess_type(name)[0] or download.mime_type
    with transaction.atomic():
        locked = Attachment.objects.select_for_update().filter(pk=attachment_id, state=AttachmentState.PENDING).first()
        if locked is None:
            return None  # another worker stored it meanwhile
        locked.file.save(name, ContentFile(download.content), save=False)
        locked.name, locked.mime_type, locked.size = name, mime_type[:255], len(download.content)
        locked.state, locked.error, locked.fetched_at = AttachmentState.STORED, "", now
        locked.attempts += 1
        locked.save(update_fields=["file", "name", "mime_type", "size", "state", "error", "fetched_at", "attempts"])
        _record(locked, attachment.message, now)
    return locked


def attachment_refetch(*, attachments: Iterable[Attachment]) -> int:
    """Try again to fetch attachments that failed (from the admin); how many were queued."""
    ids = [a.pk for a in attachments if a.state == AttachmentState.FAILED]
    Attachment.objects.filter(pk__in=ids).update(state=AttachmentState.PENDING, error="", attempts=0)
    if ids:
        from tickets.tasks import attachment_fetch

        transaction.on_commit(lambda: [attachment_fetch.delay(pk) for pk in ids], robust=True)
    return len(ids)


def attachment_abandon(*, attachment_id: int, reason: str, now: datetime) -> None:
    """Mark a pending attachment failed for a reason the fetch itself did not foresee (a bug), so it never hangs."""
    _finish(attachment_id, state=AttachmentState.FAILED, error=reason, now=now)


def _finish(
    attachment_id: int, *, state: AttachmentState, error: str, now: datetime, size: int | None = None
) -> Attachment | None:
    """End a pending attachment's fetch without a file: too large, nothing to fetch, or failed for good."""
    with transaction.atomic():
        locked = (
            Attachment.objects.select_for_update(of=("self",))
            .select_related("message__ticket")
            .filter(pk=attachment_id, state=AttachmentState.PENDING)
            .first()
        )
        if locked is None:
            return None
        locked.state, locked.error, locked.size, locked.fetched_at = state, error[:2000], size, now
        locked.attempts += 1
        locked.save(update_fields=["state", "error", "size", "fetched_at", "attempts"])
        if state == AttachmentState.FAILED:
            logger.warning("attachment %s could not be fetched: %s", attachment_id, error)
        _record(locked, locked.message, now)
    return locked


def _record(attachment: Attachment, message: Message, now: datetime) -> None:
    """The ticket's event for a fetch that ended: the thread on every open page shows the file (or why not)."""
    data = {
        "message_id": message.pk,
        "attachment_id": attachment.pk,
        "kind": attachment.kind,
        "name": attachment.name,
        "state": attachment.state,
        "size": attachment.size,
        "error": attachment.error,
    }
    ticket_event_record(ticket=message.ticket, kind=EventKind.ATTACHMENT, now=now, data=data)


def attachment_file_remove(*, instance: Attachment, **kwargs: object) -> None:
    """Remove a deleted attachment's file from storage once the deletion commits (a rollback keeps both)."""
    if instance.file:
        storage, name = instance.file.storage, instance.file.name
        transaction.on_commit(lambda: storage.delete(name), robust=True)


def _file_name(attachment: Attachment, download: base.Download) -> str:
    """The stored file's name: the platform's, else the URL's last part, else the kind with the type's extension."""
    # Every candidate reduced to a plain name: the contact chose it, and it must never become a path.
    name = plain_name(download.name) or plain_name(attachment.name)
    if not name and attachment.source_url.startswith(("http://", "https://")):
        name = plain_name(posixpath.basename(urllib.parse.urlsplit(attachment.source_url).path))
    if not name:
        mime_type = download.mime_type or attachment.mime_type
        name = attachment.kind + (mimetypes.guess_extension(mime_type) or "" if mime_type else "")
    return name[:200]
