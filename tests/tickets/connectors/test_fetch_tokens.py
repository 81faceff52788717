"""Fetching files from the platforms whose token is part of the URL: Telegram (getFile, then the file server)
and WeChat (the temporary media API). Whatever goes wrong, no error message may show the token.

Every call goes to `tests.fake_platform.FakePlatform`, a real HTTP server on 127.0.0.1.
"""

import json
from typing import Any

import pytest

from tests.fake_platform import Answer, FakePlatform
from tests.tickets.connectors import helpers as h
from tickets.connectors import telegram, wechat
from tickets.connectors.base import (
    Attachment,
    Credentials,
    Download,
    FileTooLarge,
    InboundMessage,
    SendFailed,
)

BOT_TOKEN = "123456:ABC-DEF1234ghIkl-zyx57W2v1u123ew11"
TELEGRAM = Credentials(secret="s3cr3t-token_for-webhook", access_token=BOT_TOKEN)
GET_FILE = f"/bot{BOT_TOKEN}/getFile"
FILE_SERVER = f"/file/bot{BOT_TOKEN}/"
WECHAT_TOKEN = "wechat-access-token-77"
WECHAT = Credentials(secret="test", access_token=WECHAT_TOKEN)
MEDIA_GET = "/cgi-bin/media/get"


def assert_no_token(failure: SendFailed, token: str) -> None:
    """The failure shows the token nowhere: not in its message, nor in the platform's answer it keeps."""
    assert token not in failure.message
    assert token not in str(failure)
    assert token not in failure.answer


# Telegram


def telegram_attachment(fixture: str) -> Attachment:
    """The attachment of a Telegram fixture's message, as the connector parses it."""
    delivery = h.delivery(h.fixture("telegram", fixture))
    [message] = telegram.parse(credentials=TELEGRAM, delivery=delivery)
    assert isinstance(message, InboundMessage)
    return message.attachments[0]


def photo() -> Attachment:
    """The largest size of the photo a contact sent (no name, no type: Telegram gives neither for photos)."""
    return telegram_attachment("photo_message.json")


def telegram_file(path: str, size: int | None = None) -> dict[str, Any]:
    """getFile's answer for `path`."""
    result: dict[str, Any] = {"file_id": "AgACAgQAAxkBAAIBlarge", "file_unique_id": "AQADlarge", "file_path": path}
    if size is not None:
        result["file_size"] = size
    return {"ok": True, "result": result}


def test_telegram_asks_getfile_for_the_path_then_fetches_it(platform_api: FakePlatform) -> None:
    platform_api.answer(GET_FILE, telegram_file("photos/file_0.jpg", len(h.PNG)))
    platform_api.answer(FILE_SERVER, h.file_answer(content_type="application/octet-stream"))
    download = h.fetch(telegram, h.on(platform_api, TELEGRAM), photo())
    # Telegram names the photo by its path, and only its extension tells the type.
    assert download == Download(content=h.PNG, mime_type="image/jpeg", name="file_0.jpg")
    ask, fetched = platform_api.requests
    assert (ask.method, ask.path, ask.query) == ("GET", GET_FILE, {"file_id": ["AgACAgQAAxkBAAIBlarge"]})
    assert (fetched.method, fetched.path) == ("GET", f"{FILE_SERVER}photos/file_0.jpg")


def test_a_telegram_document_keeps_the_name_and_type_the_contact_sent(platform_api: FakePlatform) -> None:
    platform_api.answer(GET_FILE, telegram_file("documents/file_3.pdf"))
    platform_api.answer(FILE_SERVER, h.file_answer(content_type="application/octet-stream"))
    download = h.fetch(telegram, h.on(platform_api, TELEGRAM), telegram_attachment("document_message.json"))
    assert (download.name, download.mime_type) == ("invoice-2291.pdf", "application/pdf")
    assert platform_api.requests[0].query == {"file_id": ["BQACAgQAAxkBAAIBdoc"]}


def test_a_file_telegram_announces_too_large_is_not_downloaded(platform_api: FakePlatform) -> None:
    platform_api.answer(GET_FILE, telegram_file("photos/file_0.jpg", 80310))
    with pytest.raises(FileTooLarge) as caught:
        h.fetch(telegram, h.on(platform_api, TELEGRAM), photo(), max_bytes=50_000)
    assert caught.value.size == 80310
    assert [r.path for r in platform_api.requests] == [GET_FILE]


def test_a_telegram_file_streamed_past_the_limit_is_refused(platform_api: FakePlatform) -> None:
    platform_api.answer(GET_FILE, telegram_file("photos/file_0.jpg"))
    platform_api.answer(FILE_SERVER, h.file_answer(streamed=True))
    with pytest.raises(FileTooLarge):
        h.fetch(telegram, h.on(platform_api, TELEGRAM), photo(), max_bytes=100)


@pytest.mark.parametrize(
    ("answer", "retryable", "saying"),
    [
        (
            Answer(status=400, body=b'{"ok":false,"error_code":400,"description":"Bad Request: invalid file_id"}'),
            False,
            "the platform answered HTTP 400: Bad Request: invalid file_id",
        ),
        (
            Answer(status=400, body=b'{"ok":false,"error_code":400,"description":"Bad Request: file is too big"}'),
            False,
            "file is too big",
        ),
        (
            Answer(status=429, body=b'{"ok":false,"error_code":429,"description":"Too Many Requests: retry after 5"}'),
            True,
            "Too Many Requests",
        ),
        (Answer(status=502, body=b"<html>Bad Gateway</html>"), True, "HTTP 502"),
        (Answer(body=b'{"ok":false,"error_code":500,"description":"Internal Server Error"}'), True, "Internal Server"),
        (Answer(body=b'{"ok":false,"error_code":401,"description":"Unauthorized"}'), False, "refused the file"),
        (Answer(body=b"not json"), False, "no reason given"),
    ],
)
def test_a_refused_getfile_says_why_and_whether_to_retry_without_the_token(
    platform_api: FakePlatform, answer: Answer, retryable: bool, saying: str
) -> None:
    credentials = h.on(platform_api, TELEGRAM)
    fetch = h.fetch
    failure = h.assert_refused(
        platform_api,
        GET_FILE,
        answer,
        lambda: fetch(telegram, credentials, photo()),
        retryable=retryable,
        saying=saying,
    )
    assert_no_token(failure, BOT_TOKEN)


@pytest.mark.parametrize(("status", "retryable"), [(404, False), (500, True)])
def test_an_error_page_quoting_the_url_is_told_without_the_token(
    platform_api: FakePlatform, status: int, retryable: bool
) -> None:
    platform_api.answer(GET_FILE, telegram_file("photos/file_0.jpg"))
    # As Apache's own 404 page does: "The requested URL /file/bot.../photos/file_0.jpg was not found".
    page = f"The requested URL {FILE_SERVER}photos/file_0.jpg was not found on this server."
    platform_api.answer(FILE_SERVER, Answer(status=status, body=page.encode(), content_type="text/html"))
    failure = h.fetch_failure(telegram, h.on(platform_api, TELEGRAM), photo())
    assert (failure.status, failure.retryable) == (status, retryable)
    assert failure.message == (
        f"the platform answered HTTP {status}: The requested URL /file/bot<token>/photos/file_0.jpg was not found on "
        "this server."
    )
    assert_no_token(failure, BOT_TOKEN)
    assert failure.__cause__ is None and failure.__suppress_context__  # no chained failure shows it either


def test_an_unreachable_bot_api_shows_no_token() -> None:
    failure = h.fetch_failure(
        telegram, Credentials(secret="s", access_token=BOT_TOKEN, base_url="http://127.0.0.1:9"), photo()
    )
    assert failure.retryable is True
    assert_no_token(failure, BOT_TOKEN)


@pytest.mark.parametrize("base_url", ["api.telegram.org", "ftp://api.telegram.org"])
def test_a_base_url_that_is_not_http_is_refused_without_quoting_it(base_url: str) -> None:
    credentials = Credentials(secret="s", access_token=BOT_TOKEN, base_url=base_url)
    failure = h.fetch_failure(telegram, credentials, photo())
    assert failure.message == "the channel account's API base URL must start with http:// or https://"
    assert failure.retryable is False


def test_getfile_without_a_path_fails_for_good(platform_api: FakePlatform) -> None:
    platform_api.answer(GET_FILE, {"ok": True, "result": {"file_id": "x", "file_size": 10}})
    failure = h.fetch_failure(telegram, h.on(platform_api, TELEGRAM), photo())
    assert (failure.message, failure.retryable) == ("Telegram's getFile answer has no file_path", False)


def test_telegram_without_a_bot_token_fetches_nothing(platform_api: FakePlatform) -> None:
    credentials = h.on(platform_api, TELEGRAM, access_token="")
    h.assert_not_sent(platform_api, lambda: h.fetch(telegram, credentials, photo()), "no bot token")


# WeChat


def wechat_attachment(fixture: str) -> Attachment:
    """The attachment of a WeChat fixture's message, as the connector parses it."""
    [message] = wechat.parse(credentials=WECHAT, delivery=h.delivery(h.fixture("wechat", fixture)))
    assert isinstance(message, InboundMessage)
    return message.attachments[0]


def errcode(code: int, message: str, content_type: str = "application/json") -> Answer:
    """WeChat's refusal: HTTP 200 with a JSON errcode."""
    return Answer(body=json.dumps({"errcode": code, "errmsg": message}).encode(), content_type=content_type)


def test_wechat_media_is_fetched_by_media_id_with_the_token(platform_api: FakePlatform) -> None:
    platform_api.answer(MEDIA_GET, h.file_answer(content_type="image/jpeg", name="Vt2b8Qe.jpg"))
    download = h.fetch(wechat, h.on(platform_api, WECHAT), wechat_attachment("image.xml"))
    assert download == Download(content=h.PNG, mime_type="image/jpeg", name="Vt2b8Qe.jpg")
    [request] = platform_api.requests
    assert (request.method, request.path) == ("GET", MEDIA_GET)
    assert request.query == {
        "access_token": [WECHAT_TOKEN],
        "media_id": ["Vt2b8Qe-0nS1sKd4_Jm7yHw3ZpXc6LrA9fGuTqE5oIbN"],
    }


def test_a_wechat_voice_keeps_the_type_its_format_gave(platform_api: FakePlatform) -> None:
    platform_api.answer(MEDIA_GET, h.file_answer(content_type="application/octet-stream"))
    assert h.fetch(wechat, h.on(platform_api, WECHAT), wechat_attachment("voice.xml")).mime_type == "audio/amr"


def test_a_wechat_token_with_reserved_characters_is_quoted(platform_api: FakePlatform) -> None:
    platform_api.answer(MEDIA_GET, h.file_answer())
    h.fetch(wechat, h.on(platform_api, WECHAT, access_token="a&b=c d"), Attachment(kind="image", media_id="m/1&x"))
    assert platform_api.requests[0].query == {"access_token": ["a&b=c d"], "media_id": ["m/1&x"]}


@pytest.mark.parametrize(
    ("answer", "retryable", "saying"),
    [
        (errcode(40007, "invalid media_id"), False, "WeChat refused the file: errcode 40007: invalid media_id"),
        (errcode(40001, "invalid credential, access_token is invalid"), False, "errcode 40001"),
        (errcode(-1, "system error"), True, "errcode -1: system error"),
        (errcode(45009, "reach max api daily quota limit"), True, "errcode 45009"),
        # WeChat does not always label its JSON: the body gives it away.
        (errcode(40007, "invalid media_id", content_type="text/plain"), False, "errcode 40007"),
        (Answer(status=500, body=f"Internal error: {MEDIA_GET}?access_token={WECHAT_TOKEN}".encode()), True, "<token>"),
    ],
)
def test_a_refused_wechat_media_request_says_why_without_the_token(
    platform_api: FakePlatform, answer: Answer, retryable: bool, saying: str
) -> None:
    credentials = h.on(platform_api, WECHAT)
    failure = h.assert_refused(
        platform_api,
        MEDIA_GET,
        answer,
        lambda: h.fetch(wechat, credentials, wechat_attachment("image.xml")),
        retryable=retryable,
        saying=saying,
    )
    assert_no_token(failure, WECHAT_TOKEN)


def test_a_wechat_video_is_fetched_from_the_url_the_media_api_gives(platform_api: FakePlatform) -> None:
    video_url = f"{platform_api.url}/vweixinp.tc.qq.com/1007_28f9.f10.mp4?vkey=2A8D"
    platform_api.answer(
        MEDIA_GET, Answer(body=json.dumps({"video_url": video_url}).encode(), content_type="text/plain")
    )
    platform_api.answer("/vweixinp.tc.qq.com/", h.file_answer(content_type="video/mp4"))
    download = h.fetch(wechat, h.on(platform_api, WECHAT), wechat_attachment("shortvideo.xml"))
    assert download == Download(content=h.PNG, mime_type="video/mp4")
    asked, fetched = platform_api.requests
    assert asked.path == MEDIA_GET
    assert (fetched.path, fetched.query) == ("/vweixinp.tc.qq.com/1007_28f9.f10.mp4", {"vkey": ["2A8D"]})


def test_a_wechat_video_not_yet_on_its_cdn_is_tried_again(platform_api: FakePlatform) -> None:
    video_url = f"{platform_api.url}/cdn/video.mp4"
    platform_api.answer(MEDIA_GET, {"video_url": video_url})
    platform_api.answer("/cdn/", Answer(status=404, body=b"Not Found", content_type="text/plain"))
    failure = h.fetch_failure(wechat, h.on(platform_api, WECHAT), wechat_attachment("shortvideo.xml"))
    assert (failure.status, failure.retryable) == (404, True)


def test_wechat_json_that_names_no_file_fails_for_good(platform_api: FakePlatform) -> None:
    platform_api.answer(MEDIA_GET, {"errcode": 0, "errmsg": "ok"})
    failure = h.fetch_failure(wechat, h.on(platform_api, WECHAT), wechat_attachment("image.xml"))
    assert (failure.message, failure.retryable) == (
        "WeChat answered the media request with JSON that names no file",
        False,
    )


def test_a_wechat_file_past_the_limit_is_refused(platform_api: FakePlatform) -> None:
    platform_api.answer(MEDIA_GET, h.file_answer(streamed=True))
    with pytest.raises(FileTooLarge):
        h.fetch(wechat, h.on(platform_api, WECHAT), wechat_attachment("image.xml"), max_bytes=100)


def test_an_image_without_a_media_id_is_fetched_from_its_picurl_without_the_token(platform_api: FakePlatform) -> None:
    platform_api.answer("/mmbiz_jpg/", h.file_answer(content_type="image/jpeg"))
    picture = Attachment(kind="image", url=f"{platform_api.url}/mmbiz_jpg/aB3dE5/0")
    assert h.fetch(wechat, h.on(platform_api, WECHAT), picture).content == h.PNG
    [request] = platform_api.requests
    assert (request.path, request.query) == ("/mmbiz_jpg/aB3dE5/0", {})


def test_an_unreachable_wechat_api_shows_no_token() -> None:
    credentials = Credentials(secret="test", access_token=WECHAT_TOKEN, base_url="http://127.0.0.1:9")
    failure = h.fetch_failure(wechat, credentials, wechat_attachment("image.xml"))
    assert failure.retryable is True
    assert_no_token(failure, WECHAT_TOKEN)


def test_a_wechat_base_url_that_is_not_http_is_refused_without_quoting_it() -> None:
    credentials = Credentials(secret="test", access_token=WECHAT_TOKEN, base_url="api.weixin.qq.com")
    failure = h.fetch_failure(wechat, credentials, wechat_attachment("image.xml"))
    assert_no_token(failure, WECHAT_TOKEN)
    assert failure.retryable is False


def test_wechat_without_an_access_token_fetches_nothing(platform_api: FakePlatform) -> None:
    credentials = h.on(platform_api, WECHAT, access_token="")
    h.assert_not_sent(
        platform_api, lambda: h.fetch(wechat, credentials, wechat_attachment("image.xml")), "no WeChat access token"
    )
