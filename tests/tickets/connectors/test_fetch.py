"""Fetching the files contacts send: what every connector shares, and the platforms whose attachments are URLs
(the API channel, Messenger, Instagram, X, Twilio). WhatsApp is in test_fetch_whatsapp, LINE in
test_fetch_line, and the platforms whose token is in the URL (Telegram, WeChat) in test_fetch_tokens.

Every file comes from `tests.fake_platform.FakePlatform`, a real HTTP server on 127.0.0.1.
"""

import base64
import inspect
import json
from collections.abc import Iterator

import pytest

from tests.fake_platform import Answer, FakePlatform, running_fake_platform
from tests.tickets.connectors import helpers as h
from tests.tickets.connectors import meta_helpers
from tickets.connectors import api, connector_for, instagram, messenger, twilio, x
from tickets.connectors.base import Attachment, Credentials, Download, FileTooLarge, NothingToFetch

KINDS = ["api", "messenger", "instagram", "whatsapp", "telegram", "x", "line", "sms", "wechat"]
API = Credentials(secret="s")
X_TOKEN = "user-context-token"
TWILIO_ACCOUNT = "ACa1b2c3d4e5f60718293a4b5c6d7e8f90"
TWILIO_TOKEN = "f1e2d3c4b5a69788796a5b4c3d2e1f00"
TWILIO = Credentials(secret=TWILIO_TOKEN, account_id=TWILIO_ACCOUNT)
TWILIO_MEDIA = f"/2010-04-01/Accounts/{TWILIO_ACCOUNT}/Messages/MM1/Media/ME1"


@pytest.fixture
def storage_host() -> Iterator[FakePlatform]:
    """A second host, where a platform's media URL redirects to (Twilio's storage): it must see no credentials."""
    yield from running_fake_platform()


def image(platform: FakePlatform, path: str = "/files/photo", **fields: str) -> Attachment:
    """An image attachment whose URL is `path` on the fake platform."""
    return Attachment(kind="image", url=platform.url + path, **fields)


# What every connector shares


@pytest.mark.parametrize("kind", KINDS)
def test_every_connector_fetches_with_the_same_keyword_arguments(kind: str) -> None:
    signature = inspect.signature(connector_for(kind).fetch_attachment)
    assert list(signature.parameters) == ["credentials", "attachment", "timeout", "max_bytes"]
    assert {p.kind for p in signature.parameters.values()} == {inspect.Parameter.KEYWORD_ONLY}


@pytest.mark.parametrize("kind", KINDS)
def test_a_location_has_nothing_to_fetch_on_any_platform(kind: str) -> None:
    # Complete credentials: a connector that tried to fetch would fail with a SendFailed, not NothingToFetch.
    credentials = meta_helpers.credentials(account_id=TWILIO_ACCOUNT, base_url="http://127.0.0.1:9")
    location = Attachment(kind="location", url="geo:52.5219,13.4132", media_id="4242", name="Alexanderplatz")
    with pytest.raises(NothingToFetch, match="a location has no file"):
        h.fetch(connector_for(kind), credentials, location)


def test_the_api_channel_gets_the_url_without_credentials(platform_api: FakePlatform) -> None:
    platform_api.answer("/files/", h.file_answer(name="receipt.png"))
    download = h.fetch(api, API, image(platform_api, "/files/receipt", mime_type="image/jpeg", name="scan"))
    assert download == Download(content=h.PNG, mime_type="image/png", name="receipt.png")
    [request] = platform_api.requests
    assert (request.method, request.path) == ("GET", "/files/receipt")
    assert "Authorization" not in request.headers


def test_what_the_delivery_said_fills_in_what_the_http_answer_does_not(platform_api: FakePlatform) -> None:
    platform_api.answer("/files/", Answer(body=h.PNG, content_type="application/octet-stream"))
    download = h.fetch(api, API, image(platform_api, mime_type="image/png", name="holiday.png"))
    # A generic octet-stream says less than the type the delivery gave.
    assert (download.mime_type, download.name) == ("image/png", "holiday.png")


def test_with_no_type_given_anywhere_the_name_tells_it(platform_api: FakePlatform) -> None:
    platform_api.answer("/files/", h.file_answer(content_type="application/octet-stream", name="invoice.pdf"))
    assert h.fetch(api, API, image(platform_api)).mime_type == "application/pdf"


def test_with_nothing_known_the_file_is_octet_stream_and_nameless(platform_api: FakePlatform) -> None:
    platform_api.answer("/files/", Answer(body=b"\x00\x01", content_type="application/octet-stream"))
    assert h.fetch(api, API, image(platform_api)) == Download(content=b"\x00\x01", mime_type="application/octet-stream")


def test_a_name_from_the_server_loses_its_folders(platform_api: FakePlatform) -> None:
    platform_api.answer("/files/", h.file_answer(name="../../etc/passwd"))
    assert h.fetch(api, API, image(platform_api)).name == "passwd"


def test_a_name_the_contact_chose_is_a_plain_file_name_too(platform_api: FakePlatform) -> None:
    platform_api.answer("/files/", Answer(body=h.PNG, content_type="image/png"))
    attachment = image(platform_api, name="..\\..\\boot.ini\x07")
    assert h.fetch(api, API, attachment).name == "boot.ini"


def test_a_file_of_exactly_the_limit_is_kept(platform_api: FakePlatform) -> None:
    platform_api.answer("/files/", h.file_answer(streamed=True))
    assert h.fetch(api, API, image(platform_api), max_bytes=len(h.PNG)).content == h.PNG


def test_a_file_announced_larger_than_the_limit_is_refused_for_good(platform_api: FakePlatform) -> None:
    platform_api.answer("/files/", h.file_answer())
    with pytest.raises(FileTooLarge) as caught:
        h.fetch(api, API, image(platform_api), max_bytes=100)
    assert (caught.value.size, caught.value.retryable) == (len(h.PNG), False)
    assert caught.value.message == f"the file is {len(h.PNG):,} bytes; the limit is 100 bytes"


def test_a_streamed_file_is_refused_once_it_passes_the_limit(platform_api: FakePlatform) -> None:
    platform_api.answer("/files/", h.file_answer(streamed=True))
    with pytest.raises(FileTooLarge) as caught:
        h.fetch(api, API, image(platform_api), max_bytes=len(h.PNG) - 1)
    assert caught.value.size is None
    assert (
        caught.value.message == f"the file is more than {len(h.PNG) - 1:,} bytes; the limit is {len(h.PNG) - 1:,} bytes"
    )


@pytest.mark.parametrize(("status", "retryable"), [(503, True), (429, True), (404, False), (403, False)])
def test_an_http_error_is_retryable_only_when_a_retry_may_help(
    platform_api: FakePlatform, status: int, retryable: bool
) -> None:
    platform_api.answer("/files/", Answer(status=status, body=b"gone for now", content_type="text/plain"))
    failure = h.fetch_failure(api, API, image(platform_api))
    assert (failure.status, failure.retryable) == (status, retryable)
    assert failure.message == f"the platform answered HTTP {status}: gone for now"


def test_a_host_that_cannot_be_reached_may_be_tried_again() -> None:
    failure = h.fetch_failure(api, API, Attachment(kind="image", url="http://127.0.0.1:9/files/photo"))
    assert failure.retryable is True
    assert failure.message.startswith("the platform could not be reached")


@pytest.mark.parametrize("path", ["/files/fïle.png", "/files/a b.png"])
def test_a_url_the_client_cannot_send_is_refused_for_good(platform_api: FakePlatform, path: str) -> None:
    failure = h.fetch_failure(api, API, image(platform_api, path))
    assert failure.retryable is False
    assert failure.message.startswith("the file's URL cannot be requested")
    assert platform_api.requests == []


def test_an_attachment_without_a_url_cannot_be_fetched(platform_api: FakePlatform) -> None:
    h.assert_not_sent(platform_api, lambda: h.fetch(api, API, Attachment(kind="image")), "has no URL")


# Messenger and Instagram: Meta CDN URLs, which need no token


@pytest.mark.parametrize("connector", [messenger, instagram])
def test_meta_cdn_files_are_fetched_without_the_page_token(platform_api: FakePlatform, connector: object) -> None:
    platform_api.answer("/v/t1.15752-9/", h.file_answer(content_type="video/mp4"))
    credentials = h.on(platform_api, meta_helpers.credentials())
    download = h.fetch(connector, credentials, Attachment(kind="video", url=f"{platform_api.url}/v/t1.15752-9/clip"))
    assert download == Download(content=h.PNG, mime_type="video/mp4")
    [request] = platform_api.requests
    assert "Authorization" not in request.headers
    assert meta_helpers.ACCESS_TOKEN not in json.dumps(request.headers)


def test_a_messenger_sticker_is_an_image_to_fetch(platform_api: FakePlatform) -> None:
    platform_api.answer("/sticker", h.file_answer())
    sticker = Attachment(kind="sticker", url=f"{platform_api.url}/sticker.png")
    assert h.fetch(messenger, meta_helpers.credentials(), sticker).content == h.PNG


def test_an_expired_meta_cdn_url_is_not_retried(platform_api: FakePlatform) -> None:
    platform_api.answer("/v/", Answer(status=403, body=b"URL signature expired", content_type="text/plain"))
    failure = h.fetch_failure(instagram, meta_helpers.credentials(), image(platform_api, "/v/old"))
    assert (failure.status, failure.retryable) == (403, False)


# X: the DM's media URL with the user-context bearer token


def test_x_media_is_fetched_with_the_bearer_token(platform_api: FakePlatform) -> None:
    platform_api.answer("/1.1/ton/data/dm/", h.file_answer(content_type="image/jpeg"))
    credentials = Credentials(secret="consumer-secret", access_token=X_TOKEN)
    download = h.fetch(x, credentials, image(platform_api, "/1.1/ton/data/dm/1/2/photo.jpg"))
    assert download == Download(content=h.PNG, mime_type="image/jpeg")
    [request] = platform_api.requests
    assert (request.path, request.headers["Authorization"]) == ("/1.1/ton/data/dm/1/2/photo.jpg", f"Bearer {X_TOKEN}")


def test_x_does_not_send_the_token_after_a_redirect(platform_api: FakePlatform, storage_host: FakePlatform) -> None:
    platform_api.answer("/1.1/ton/", h.redirect(f"{storage_host.url}/media/photo.jpg"))
    storage_host.answer("/media/", h.file_answer(content_type="image/jpeg"))
    credentials = Credentials(secret="consumer-secret", access_token=X_TOKEN)
    assert h.fetch(x, credentials, image(platform_api, "/1.1/ton/data/dm/1")).content == h.PNG
    assert platform_api.requests[0].headers["Authorization"] == f"Bearer {X_TOKEN}"
    [stored] = storage_host.requests
    assert "Authorization" not in stored.headers


def test_x_without_an_access_token_fetches_nothing(platform_api: FakePlatform) -> None:
    h.assert_not_sent(
        platform_api, lambda: h.fetch(x, Credentials(secret="s"), image(platform_api)), "no X access token"
    )


# Twilio: MediaUrl with HTTP basic auth, redirected to a storage host that must not see it


def test_twilio_media_is_fetched_with_basic_auth_and_its_storage_host_sees_none(
    platform_api: FakePlatform, storage_host: FakePlatform
) -> None:
    platform_api.answer(TWILIO_MEDIA, h.redirect(f"{storage_host.url}/mms/ME1?Signature=abc", status=307))
    storage_host.answer("/mms/", h.file_answer(content_type="image/jpeg"))
    attachment = image(platform_api, TWILIO_MEDIA, mime_type="image/jpeg")
    assert h.fetch(twilio, TWILIO, attachment) == Download(content=h.PNG, mime_type="image/jpeg")
    basic = base64.b64encode(f"{TWILIO_ACCOUNT}:{TWILIO_TOKEN}".encode()).decode()
    [asked] = platform_api.requests
    assert (asked.path, asked.headers["Authorization"]) == (TWILIO_MEDIA, f"Basic {basic}")
    [stored] = storage_host.requests
    assert (stored.path, stored.query) == ("/mms/ME1", {"Signature": ["abc"]})
    assert "Authorization" not in stored.headers


def test_twilio_redirect_on_the_same_host_carries_no_credentials_either(platform_api: FakePlatform) -> None:
    platform_api.answer(TWILIO_MEDIA, h.redirect("/storage/ME1"))
    platform_api.answer("/storage/", h.file_answer())
    assert h.fetch(twilio, TWILIO, image(platform_api, TWILIO_MEDIA)).content == h.PNG
    first, second = platform_api.requests
    assert first.headers["Authorization"].startswith("Basic ")
    assert second.path == "/storage/ME1"
    assert "Authorization" not in second.headers


def test_twilio_signs_in_with_the_access_token_when_one_is_set(platform_api: FakePlatform) -> None:
    platform_api.answer(TWILIO_MEDIA, h.file_answer())
    h.fetch(
        twilio,
        Credentials(secret=TWILIO_TOKEN, account_id=TWILIO_ACCOUNT, access_token="api-key"),
        image(platform_api, TWILIO_MEDIA),
    )
    expected = base64.b64encode(f"{TWILIO_ACCOUNT}:api-key".encode()).decode()
    assert platform_api.requests[0].headers["Authorization"] == f"Basic {expected}"


def test_twilio_says_why_it_refused_the_media(platform_api: FakePlatform) -> None:
    refusal = {"code": 20404, "message": "The requested resource was not found", "status": 404}
    platform_api.answer(TWILIO_MEDIA, Answer(status=404, body=json.dumps(refusal).encode()))
    failure = h.fetch_failure(twilio, TWILIO, image(platform_api, TWILIO_MEDIA))
    assert (
        failure.message == "the platform answered HTTP 404: The requested resource was not found (Twilio error 20404)"
    )
    assert failure.retryable is False


def test_twilio_media_larger_than_the_limit_is_refused(platform_api: FakePlatform) -> None:
    platform_api.answer(TWILIO_MEDIA, h.file_answer(streamed=True))
    with pytest.raises(FileTooLarge):
        h.fetch(twilio, TWILIO, image(platform_api, TWILIO_MEDIA), max_bytes=10)


def test_twilio_without_its_account_sid_fetches_nothing(platform_api: FakePlatform) -> None:
    credentials = Credentials(secret=TWILIO_TOKEN)
    h.assert_not_sent(
        platform_api, lambda: h.fetch(twilio, credentials, image(platform_api, TWILIO_MEDIA)), "account SID"
    )
