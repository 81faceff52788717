"""An escalation level fires while agents watch: they see what it did without reloading, only where permitted.

What ticks is what production runs: the live server's own ticker in the embedded pass, Celery beat and a
worker on the production stack (the `sla_ticker` fixture). Nothing here drives the tick or sleeps: the test
waits for the browser to show what the server did.
"""

import re
import uuid
from datetime import timedelta
from typing import Any

import pytest
from playwright.sync_api import expect

from policies.models import SlaPolicy, SlaTarget, TargetKind
from tests.factories import UserFactory
from tests.policies.escalation_helpers import make_escalation_policy
from tests.support import BUILD, post_signed
from tickets.models import Priority, Tag

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SCREENSHOTS = BUILD / "screenshots"
# Long enough for both ticket pages to open (and go live) before it is due, even on a busy machine; short
# enough to watch. The level fires at the breach.
FIRST_RESPONSE = timedelta(seconds=5)
# The tick that fires the level comes within a second or two of the breach (beat and a worker on the
# production stack, the server's own ticker in the embedded pass): a generous wait, which passes at once.
LIVE = 15_000
NOTE = "First response breached: a lead is on it."


def open_live(page: Any, url: str) -> None:
    page.goto(url)
    expect(page.locator("#live-state")).to_have_attribute("data-state", "live")
    # Marked, so that the end of the test can tell that the page was never reloaded.
    page.evaluate("() => { window.helpdeskMark = 'not reloaded'; }")


def still_the_same_page(page: Any) -> None:
    assert page.evaluate("() => window.helpdeskMark") == "not reloaded"


def test_agents_see_an_escalation_fire_live_and_only_where_permitted(
    signed_in_page: Any, live_server_url: str, sla_ticker: str, team_a: Any, team_b: Any, account_a: Any
) -> None:
    agent_1 = UserFactory(username="lead_one", teams=[team_a])
    agent_2 = UserFactory(username="agent_two", teams=[team_a])
    outsider = UserFactory(username="other_team", teams=[team_b])
    sla = SlaPolicy.objects.create(name="Five seconds")
    sla.teams.add(team_a)
    for priority in (Priority.NORMAL, Priority.URGENT):
        for kind, duration in (
            (TargetKind.FIRST_RESPONSE, FIRST_RESPONSE),
            (TargetKind.RESOLUTION, timedelta(hours=8)),
        ):
            SlaTarget.objects.create(policy=sla, priority=priority, kind=kind, duration=duration)
    make_escalation_policy(
        name="Breach desk",
        sla_policy=sla,
        teams=[team_a],
        levels=[
            {
                "kind": TargetKind.FIRST_RESPONSE,
                "offset": timedelta(0),
                "set_priority": Priority.URGENT,
                "add_tags": [Tag.objects.create(name="breached")],
                "note": NOTE,
                "notify_users": [agent_1],
            }
        ],
    )
    page_1, page_2, inbox_2, outsider_page = (signed_in_page(user) for user in (agent_1, agent_2, agent_2, outsider))
    open_live(inbox_2, f"{live_server_url}/inbox/")
    open_live(outsider_page, f"{live_server_url}/inbox/")

    posted = post_signed(
        live_server_url, account_a, sender_id=f"esc-{uuid.uuid4().hex[:12]}", sender_name="Ida Waiting", text="Hello?"
    )
    number = posted["tickets"][0]
    ticket_url = f"{live_server_url}/tickets/{number}/"
    open_live(page_1, ticket_url)
    open_live(page_2, ticket_url)
    row = inbox_2.locator(".ticket-row", has_text=f"#{number}")
    expect(row).to_be_visible()

    # Before the breach: the policy and why are shown; nothing has fired, nobody has been told.
    for page in (page_1, page_2):
        expect(page.locator("#escalation-policy-name")).to_have_text("Breach desk")
        expect(page.locator("#escalation-reasons")).to_contain_text("Follows the SLA policy Five seconds")
        expect(page.locator("#notifications-count")).to_have_text("0")

    # Agent 1 is told: the count, a toast that leads to the ticket, and the words for a screen reader.
    expect(page_1.locator("#notifications-count")).to_have_text("1", timeout=LIVE)
    toast = page_1.locator("#toasts .toast")
    expect(toast).to_have_count(1)
    expect(toast).to_contain_text(f"Ticket #{number}: First response, at the breach (Breach desk, level 1)")
    expect(toast.get_by_role("link")).to_have_attribute("href", re.compile(r"^/notifications/\d+/open/$"))
    expect(page_1.locator("#notification-announcer")).to_contain_text(f"New notification: Ticket #{number}")

    # Both agents of the team see what the level did.
    for page in (page_1, page_2):
        expect(page.locator("#ticket-priority")).to_have_text("Urgent", timeout=LIVE)
        expect(page.locator("#ticket-tags")).to_have_text("breached", timeout=LIVE)
        note = page.locator("#thread .message-note")
        expect(note).to_have_count(1, timeout=LIVE)
        expect(note).to_contain_text("Internal note")
        expect(note).to_contain_text("System")
        expect(note).to_contain_text(NOTE)
        firing = page.locator("#escalation-firings .firing")
        expect(firing).to_have_count(1, timeout=LIVE)
        expect(firing).to_contain_text("Breach desk, level 1")
        expect(firing).to_contain_text("First response, at the breach")
        expect(firing.locator(".outcome", has_text="Set priority")).to_contain_text("Priority set to Urgent")
        expect(firing.locator(".outcome", has_text="Add tags")).to_contain_text("Tagged breached")
        expect(firing.locator(".outcome", has_text="Internal note")).to_contain_text("Done")
        expect(firing.locator(".outcome", has_text="Notify")).to_contain_text("Told lead_one")
    expect(row.locator(".priority")).to_have_text("Urgent", timeout=LIVE)

    # Nobody else was told; the other team's agent gets nothing and may not open the ticket.
    expect(page_2.locator("#notifications-count")).to_have_text("0")
    expect(page_2.locator("#toasts .toast")).to_have_count(0)
    expect(outsider_page.locator("#notifications-count")).to_have_text("0")
    expect(outsider_page.locator("#toasts .toast")).to_have_count(0)
    expect(outsider_page.locator(".ticket-row", has_text=f"#{number}")).to_have_count(0)
    for page in (page_1, page_2, inbox_2, outsider_page):
        still_the_same_page(page)

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page_1.screenshot(path=str(SCREENSHOTS / "escalation-ticket.png"), full_page=True)
    assert outsider_page.goto(ticket_url).status == 404
    assert outsider_page.goto(f"{ticket_url}escalations/").status == 404

    # The toast leads to the ticket and the notification is read from then on.
    toast.get_by_role("link").click()
    expect(page_1).to_have_url(ticket_url)
    expect(page_1.locator("#notifications-count")).to_have_text("0")
    page_1.goto(f"{live_server_url}/notifications/")
    expect(page_1.locator("#notifications .notification")).to_have_count(1)
    expect(page_1.locator("#notifications .unread-marker")).to_have_count(0)
    page_1.screenshot(path=str(SCREENSHOTS / "notifications.png"), full_page=True)
