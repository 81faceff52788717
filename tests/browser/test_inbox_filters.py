"""The inbox in a real browser, wide and phone-sized: filter, search, save the view, and open it again."""

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from tests.support import BUILD
from tests.tickets.inbox_data import add_clock, make_ticket
from tickets.models import Priority

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SCREENSHOTS = BUILD / "screenshots"


@pytest.mark.parametrize("width", [1280, 360])
def test_an_agent_filters_searches_saves_the_view_and_opens_it_again(
    signed_in_page: Any, live_server_url: str, agent_a: Any, team_a: Any, width: int
) -> None:
    now = timezone.now()
    wanted = make_ticket(
        team_a,
        contact="Maria Lopez",
        text="My refund has not arrived",
        priority=Priority.URGENT,
        kind="whatsapp",
        tags=("vip",),
        activity=now - timedelta(minutes=40),
    )
    add_clock(wanted, now=now, due_in=timedelta(minutes=-12))
    lamp = make_ticket(
        team_a,
        contact="Ken Sato",
        text="Refund for a broken lamp",
        priority=Priority.LOW,
        activity=now - timedelta(minutes=9),
    )
    add_clock(lamp, now=now, due_in=timedelta(hours=5))
    parcel = make_ticket(
        team_a,
        contact="Ada Quick",
        text="Where is my parcel?",
        priority=Priority.URGENT,
        assignee=agent_a,
        activity=now - timedelta(minutes=2),
    )
    add_clock(parcel, now=now, due_in=timedelta(minutes=25))
    page = signed_in_page(agent_a, width=width)
    page.goto(f"{live_server_url}/inbox/")
    rows = page.locator("#inbox-rows .ticket-row")
    expect(rows).to_have_count(3)

    page.get_by_label("Priority").select_option(label="Urgent")
    page.get_by_label("Search messages, contact names and ticket numbers").fill("refund")
    page.get_by_role("button", name="Apply").click()
    expect(page).to_have_url(f"{live_server_url}/inbox/?priority=4&q=refund")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text(f"#{wanted.number}")
    expect(rows.first).to_contain_text("Maria Lopez")
    expect(page.locator("#inbox-help")).to_contain_text("All I may see (priority: Urgent, matching “refund”)")

    page.get_by_label("Save this view as").fill("Urgent refunds")
    page.get_by_role("button", name="Save view").click()
    expect(page.locator("#flashes")).to_contain_text("Saved the view “Urgent refunds”.")
    saved = page.get_by_role("link", name="Urgent refunds")
    expect(saved).to_have_attribute("aria-current", "page")

    # Elsewhere, then back through the saved view. A view keeps the filters: none of "Mine" is about a refund.
    page.get_by_role("navigation", name="Inbox views").get_by_role("link", name="Mine").click()
    expect(page.locator("#inbox-empty")).to_contain_text("No tickets in this view.")
    page.get_by_role("link", name="Clear filters and search").click()
    expect(page).to_have_url(f"{live_server_url}/inbox/?view=mine")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Ada Quick")
    page.get_by_role("link", name="All I may see").click()
    expect(rows).to_have_count(3)
    # The README's picture of the inbox: every ticket, the filters, and the saved view.
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / ("inbox.png" if width > 600 else "inbox-360.png")), full_page=True)
    page.get_by_role("link", name="Urgent refunds").click()
    expect(page).to_have_url(f"{live_server_url}/inbox/?priority=4&q=refund")
    expect(rows).to_have_count(1)
    expect(page.get_by_label("Priority")).to_have_value("4")
    expect(page.get_by_label("Search messages, contact names and ticket numbers")).to_have_value("refund")

    # Nothing is wider than the window: at 360 px the rows are cards, not a table to scroll sideways.
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    display = rows.first.evaluate("row => getComputedStyle(row).display")
    assert display == ("flex" if width < 600 else "table-row")
    expect(rows.first.get_by_role("link", name=f"#{wanted.number}")).to_be_visible()

    page.get_by_role("button", name="Delete the saved view Urgent refunds").click()
    expect(page.locator("#flashes")).to_contain_text("Deleted the view “Urgent refunds”.")
    expect(page.get_by_role("link", name="Urgent refunds")).to_have_count(0)
