"""WhatsApp's files and templates: a media id looked up in the Graph API, then fetched with the access token
(never after a redirect); and approved templates sent to the messages endpoint.

Every call goes to `tests.fake_platform.FakePlatform`, a real HTTP server on 127.0.0.1.
"""

import json
from collections.abc import Iterator
from typing import Any

import pytest

from tests.fake_platform import Answer, FakePlatform, running_fake_platform
from tests.tickets.connectors import helpers
from tests.tickets.connectors import meta_helpers as h
from tickets.connectors import whatsapp
from tickets.connectors.base import Attachment, Credentials, Download, FileTooLarge, InboundMessage

PHONE_NUMBER_ID = "106540352242922"
CONTACT = "16505551234"
DOCUMENT_ID = "9876543210123456"
LOOKUP = f"/v21.0/{DOCUMENT_ID}"
MEDIA = "/whatsapp_business/attachments/"
BEARER = f"Bearer {h.ACCESS_TOKEN}"


@pytest.fixture
def storage_host() -> Iterator[FakePlatform]:
    """Another host, where the media URL may redirect to: it must not see the access token."""
    yield from running_fake_platform()


def parsed_attachments() -> dict[str, Attachment]:
    """The attachments of the media fixture's messages, by kind, exactly as the connector parses them."""
    events = whatsapp.parse(
        credentials=h.credentials(), delivery=helpers.delivery(helpers.fixture("whatsapp", "media.json"))
    )
    return {a.kind: a for event in events if isinstance(event, InboundMessage) for a in event.attachments}


def document() -> Attachment:
    """The PDF a contact sent: media id 9876543210123456, named invoice-1042.pdf."""
    return parsed_attachments()["file"]


def media_object(platform: FakePlatform, **fields: Any) -> dict[str, Any]:
    """The Graph API's answer for the document's media id, its URL on the fake platform."""
    return {
        "messaging_product": "whatsapp",
        "url": f"{platform.url}{MEDIA}?mid={DOCUMENT_ID}&ext=1763890900&hash=ATu",
        "mime_type": "application/pdf",
        "sha256": "ZG9jdW1lbnQ=",
        "file_size": len(helpers.PNG),
        "id": DOCUMENT_ID,
        **fields,
    }


def on(platform: FakePlatform, **overrides: str) -> Credentials:
    return h.credentials(base_url=platform.url, account_id=PHONE_NUMBER_ID, **overrides)


# Fetching a media id


def test_a_media_id_is_looked_up_then_its_url_fetched_with_the_token(platform_api: FakePlatform) -> None:
    platform_api.answer(LOOKUP, media_object(platform_api))
    platform_api.answer(MEDIA, helpers.file_answer(content_type="application/octet-stream"))
    download = helpers.fetch(whatsapp, on(platform_api), document())
    assert download == Download(content=helpers.PNG, mime_type="application/pdf", name="invoice-1042.pdf")
    lookup, fetched = platform_api.requests
    assert (lookup.method, lookup.path, lookup.headers["Authorization"]) == ("GET", LOOKUP, BEARER)
    assert (fetched.method, fetched.path, fetched.headers["Authorization"]) == ("GET", MEDIA, BEARER)
    assert fetched.query == {"mid": [DOCUMENT_ID], "ext": ["1763890900"], "hash": ["ATu"]}


def test_the_lookups_type_comes_before_the_http_answers(platform_api: FakePlatform) -> None:
    platform_api.answer("/v21.0/", media_object(platform_api, mime_type="audio/ogg; codecs=opus"))
    platform_api.answer(MEDIA, helpers.file_answer(content_type="audio/ogg"))
    voice = parsed_attachments()["audio"]
    assert helpers.fetch(whatsapp, on(platform_api), voice).mime_type == "audio/ogg; codecs=opus"
    assert platform_api.requests[0].path == "/v21.0/555000111"


def test_the_access_token_does_not_follow_a_redirect(platform_api: FakePlatform, storage_host: FakePlatform) -> None:
    platform_api.answer(LOOKUP, media_object(platform_api))
    platform_api.answer(MEDIA, helpers.redirect(f"{storage_host.url}/cdn/invoice"))
    storage_host.answer("/cdn/", helpers.file_answer())
    assert helpers.fetch(whatsapp, on(platform_api), document()).content == helpers.PNG
    assert [r.headers["Authorization"] for r in platform_api.requests] == [BEARER, BEARER]
    [stored] = storage_host.requests
    assert "Authorization" not in stored.headers


@pytest.mark.parametrize("file_size", [len(helpers.PNG), str(len(helpers.PNG))])
def test_a_file_whatsapp_announces_too_large_is_not_downloaded(platform_api: FakePlatform, file_size: object) -> None:
    platform_api.answer(LOOKUP, media_object(platform_api, file_size=file_size))
    with pytest.raises(FileTooLarge) as caught:
        helpers.fetch(whatsapp, on(platform_api), document(), max_bytes=1000)
    assert (caught.value.size, caught.value.retryable) == (len(helpers.PNG), False)
    assert [r.path for r in platform_api.requests] == [LOOKUP]


def test_a_file_larger_than_announced_is_stopped_while_streaming(platform_api: FakePlatform) -> None:
    platform_api.answer(LOOKUP, media_object(platform_api, file_size=10))
    platform_api.answer(MEDIA, helpers.file_answer(streamed=True))
    with pytest.raises(FileTooLarge):
        helpers.fetch(whatsapp, on(platform_api), document(), max_bytes=100)


@pytest.mark.parametrize(
    ("answer", "retryable", "saying"),
    [
        (Answer(status=400, body=h.graph_error(100, "Unsupported get request")), False, "Unsupported get request"),
        (Answer(status=400, body=h.graph_error(4, "Application request limit reached")), True, "request limit"),
        (Answer(status=400, body=h.graph_error(2, "Service unavailable", transient=True)), True, "unavailable"),
        (Answer(status=500, body=b"Internal Server Error"), True, "HTTP 500"),
        (Answer(status=401, body=h.graph_error(190, "Invalid OAuth access token")), False, "Invalid OAuth"),
    ],
)
def test_a_refused_lookup_says_whether_to_retry(
    platform_api: FakePlatform, answer: Answer, retryable: bool, saying: str
) -> None:
    credentials = on(platform_api)
    helpers.assert_refused(
        platform_api,
        LOOKUP,
        answer,
        lambda: helpers.fetch(whatsapp, credentials, document()),
        retryable=retryable,
        saying=saying,
    )
    assert len(platform_api.requests) == 1


@pytest.mark.parametrize(("status", "retryable"), [(404, False), (403, False), (503, True)])
def test_a_refused_download_says_whether_to_retry(platform_api: FakePlatform, status: int, retryable: bool) -> None:
    platform_api.answer(LOOKUP, media_object(platform_api))
    platform_api.answer(MEDIA, Answer(status=status, body=b"", content_type="text/plain"))
    failure = helpers.fetch_failure(whatsapp, on(platform_api), document())
    assert (failure.status, failure.retryable) == (status, retryable)


@pytest.mark.parametrize("url", [None, "", "ftp://lookaside.fbsbx.com/x", 42])
def test_a_lookup_without_a_download_url_fails_for_good(platform_api: FakePlatform, url: object) -> None:
    platform_api.answer(LOOKUP, media_object(platform_api, url=url))
    failure = helpers.fetch_failure(whatsapp, on(platform_api), document())
    assert failure.message == f"WhatsApp's answer for media {DOCUMENT_ID} has no download URL"
    assert failure.retryable is False


def test_the_media_id_stays_inside_its_path_segment(platform_api: FakePlatform) -> None:
    platform_api.answer("/v21.0/", Answer(status=404, body=b"{}"))
    helpers.fetch_failure(whatsapp, on(platform_api), Attachment(kind="image", media_id="../me"))
    assert platform_api.requests[0].path == "/v21.0/..%2Fme"


def test_without_an_access_token_nothing_is_fetched(platform_api: FakePlatform) -> None:
    credentials = on(platform_api, access_token="")
    helpers.assert_not_sent(platform_api, lambda: helpers.fetch(whatsapp, credentials, document()), "no access token")


def test_an_attachment_without_a_media_id_is_not_looked_up(platform_api: FakePlatform) -> None:
    credentials = on(platform_api)
    helpers.assert_not_sent(
        platform_api, lambda: helpers.fetch(whatsapp, credentials, Attachment(kind="image")), "no WhatsApp media id"
    )


# Templates


def send_template(credentials: Credentials, parameters: list[str]) -> str | None:
    result = whatsapp.send_template(
        credentials=credentials,
        recipient_id=CONTACT,
        name="ticket_update",
        language="en_US",
        parameters=parameters,
        timeout=5,
    )
    return result.external_id


def test_a_template_is_posted_with_its_body_parameters_in_order(platform_api: FakePlatform) -> None:
    platform_api.answer(f"/v21.0/{PHONE_NUMBER_ID}/messages", {"messages": [{"id": "wamid.template"}]})
    assert send_template(on(platform_api), ["Sheena", "#1042"]) == "wamid.template"
    [request] = platform_api.requests
    assert (request.method, request.path) == ("POST", f"/v21.0/{PHONE_NUMBER_ID}/messages")
    assert request.headers["Authorization"] == BEARER
    assert request.json() == {
        "messaging_product": "whatsapp",
        "to": CONTACT,
        "type": "template",
        "template": {
            "name": "ticket_update",
            "language": {"code": "en_US"},
            "components": [
                {
                    "type": "body",
                    "parameters": [{"type": "text", "text": "Sheena"}, {"type": "text", "text": "#1042"}],
                }
            ],
        },
    }


def test_a_template_without_parameters_has_no_components(platform_api: FakePlatform) -> None:
    platform_api.answer("/v21.0/", {"messages": [{"id": "wamid.hello"}]})
    assert send_template(on(platform_api), []) == "wamid.hello"
    assert platform_api.requests[0].json()["template"] == {"name": "ticket_update", "language": {"code": "en_US"}}


@pytest.mark.parametrize(
    ("answer", "retryable", "saying"),
    [
        (
            Answer(status=404, body=h.graph_error(132001, "Template name does not exist in the translation")),
            False,
            "132001",
        ),
        (Answer(status=400, body=h.graph_error(130429, "Rate limit hit")), True, "Rate limit hit"),
        (Answer(status=503, body=b"Service Unavailable"), True, "HTTP 503"),
    ],
)
def test_a_refused_template_says_whether_to_retry(
    platform_api: FakePlatform, answer: Answer, retryable: bool, saying: str
) -> None:
    credentials = on(platform_api)
    helpers.assert_refused(
        platform_api, "/v21.0/", answer, lambda: send_template(credentials, ["x"]), retryable=retryable, saying=saying
    )


def test_a_template_without_a_phone_number_id_is_not_sent(platform_api: FakePlatform) -> None:
    credentials = h.credentials(base_url=platform_api.url)
    helpers.assert_not_sent(platform_api, lambda: send_template(credentials, []), "no phone number id")


def test_the_answer_without_a_message_id_still_counts_as_sent(platform_api: FakePlatform) -> None:
    platform_api.answer("/v21.0/", Answer(body=json.dumps({"messages": []}).encode()))
    assert send_template(on(platform_api), []) is None
