"""A customer sends a photo while an agent has their ticket open: the photo appears in the thread without a reload,
really loaded by the browser from the permission-checked file view; another team's agent cannot load it.

The delivery goes to the live server as WhatsApp would send it; the file is fetched from the fake platform (a
real HTTP server on 127.0.0.1) by the server itself (embedded pass) or by a real Celery worker (production).
"""

import json
import urllib.request
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.factories import UserFactory
from tests.fake_platform import FakePlatform
from tests.support import BUILD
from tests.tickets.platform_deliveries import NOW, PLATFORMS, Posted, account_for, hub_signed, whatsapp
from tests.tickets.test_attachments import CONTACT, media_message, png, serve_media
from tickets.models import Attachment, Ticket

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WHATSAPP = next(p for p in PLATFORMS if p.kind == "whatsapp")
LIVE = 15_000


def deliver(live_server_url: str, account: Any, data: dict[str, Any]) -> None:
    """POST a signed WhatsApp delivery to the live server, as Meta would."""
    path = f"/webhooks/whatsapp/{account.pk}/"
    signed = hub_signed(account, path, Posted(body=json.dumps(data).encode()))
    headers = {"Content-Type": "application/json", **signed.headers}
    request = urllib.request.Request(live_server_url + path, data=signed.body, method="POST", headers=headers)
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 200


def test_a_photo_appears_live_in_the_open_ticket_and_only_its_team_can_load_it(
    signed_in_page: Any, live_server_url: str, task_runner: str, platform_api: FakePlatform, team_a: Any, team_b: Any
) -> None:
    agent = UserFactory(username="photo_agent", teams=[team_a])
    outsider = UserFactory(username="photo_outsider", teams=[team_b])
    account = account_for(WHATSAPP, team_a, platform_api)
    first = {"from": CONTACT, "id": "wamid.hello", "timestamp": str(NOW), "type": "text"}
    first["text"] = {"body": "My parcel arrived broken"}  # type: ignore[assignment]
    deliver(live_server_url, account, whatsapp({"messages": [first]}))
    ticket = Ticket.objects.get(identity__channel_account=account)

    page = signed_in_page(agent)
    page.goto(f"{live_server_url}/tickets/{ticket.number}/")
    expect(page.locator("#live-state")).to_have_attribute("data-state", "live")
    page.evaluate("() => { window.helpdeskMark = 'not reloaded'; }")

    serve_media(platform_api, "media-live", png(40, 30), "image/png")
    deliver(live_server_url, account, media_message("wamid.photo", "image", {"id": "media-live", "caption": "Box"}))

    image = page.locator("#thread img.attachment-image")
    expect(image).to_be_visible(timeout=LIVE)
    # Loaded for real, through the file view: the browser decoded a 40 x 30 picture.
    page.wait_for_function("() => document.querySelector('#thread img.attachment-image').naturalWidth === 40")
    assert page.evaluate("() => window.helpdeskMark") == "not reloaded"
    page.screenshot(path=str(BUILD / "screenshots" / "ticket-with-photo.png"))

    attachment = Attachment.objects.get(message__external_id="wamid.photo")
    other = signed_in_page(outsider)
    answer = other.request.get(f"{live_server_url}/attachments/{attachment.pk}/")
    assert answer.status == 404
    assert platform_api.requests[-1].headers.get("Authorization") == f"Bearer {account.access_token}"
