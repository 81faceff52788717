"""SLA countdowns in a real browser: they count down by themselves and follow the clocks live.

The live server ticks clocks only in the embedded pass; in the production pass (no beat) nothing on the
server records the breach, and the countdown must still turn to breached in the browser on its own.
"""

import uuid
from datetime import timedelta
from typing import Any

import pytest
from django.conf import settings
from playwright.sync_api import expect

from helpdesk.envconfig import env_bool
from policies.models import SlaPolicy, SlaTarget, TargetKind
from tests.factories import UserFactory
from tests.support import BUILD, post_signed
from tickets.models import Priority

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SCREENSHOTS = BUILD / "screenshots"
# Short enough to watch: the warning starts at 8 s (80%), the breach at 10 s.
FIRST_RESPONSE = timedelta(seconds=10)
# Whether the live server runs the in-process ticker, as its settings decide from the same environment.
SERVER_TICKS = env_bool("HELPDESK_SLA_TICKER", settings.CELERY_TASK_ALWAYS_EAGER)


def sla_policy(name: str, *, team: Any, first_response: timedelta) -> SlaPolicy:
    """A calendar-time policy for `team`'s normal-priority tickets, made before the tickets it governs."""
    policy = SlaPolicy.objects.create(name=name)
    policy.teams.add(team)
    for kind, duration in ((TargetKind.FIRST_RESPONSE, first_response), (TargetKind.RESOLUTION, timedelta(hours=8))):
        SlaTarget.objects.create(policy=policy, priority=Priority.NORMAL, kind=kind, duration=duration)
    return policy


def sender() -> str:
    # The live server is shared by the whole session: a sender of its own keeps this test's tickets apart.
    return f"sla-{uuid.uuid4().hex[:12]}"


def open_live(page: Any, url: str) -> None:
    page.goto(url)
    expect(page.locator("#live-state")).to_have_attribute("data-state", "live")


def test_a_countdown_turns_to_warning_then_breached_in_the_browser(
    signed_in_page: Any, live_server_url: str, team_a: Any, team_b: Any, account_a: Any, account_b: Any
) -> None:
    sla_policy("Fast lane", team=team_a, first_response=FIRST_RESPONSE)
    agent = UserFactory(teams=[team_a, team_b])
    inbox, ticket_page = signed_in_page(agent), signed_in_page(agent)
    open_live(inbox, f"{live_server_url}/inbox/")

    fast = post_signed(live_server_url, account_a, sender_id=sender(), sender_name="Ada Quick", text="Urgent!")
    # Newer activity on a ticket no policy governs (team B): it sits above the fast one.
    calm = post_signed(live_server_url, account_b, sender_id=sender(), sender_name="Bo Calm", text="No rush")
    fast_number, calm_number = fast["tickets"][0], calm["tickets"][0]
    rows = inbox.locator("#inbox-rows .ticket-row")
    fast_row = inbox.locator(".ticket-row", has_text=f"#{fast_number}")
    calm_row = inbox.locator(".ticket-row", has_text=f"#{calm_number}")
    expect(calm_row).to_be_visible()
    expect(rows.first).to_contain_text(f"#{calm_number}")

    row_countdown = fast_row.locator(".sla-countdown")
    open_live(ticket_page, f"{live_server_url}/tickets/{fast_number}/")
    head_countdown = ticket_page.locator("#ticket-sla-nearest .sla-countdown")
    for countdown in (row_countdown, head_countdown):
        expect(countdown).to_have_attribute("data-level", "ok")
        expect(countdown).to_contain_text("OK · ")
        expect(countdown).to_contain_text("First response")
    expect(calm_row.locator(".sla-none")).to_have_text("No running target")
    # It counts down by itself: the seconds left change without any event.
    before = row_countdown.locator(".sla-text").inner_text()
    expect(row_countdown.locator(".sla-text")).not_to_have_text(before, timeout=2500)

    # Marked, to tell the server's redraw of the row from the browser's own countdown.
    row_id = fast_row.get_attribute("id")
    fast_row.evaluate("row => { row.dataset.mark = 'before-breach'; }")

    for countdown in (row_countdown, head_countdown):
        expect(countdown).to_have_attribute("data-level", "warning", timeout=10_000)
        expect(countdown).to_contain_text("Warning · ")
    for countdown in (row_countdown, head_countdown):
        expect(countdown).to_have_attribute("data-level", "breached", timeout=5_000)
        expect(countdown).to_contain_text("Breached · ")
        expect(countdown).to_contain_text(" ago")
    expect(inbox.locator("#sla-announcer")).to_contain_text(f"Ticket #{fast_number}, first response: Breached")

    if SERVER_TICKS:
        # The tick records the breach; its "sla" event redraws the row and the ticket's panel.
        expect(inbox.locator(f"#{row_id}")).not_to_have_attribute("data-mark", "before-breach", timeout=5_000)
        expect(ticket_page.locator("#sla-targets .sla-line.state-breached")).to_contain_text("First response")
    # An SLA change is not new activity: the row stays where it was, below the newer ticket.
    expect(rows.first).to_contain_text(f"#{calm_number}")
    expect(rows.nth(1)).to_contain_text(f"#{fast_number}")
    expect(row_countdown).to_have_attribute("data-level", "breached")

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    inbox.screenshot(path=str(SCREENSHOTS / "sla-inbox.png"), full_page=True)
    ticket_page.screenshot(path=str(SCREENSHOTS / "sla-ticket-breached.png"), full_page=True)


def test_a_reply_meets_the_first_response_live_and_the_page_explains_the_policy(
    signed_in_page: Any, live_server_url: str, team_a: Any, account_a: Any, agent_a: Any
) -> None:
    sla_policy("Standard support", team=team_a, first_response=timedelta(hours=1))
    posted = post_signed(live_server_url, account_a, sender_id=sender(), sender_name="Cy Patient", text="Refund?")
    number = posted["tickets"][0]
    page, inbox = signed_in_page(agent_a), signed_in_page(agent_a)
    open_live(page, f"{live_server_url}/tickets/{number}/")
    open_live(inbox, f"{live_server_url}/inbox/")

    # Which policy applies, and why.
    panel = page.locator("#ticket-sla")
    expect(panel.locator("#sla-policy-name")).to_have_text("Standard support")
    expect(panel.locator("#sla-reasons li")).to_have_text(
        ["The first policy in order", "Any channel", "Team is Team A", "Any priority", "Any tags"]
    )
    expect(panel).to_contain_text("the site's time zone")
    first_line = panel.locator(".sla-line", has_text="First response")
    expect(first_line.locator(".sla-countdown")).to_have_attribute("data-level", "ok")
    expect(page.locator("#ticket-sla-nearest")).to_contain_text("First response")
    row = inbox.locator(".ticket-row", has_text=f"#{number}")
    expect(row.locator(".sla-countdown")).to_contain_text("First response")

    page.get_by_role("textbox", name="Reply").fill("Your refund is on its way.")
    page.get_by_role("button", name="Send reply").click()

    # The reply's event refreshes the panel: the first response is met, and the resolution is now nearest.
    expect(first_line.locator(".sla-state-text")).to_have_text("Met", timeout=2_000)
    expect(page.locator("#ticket-sla-nearest .sla-countdown")).to_contain_text("Resolution")
    expect(page.locator("#ticket-sla-nearest .sla-countdown")).to_have_attribute("data-level", "ok")
    expect(row.locator(".sla-countdown")).to_contain_text("Resolution", timeout=2_000)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "sla-ticket-met.png"), full_page=True)
