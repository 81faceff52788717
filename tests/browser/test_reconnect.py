"""A page that lost its connection catches up when it comes back: what changed meanwhile appears without a
reload, once, and a ticket that moved out of the agent's sight leaves their inbox and its page says so."""

from typing import Any

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from tests.factories import UserFactory
from tests.support import free_port, post_signed
from tickets.models import Ticket
from tickets.services.properties import ticket_assign

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# After the network comes back, live.js's next try comes within its longest backoff (8 s).
RECONNECT = 15_000


def open_live(page: Any, url: str) -> None:
    page.goto(url)
    expect(page.locator("#live-state")).to_have_attribute("data-state", "live")
    page.evaluate("() => { window.helpdeskMark = 'not reloaded'; }")


def still_the_same_page(page: Any) -> None:
    assert page.evaluate("() => window.helpdeskMark") == "not reloaded"


# Noting every socket a page opens, and while the test says the page is offline, sending new ones to a port
# where nothing listens, so that they fail at once (as they would on a dropped network).
SOCKETS_UNDER_TEST = """(() => {
    const Native = window.WebSocket;
    window.helpdeskTestSockets = [];
    window.helpdeskTestOffline = false;
    window.WebSocket = function (url, protocols) {
        const socket = new Native(window.helpdeskTestOffline ? "ws://127.0.0.1:%d/" : url, protocols);
        window.helpdeskTestSockets.push(socket);
        return socket;
    };
    window.WebSocket.prototype = Native.prototype;
    Object.assign(window.WebSocket, { CONNECTING: 0, OPEN: 1, CLOSING: 2, CLOSED: 3 });
})()"""


def drop_the_network(context: Any, pages: list[Any]) -> None:
    """Close the pages' sockets as a dropped connection does, and take the browser offline.

    Chromium's offline mode neither closes an open websocket nor always lets one close while it lasts (the close
    handshake can hang): the sockets are closed first, and new ones kept from connecting by the page itself.
    """
    for page in pages:
        page.evaluate(
            """() => {
                window.helpdeskTestOffline = true;
                return Promise.all(window.helpdeskTestSockets.filter((socket) => socket.readyState < 2).map(
                    (socket) => new Promise((closed) => { socket.addEventListener("close", closed); socket.close(); })
                ));
            }"""
        )
    context.set_offline(True)
    for page in pages:
        expect(page.locator("#live-state")).to_have_attribute("data-state", "offline")


def restore_the_network(context: Any, pages: list[Any]) -> None:
    context.set_offline(False)
    for page in pages:
        page.evaluate("() => { window.helpdeskTestOffline = false; }")


def test_a_dropped_connection_catches_up_without_a_reload_or_duplicates(
    browser: Any, live_server_url: str, session_cookie: Any, team_a: Any, team_b: Any, account_a: Any
) -> None:
    ann = UserFactory(username="ann", first_name="Ann", teams=[team_a])
    bob = UserFactory(username="bob", first_name="Bob", teams=[team_a, team_b])
    kept = post_signed(live_server_url, account_a, sender_id="c-kept", sender_name="Kim Kept", text="First question")
    moving = post_signed(live_server_url, account_a, sender_id="c-moving", sender_name="Mo Moving", text="Billing?")
    kept_number, moving_number = kept["tickets"][0], moving["tickets"][0]

    # One browser context (one network) for Ann's three pages; each page's sockets are noted for the test.
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.add_cookies([{"name": "sessionid", "value": session_cookie(ann), "url": live_server_url}])
    context.add_init_script(SOCKETS_UNDER_TEST % free_port())
    try:
        inbox, kept_page, moving_page = context.new_page(), context.new_page(), context.new_page()
        open_live(inbox, f"{live_server_url}/inbox/")
        open_live(kept_page, f"{live_server_url}/tickets/{kept_number}/")
        open_live(moving_page, f"{live_server_url}/tickets/{moving_number}/")
        kept_row, moving_row = (
            inbox.locator("#inbox-rows .ticket-row", has_text=f"#{n}") for n in (kept_number, moving_number)
        )
        expect(kept_row).to_have_count(1)
        expect(moving_row).to_have_count(1)

        drop_the_network(context, [inbox, kept_page, moving_page])
        # Meanwhile: a new message and an assignment on one ticket, and the other moved to a team Ann is not in.
        post_signed(live_server_url, account_a, sender_id="c-kept", text="Are you there?")
        now = timezone.now()
        ticket_assign(ticket=Ticket.objects.get(number=kept_number), assignee=bob, now=now)
        ticket_assign(ticket=Ticket.objects.get(number=moving_number), team=team_b, now=now)
        # Nothing arrives while offline: what the pages show next comes from catching up.
        for page in (inbox, kept_page, moving_page):
            expect(page.locator("#live-state")).to_have_attribute("data-state", "offline")
        expect(kept_page.locator("#thread .message-in", has_text="Are you there?")).to_have_count(0)

        restore_the_network(context, [inbox, kept_page, moving_page])
        for page in (inbox, kept_page, moving_page):
            expect(page.locator("#live-state")).to_have_attribute("data-state", "live", timeout=RECONNECT)

        new_message = kept_page.locator("#thread .message-in", has_text="Are you there?")
        expect(new_message).to_have_count(1)
        expect(kept_page.locator("#ticket-assignee")).to_have_text("bob")
        expect(kept_row).to_have_count(1)
        expect(kept_row).to_contain_text("Are you there?")
        expect(kept_row.locator(".assignee-cell")).to_contain_text("bob")
        expect(inbox.locator("#inbox-rows .ticket-row").first).to_contain_text(f"#{kept_number}")
        # The moved ticket left the inbox, and its page says it is out of sight instead of going quiet.
        expect(moving_row).to_have_count(0)
        expect(moving_page.locator("#ticket-gone")).to_contain_text("You can no longer see this ticket")
        expect(moving_page.locator("#ticket-gone")).not_to_contain_text("Team B")

        # Live again: the next message arrives once, and the caught-up ones were not repeated.
        post_signed(live_server_url, account_a, sender_id="c-kept", text="Hello again")
        expect(kept_page.locator("#thread .message-in", has_text="Hello again")).to_have_count(1)
        expect(kept_row).to_contain_text("Hello again")
        expect(new_message).to_have_count(1)
        expect(kept_page.locator("#thread .message-in")).to_have_count(3)
        expect(inbox.locator("#inbox-rows .ticket-row")).to_have_count(1)
        for page in (inbox, kept_page, moving_page):
            still_the_same_page(page)
    finally:
        context.close()
