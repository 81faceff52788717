"""What every connector's `fetch_attachment` shares: which attachments have no file, the type and name a
download gets, and fetching a plain URL.

A file's type and name come from the best source that gives one: what the platform's own lookup said (a
WhatsApp media object), else the HTTP answer (Content-Type, Content-Disposition), else what the delivery
said (the attachment's). A generic `application/octet-stream` counts only when nothing better is known. A name
is reduced to a plain file name (no folders, no control characters) wherever it came from: a contact chooses
the name of a document they send, and "../../x.pdf" must not become a path.
"""

import mimetypes
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager

from tickets.connectors.base import (
    Attachment,
    Credentials,
    Download,
    NothingToFetch,
    SendFailed,
    base_url,
    http_download,
)
from tickets.connectors.fields import MAX_ID

GENERIC_TYPE = "application/octet-stream"


def require_file(attachment: Attachment, *, fileless: tuple[str, ...] = ("location",)) -> None:
    """NothingToFetch when the attachment is of a kind with no file behind it (a location, unless told more)."""
    if attachment.kind in fileless:
        raise NothingToFetch(f"a {attachment.kind} has no file to fetch")


def require(value: str, what: str) -> str:
    """`value`, the attachment's URL or media id; SendFailed, final, when the attachment has none."""
    if not value:
        raise SendFailed(f"the attachment has no {what} to fetch the file with", retryable=False)
    return value


def fetch_url(
    attachment: Attachment, *, timeout: float, max_bytes: int, auth: dict[str, str] | None = None
) -> Download:
    """The file at the attachment's URL (with `auth` headers for that URL only, never after a redirect)."""
    require_file(attachment)
    url = require(attachment.url, "URL")
    return described(http_download(url, timeout=timeout, max_bytes=max_bytes, auth=auth), attachment)


def announced_size(value: object) -> int | None:
    """The size in bytes a platform announced for a file (a number, or digits in a string), if it gave one."""
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 20:
        return int(value)
    return None


def described(
    download: Download, attachment: Attachment, *, mime_type: str = "", name: str = "", last_name: str = ""
) -> Download:
    """`download` with the best type and name known: the lookup's (`mime_type`, `name`), else the HTTP
    answer's, else the attachment's; `last_name` (a storage path's file name) when none of them gives one."""
    http_type = download.mime_type if download.mime_type != GENERIC_TYPE else ""
    chosen_name = plain_name(name) or plain_name(download.name) or plain_name(attachment.name) or plain_name(last_name)
    guessed = (mimetypes.guess_type(chosen_name)[0] or "") if chosen_name else ""
    chosen_type = mime_type or http_type or attachment.mime_type or guessed or download.mime_type
    return Download(content=download.content, mime_type=chosen_type[:MAX_ID], name=chosen_name)


def plain_name(name: str) -> str:
    """`name` as a plain file name: without folders or control characters, at most MAX_ID long."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    cleaned = "".join(character for character in base if character.isprintable()).strip()
    return "" if cleaned in (".", "..") else cleaned[:MAX_ID]


@contextmanager
def token_hidden(token: str) -> Iterator[None]:
    """Around calls whose URLs hold `token`: a SendFailed comes out with the token blanked from its message and
    from the answer it keeps, since a platform's error page may quote the URL it was asked for (Apache's does)."""
    try:
        yield
    except SendFailed as exc:
        # The token as written, and as each way of putting it in a URL writes it.
        written = (
            token,
            *(urllib.parse.quote(token, safe=safe) for safe in ("", ":", "/")),
            urllib.parse.quote_plus(token),
        )
        forms = [form for form in dict.fromkeys(written) if form]
        if not any(form in exc.message or form in exc.answer for form in forms):
            raise
        message, answer = exc.message, exc.answer
        for form in forms:
            message, answer = message.replace(form, "<token>"), answer.replace(form, "<token>")
        # from None: the original failure, chained, would show the token again in a logged traceback.
        raise SendFailed(message, retryable=exc.retryable, status=exc.status, answer=answer) from None


def token_api_base(credentials: Credentials, default: str) -> str:
    """The base URL of an API whose calls carry the token in the URL (Telegram, WeChat).

    Checked here, said without the URL: a URL that is not http(s) would otherwise be refused in a message
    that quotes it, token and all.
    """
    base = base_url(credentials, default)
    if not base.startswith(("http://", "https://")):
        raise SendFailed("the channel account's API base URL must start with http:// or https://", retryable=False)
    return base
