"""Fetching the content of LINE messages: from LINE's content host with the channel access token, or from the
external host a message names; stickers and locations have none.

Every call goes to `tests.fake_platform.FakePlatform`, a real HTTP server on 127.0.0.1.
"""

import json

import pytest

from tests.fake_platform import Answer, FakePlatform
from tests.tickets.connectors import helpers as h
from tickets.connectors import line
from tickets.connectors.base import Attachment, Credentials, Download, FileTooLarge, InboundMessage, NothingToFetch

TOKEN = "channel-access-token-for-tests"
LINE = Credentials(secret="8c2a9e1f0b7d4c3a5e6f7a8b9c0d1e2f", access_token=TOKEN)
FILE_CONTENT = "/v2/bot/message/500000000000000006/content"


def invoice() -> Attachment:
    """The file a contact sent in the file_message fixture, as the connector parses it."""
    [message] = line.parse(credentials=LINE, delivery=h.delivery(h.fixture("line", "file_message.json")))
    assert isinstance(message, InboundMessage)
    return message.attachments[0]


def test_content_comes_from_the_content_api_with_the_channel_token(platform_api: FakePlatform) -> None:
    platform_api.answer(FILE_CONTENT, h.file_answer(content_type="application/pdf"))
    download = h.fetch(line, h.on(platform_api, LINE), invoice())
    assert download == Download(content=h.PNG, mime_type="application/pdf", name="invoice-2291.pdf")
    [request] = platform_api.requests
    assert (request.method, request.path) == ("GET", FILE_CONTENT)
    assert request.headers["Authorization"] == f"Bearer {TOKEN}"


def test_content_is_on_lines_data_host_unless_the_account_names_another() -> None:
    assert line.DEFAULT_DATA_BASE_URL == "https://api-data.line.me"
    assert line.DEFAULT_BASE_URL == "https://api.line.me"


def test_content_still_being_prepared_is_tried_again(platform_api: FakePlatform) -> None:
    platform_api.answer(FILE_CONTENT, Answer(status=202, body=b""))
    failure = h.fetch_failure(line, h.on(platform_api, LINE), invoice())
    assert (failure.message, failure.retryable) == ("the platform has no content yet (HTTP 202)", True)


@pytest.mark.parametrize(
    ("status", "retryable", "saying"),
    [(404, False, "the platform answered HTTP 404: Not found"), (429, True, "HTTP 429"), (500, True, "HTTP 500")],
)
def test_a_refusal_says_why_in_lines_words(
    platform_api: FakePlatform, status: int, retryable: bool, saying: str
) -> None:
    answer = Answer(status=status, body=json.dumps({"message": "Not found"} if status == 404 else {}).encode())
    credentials = h.on(platform_api, LINE)
    fetch = h.fetch
    h.assert_refused(
        platform_api,
        FILE_CONTENT,
        answer,
        lambda: fetch(line, credentials, invoice()),
        retryable=retryable,
        saying=saying,
    )


def test_content_past_the_limit_is_refused(platform_api: FakePlatform) -> None:
    platform_api.answer(FILE_CONTENT, h.file_answer(streamed=True))
    with pytest.raises(FileTooLarge) as caught:
        h.fetch(line, h.on(platform_api, LINE), invoice(), max_bytes=1000)
    assert caught.value.retryable is False


def test_externally_hosted_content_is_fetched_from_its_url_without_the_token(platform_api: FakePlatform) -> None:
    platform_api.answer("/external/", h.file_answer(content_type="image/jpeg"))
    external = Attachment(kind="image", url=f"{platform_api.url}/external/a.jpg", media_id="900")
    assert h.fetch(line, h.on(platform_api, LINE), external).content == h.PNG
    [request] = platform_api.requests
    assert request.path == "/external/a.jpg"
    assert "Authorization" not in request.headers


def test_a_sticker_has_nothing_to_fetch(platform_api: FakePlatform) -> None:
    sticker = Attachment(kind="sticker", media_id="52002734", name="package 11537")
    with pytest.raises(NothingToFetch, match="a sticker has no file"):
        h.fetch(line, h.on(platform_api, LINE), sticker)
    assert platform_api.requests == []


def test_the_message_id_stays_inside_its_path_segment(platform_api: FakePlatform) -> None:
    platform_api.answer("/v2/bot/message/", h.file_answer())
    h.fetch(line, h.on(platform_api, LINE), Attachment(kind="image", media_id="../info"))
    assert platform_api.requests[0].path == "/v2/bot/message/..%2Finfo/content"


def test_without_a_channel_access_token_nothing_is_fetched(platform_api: FakePlatform) -> None:
    credentials = h.on(platform_api, LINE, access_token="")
    h.assert_not_sent(platform_api, lambda: h.fetch(line, credentials, invoice()), "no channel access token")
