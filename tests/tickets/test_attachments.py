"""Files contacts send: fetched from the platform into storage by a task, shown in the thread (images inline, files
as links), and served only to agents who may see the ticket.

The platform is a real HTTP server on 127.0.0.1 (tests/fake_platform.py); in the production pass the fetch runs
in a real Celery worker.
"""

import struct
import zlib
from typing import Any

import pytest
from django.contrib.admin.sites import site
from django.db import connection
from django.test import Client, RequestFactory, override_settings
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tests.factories import MessageFactory, TeamFactory, TicketFactory, UserFactory
from tests.fake_platform import Answer, FakePlatform
from tests.support import wait_for_field
from tests.tickets.platform_deliveries import NOW, PLATFORMS, TOKEN, account_for, post, whatsapp
from tickets.admin_messaging import AttachmentAdmin
from tickets.models import Attachment, AttachmentState, EventKind, Ticket
from tickets.services.attachments import AttachmentFetchFailed, attachment_store

pytestmark = pytest.mark.django_db(transaction=True)
# Tests that do not take `task_runner` fetch in this process (`eager_tasks`), so this test's settings hold.

WHATSAPP = next(p for p in PLATFORMS if p.kind == "whatsapp")
CONTACT = "4915112345678"


def png(width: int = 2, height: int = 2) -> bytes:
    """A real PNG image (so the browser and any checker agree it is one)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(b"\x00" + b"\xff\x00\x00" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


def media_message(message_id: str, kind: str, media: dict[str, Any]) -> dict[str, Any]:
    """A WhatsApp delivery of one media message, as the Cloud API documents it."""
    message = {"from": CONTACT, "id": message_id, "timestamp": str(NOW), "type": kind, kind: media}
    return whatsapp({"contacts": [{"profile": {"name": "Ann"}, "wa_id": CONTACT}], "messages": [message]})


def serve_media(platform_api: FakePlatform, media_id: str, content: bytes, mime_type: str) -> None:
    """The fake Graph API: the media id's lookup, then the file at the URL it gives."""
    platform_api.answer(
        f"/v21.0/{media_id}",
        {
            "messaging_product": "whatsapp",
            "id": media_id,
            "url": f"{platform_api.url}/whatsapp-media/{media_id}",
            "mime_type": mime_type,
            "file_size": len(content),
            "sha256": "not-checked",
        },
    )
    platform_api.answer(f"/whatsapp-media/{media_id}", Answer(body=content, content_type=mime_type))


def receive(platform_api: FakePlatform, team: Any, message_id: str, kind: str, media: dict[str, Any]) -> Attachment:
    account = account_for(WHATSAPP, team, platform_api)
    response = post(Client(), WHATSAPP, account, media_message(message_id, kind, media))
    assert response.status_code == 200, response.content
    return Attachment.objects.get(message__external_id=message_id)


def agent_client(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_an_image_is_fetched_with_the_accounts_token_and_shown_inline_to_the_agent(
    task_runner: str, platform_api: FakePlatform, team_a: Any, agent_a: Any
) -> None:
    image = png()
    serve_media(platform_api, "media-1", image, "image/png")
    attachment = receive(platform_api, team_a, "wamid.img1", "image", {"id": "media-1", "caption": "The box"})
    attachment = wait_for_field(attachment, "state", not_in={AttachmentState.PENDING})
    assert (attachment.state, attachment.size, attachment.mime_type) == ("stored", len(image), "image/png")
    lookup, download = [r for r in platform_api.requests if r.method == "GET"]
    assert (lookup.path, download.path) == ("/v21.0/media-1", "/whatsapp-media/media-1")
    assert lookup.headers["Authorization"] == download.headers["Authorization"] == f"Bearer {TOKEN}"
    with attachment.file.open("rb") as stored:
        assert stored.read() == image

    ticket = attachment.message.ticket
    event = ticket.events.get(kind=EventKind.ATTACHMENT)
    assert (event.data["state"], event.data["attachment_id"]) == ("stored", attachment.pk)
    page = agent_client(agent_a).get(f"/tickets/{ticket.number}/").content.decode()
    assert f'<img src="/attachments/{attachment.pk}/"' in page
    served = agent_client(agent_a).get(f"/attachments/{attachment.pk}/")
    assert served.status_code == 200
    assert b"".join(served.streaming_content) == image
    assert served["Content-Type"] == "image/png"
    assert served["Content-Disposition"].startswith("inline")
    assert served["X-Content-Type-Options"] == "nosniff"


def test_a_file_is_only_ever_downloaded_and_only_by_those_who_see_the_ticket(
    task_runner: str, platform_api: FakePlatform, team_a: Any, agent_a: Any, agent_b: Any
) -> None:
    svg = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
    serve_media(platform_api, "media-2", svg, "image/svg+xml")
    attachment = receive(platform_api, team_a, "wamid.doc1", "document", {"id": "media-2", "filename": "drawing.svg"})
    attachment = wait_for_field(attachment, "state", not_in={AttachmentState.PENDING})
    assert attachment.state == AttachmentState.STORED and attachment.name == "drawing.svg"

    page = agent_client(agent_a).get(f"/tickets/{attachment.message.ticket.number}/").content.decode()
    assert f'<a href="/attachments/{attachment.pk}/" download>drawing.svg</a>' in page
    assert "<img" not in page.split('id="thread"')[1]
    served = agent_client(agent_a).get(f"/attachments/{attachment.pk}/")
    # An SVG can carry script: never shown as a page of ours, always a download of opaque bytes.
    assert served["Content-Type"] == "application/octet-stream"
    assert served["Content-Disposition"].startswith('attachment; filename="drawing.svg"')
    assert "sandbox" in served["Content-Security-Policy"]

    assert agent_client(agent_b).get(f"/attachments/{attachment.pk}/").status_code == 404  # another team's agent
    anonymous = Client().get(f"/attachments/{attachment.pk}/")
    assert anonymous.status_code == 302 and anonymous["Location"].startswith("/accounts/login/")


@override_settings(HELPDESK_ATTACHMENT_MAX_BYTES=1000)
def test_a_file_over_the_limit_is_not_kept_and_the_thread_says_why(
    eager_tasks: None, platform_api: FakePlatform, team_a: Any, agent_a: Any
) -> None:
    serve_media(platform_api, "media-3", b"x" * 5000, "video/mp4")
    attachment = receive(platform_api, team_a, "wamid.vid1", "video", {"id": "media-3"})
    attachment.refresh_from_db()  # fetched in this process: the limit is this test's setting
    assert (attachment.state, attachment.size, bool(attachment.file)) == ("too_large", 5000, False)
    # The size the lookup announced was enough: the file itself was never asked for.
    assert [r.path for r in platform_api.requests if r.method == "GET"] == ["/v21.0/media-3"]
    page = agent_client(agent_a).get(f"/tickets/{attachment.message.ticket.number}/").content.decode()
    assert "Too large to keep: the file is 5,000 bytes; the limit is 1,000 bytes" in page


@override_settings(HELPDESK_ATTACHMENT_MAX_BYTES=1000)
def test_a_file_whose_size_the_lookup_did_not_announce_is_refused_at_download(
    eager_tasks: None, platform_api: FakePlatform, team_a: Any
) -> None:
    platform_api.answer(
        "/v21.0/media-4", {"url": f"{platform_api.url}/whatsapp-media/media-4", "mime_type": "audio/ogg"}
    )
    platform_api.answer("/whatsapp-media/media-4", Answer(body=b"y" * 5000, content_type="audio/ogg"))
    attachment = receive(platform_api, team_a, "wamid.aud1", "audio", {"id": "media-4"})
    attachment.refresh_from_db()
    assert attachment.state == AttachmentState.TOO_LARGE and not attachment.file


def test_a_platform_that_fails_for_a_while_is_asked_again_until_the_last_try(
    eager_tasks: None, platform_api: FakePlatform, team_a: Any
) -> None:
    account = account_for(WHATSAPP, team_a, platform_api)
    platform_api.answer("/v21.0/media-5", Answer(status=503, body=b'{"error":{"message":"busy"}}'))
    post(Client(), WHATSAPP, account, media_message("wamid.img5", "image", {"id": "media-5"}))
    attachment = Attachment.objects.get(message__external_id="wamid.img5")
    # The embedded default fetched once, eagerly, and that try was the last.
    assert attachment.state == AttachmentState.FAILED and "HTTP 503" in attachment.error

    attachment.state, attachment.attempts = AttachmentState.PENDING, 0  # as if the first try of a real worker
    attachment.save()
    with pytest.raises(AttachmentFetchFailed):
        attachment_store(attachment_id=attachment.pk, now=timezone.now(), final_attempt=False)
    attachment.refresh_from_db()
    assert (attachment.state, attachment.attempts) == (AttachmentState.PENDING, 1)

    serve_media(platform_api, "media-5", png(), "image/png")
    stored = attachment_store(attachment_id=attachment.pk, now=timezone.now(), final_attempt=False)
    assert stored is not None and (stored.state, stored.attempts) == (AttachmentState.STORED, 2)
    # Done is done: a late duplicate of the task finds nothing pending.
    assert attachment_store(attachment_id=attachment.pk, now=timezone.now(), final_attempt=True) is None


@pytest.mark.production_stack
def test_a_worker_asks_again_with_backoff_and_records_the_failure_after_the_last_try(
    task_runner: str, platform_api: FakePlatform, team_a: Any, agent_a: Any
) -> None:
    platform_api.answer("/v21.0/media-9", Answer(status=503, body=b'{"error":{"message":"busy"}}'))
    attachment = receive(platform_api, team_a, "wamid.img9", "image", {"id": "media-9"})
    attachment = wait_for_field(attachment, "state", not_in={AttachmentState.PENDING})
    # The worker's environment (tests/support.server_env) allows 6 tries: more than Celery's own cap of 3.
    assert (attachment.state, attachment.attempts) == (AttachmentState.FAILED, 6)
    assert len([r for r in platform_api.requests if r.path == "/v21.0/media-9"]) == 6
    page = agent_client(agent_a).get(f"/tickets/{attachment.message.ticket.number}/").content.decode()
    assert "Could not be fetched: the platform answered HTTP 503" in page


def test_a_location_is_a_link_and_nothing_is_fetched(
    eager_tasks: None, platform_api: FakePlatform, team_a: Any, agent_a: Any
) -> None:
    location = {"latitude": 52.52, "longitude": 13.405, "name": "Alexanderplatz"}
    attachment = receive(platform_api, team_a, "wamid.loc1", "location", location)
    assert (attachment.kind, attachment.state) == ("location", AttachmentState.LINK)
    assert platform_api.requests == []
    page = agent_client(agent_a).get(f"/tickets/{attachment.message.ticket.number}/").content.decode()
    assert 'href="geo:52.52,13.405"' in page


def test_a_team_lead_fetches_failed_files_again_from_the_admin(
    eager_tasks: None, platform_api: FakePlatform, team_a: Any, admin_user: Any
) -> None:
    platform_api.answer("/v21.0/media-6", Answer(status=404, body=b'{"error":{"message":"gone"}}'))
    attachment = receive(platform_api, team_a, "wamid.img6", "image", {"id": "media-6"})
    attachment.refresh_from_db()
    assert attachment.state == AttachmentState.FAILED
    serve_media(platform_api, "media-6", png(), "image/png")
    request = RequestFactory().post("/admin/tickets/attachment/")
    request.user = admin_user
    request._messages = _Messages()  # type: ignore[attr-defined]
    model_admin = AttachmentAdmin(Attachment, site)
    model_admin.fetch_again(request, Attachment.objects.filter(pk=attachment.pk))
    attachment.refresh_from_db()
    assert attachment.state == AttachmentState.STORED


class _Messages:
    """Django's messages storage, for an admin action called directly: what it said is kept."""

    def __init__(self) -> None:
        self.said: list[str] = []

    def add(self, level: int, message: str, extra_tags: str = "") -> None:
        self.said.append(message)


def test_the_thread_costs_the_same_queries_with_one_or_many_attachments(team_a: Any, agent_a: Any) -> None:
    def page_queries(ticket: Ticket) -> int:
        client = agent_client(agent_a)
        with CaptureQueriesContext(connection) as captured:
            assert client.get(f"/tickets/{ticket.number}/live/").status_code == 200
        return len(captured)

    counts = []
    for files in (1, 12):
        ticket = TicketFactory(team=team_a)
        for _ in range(files):
            message = MessageFactory(ticket=ticket)
            Attachment.objects.create(message=message, position=0, kind="image", state=AttachmentState.FAILED)
        counts.append(page_queries(ticket))
    assert counts[0] == counts[1]


def test_files_of_other_teams_are_not_reachable_by_guessing_ids(eager_tasks: None, platform_api: FakePlatform) -> None:
    team, other = TeamFactory(), TeamFactory()
    insider, outsider = UserFactory(teams=[team]), UserFactory(teams=[other])
    serve_media(platform_api, "media-7", png(), "image/png")
    attachment = receive(platform_api, team, "wamid.img7", "image", {"id": "media-7"})
    attachment.refresh_from_db()
    assert agent_client(insider).get(f"/attachments/{attachment.pk}/").status_code == 200
    assert agent_client(outsider).get(f"/attachments/{attachment.pk}/").status_code == 404
    assert agent_client(insider).get(f"/attachments/{attachment.pk + 1000}/").status_code == 404


def test_a_name_with_nothing_a_file_name_keeps_is_still_stored(
    eager_tasks: None, platform_api: FakePlatform, team_a: Any, agent_a: Any
) -> None:
    serve_media(platform_api, "media-10", b"%PDF-1.4", "application/pdf")
    attachment = receive(platform_api, team_a, "wamid.doc10", "document", {"id": "media-10", "filename": "😀"})
    attachment.refresh_from_db()
    assert attachment.state == AttachmentState.STORED, attachment.error
    assert attachment.name == "😀" and attachment.file.name.endswith("/file")
    served = agent_client(agent_a).get(f"/attachments/{attachment.pk}/")
    assert b"".join(served.streaming_content) == b"%PDF-1.4"


def test_a_file_gone_from_storage_is_a_404_and_a_deleted_ticket_takes_its_files_along(
    eager_tasks: None, platform_api: FakePlatform, team_a: Any, agent_a: Any
) -> None:
    serve_media(platform_api, "media-11", png(), "image/png")
    attachment = receive(platform_api, team_a, "wamid.img11", "image", {"id": "media-11"})
    attachment.refresh_from_db()
    storage, name = attachment.file.storage, attachment.file.name
    assert storage.exists(name)
    attachment.message.ticket.delete()
    assert not storage.exists(name)

    serve_media(platform_api, "media-12", png(), "image/png")
    kept = receive(platform_api, team_a, "wamid.img12", "image", {"id": "media-12"})
    kept.refresh_from_db()
    kept.file.storage.delete(kept.file.name)
    assert agent_client(agent_a).get(f"/attachments/{kept.pk}/").status_code == 404
