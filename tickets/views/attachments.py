"""Files contacts sent, served from storage to the agents who may see their ticket."""

import logging

from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpRequest
from django.shortcuts import get_object_or_404
from django.views.decorators.http import require_GET

from tickets.selectors import visible_attachments

logger = logging.getLogger(__name__)


@require_GET
@login_required
def attachment_file(request: HttpRequest, attachment_id: int) -> FileResponse:
    """A stored attachment: a safe image type shown inline, anything else downloaded; 404 if not theirs to see."""
    attachment = get_object_or_404(visible_attachments(request.user), pk=attachment_id)
    inline = attachment.inline
    try:
        content = attachment.file.open("rb")
    except OSError:
        # Stored once, gone now (a media folder not shared between worker and web, a file removed by hand).
        logger.error("attachment %s: its file %s is missing from storage", attachment.pk, attachment.file.name)
        raise Http404("The file is no longer in storage.") from None
    response = FileResponse(
        content,
        as_attachment=not inline,
        filename=attachment.name,
        content_type=attachment.mime_type if inline else "application/octet-stream",
    )
    # A file is the contact's content, not ours: the browser must neither guess it is a page nor run it as one.
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["Cache-Control"] = "private, max-age=86400"
    return response
