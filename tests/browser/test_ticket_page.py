"""The ticket page in a real browser: an agent assigns, sets the status, priority and tags in place, and sees the
page change without a reload (a colleague on the same ticket sees it live too); the contact panel shows the
contact's orders from the team's commerce endpoint; the page fits a 360 px wide screen."""

from typing import Any

import pytest
from playwright.sync_api import expect

from tests.factories import UserFactory
from tests.fake_platform import FakePlatform
from tests.support import BUILD, post_signed
from tickets.models import Tag

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SCREENSHOTS = BUILD / "screenshots"
ORDERS = {
    "orders": [
        {
            "id": "o-3",
            "number": "1042",
            "placed_at": "2026-11-20T10:15:00Z",
            "total": "59.90",
            "currency": "EUR",
            "status": "shipped",
        },
        {
            "id": "o-2",
            "number": "1038",
            "placed_at": "2026-10-02T08:00:00Z",
            "total": "12.50",
            "currency": "EUR",
            "status": "delivered",
        },
        {
            "id": "o-1",
            "number": "0977",
            "placed_at": "2026-06-14T16:40:00Z",
            "total": "100.00",
            "currency": "USD",
            "status": "refunded",
        },
    ]
}


def open_ticket(page: Any, url: str) -> None:
    page.goto(url)
    expect(page.locator("#live-state")).to_have_attribute("data-state", "live")
    # Marked, so that the end of the test can tell that the page was never reloaded.
    page.evaluate("() => { window.helpdeskMark = 'not reloaded'; }")


def choose(page: Any, label: str, value: str) -> None:
    """Choose `value` in the select labelled `label` as a person does: the focus goes to it first (the panel does
    not redraw itself under a control in use)."""
    select = page.get_by_label(label)
    select.focus()
    select.select_option(value)


def still_the_same_page(page: Any) -> None:
    assert page.evaluate("() => window.helpdeskMark") == "not reloaded"


def test_an_agent_changes_the_ticket_in_place_and_sees_the_contacts_orders(
    signed_in_page: Any, live_server_url: str, team_a: Any, account_a: Any, platform_api: FakePlatform
) -> None:
    maria = UserFactory(username="maria", teams=[team_a])
    colleague = UserFactory(username="kenji", teams=[team_a])
    Tag.objects.create(name="vip")
    platform_api.answer("/orders", ORDERS)
    team_a.commerce_url, team_a.commerce_token = f"{platform_api.url}/orders", "shop-token"
    team_a.save()
    posted = post_signed(
        live_server_url, account_a, sender_id="ann-42", sender_name="Ann Lee", text="My parcel never arrived."
    )
    url = f"{live_server_url}/tickets/{posted['tickets'][0]}/"
    page, other = signed_in_page(maria), signed_in_page(colleague)
    open_ticket(page, url)
    open_ticket(other, url)

    # The contact panel asked the endpoint once the page had loaded, for this contact, with the team's token.
    orders = page.locator("#contact-orders")
    expect(orders.locator(".order")).to_have_count(3)
    expect(orders.locator(".order").first).to_contain_text("Order 1042")
    expect(orders.locator(".order").first).to_contain_text("59.90 EUR")
    expect(page.locator("#order-totals")).to_contain_text("Total in EUR (2 orders)72.40 EUR")
    expect(page.locator("#order-totals")).to_contain_text("100.00 USD")
    assert any(r.query.get("contact") == ["ann-42"] for r in platform_api.requests)
    assert all(r.headers.get("Authorization") == "Bearer shop-token" for r in platform_api.requests)
    expect(page.get_by_role("link", name="Ann Lee", exact=True).first).to_be_visible()

    page.locator("#assign-to-me").click()
    expect(page.locator("#properties-saved")).to_have_text("Assigned to you.")
    expect(page.locator("#assign-to-me")).to_be_disabled()
    expect(page.locator("#ticket-assignee")).to_have_text("maria")
    expect(other.locator("#ticket-assignee")).to_have_text("maria")
    # The colleague's properties panel fetched itself again after the live event.
    expect(other.get_by_label("Assignee")).to_have_value(str(maria.pk))

    choose(page, "Status", "pending")
    page.get_by_role("button", name="Set status").click()
    expect(page.locator("#ticket-status")).to_have_text("Pending")
    expect(other.locator("#ticket-status")).to_have_text("Pending")

    choose(page, "Priority", "4")
    page.get_by_role("button", name="Set priority").click()
    expect(page.locator("#ticket-priority")).to_have_text("Urgent")
    expect(other.locator("#ticket-priority")).to_have_text("Urgent")

    page.get_by_label("Add a tag").fill("vip")
    page.get_by_role("button", name="Add", exact=True).click()
    expect(page.locator("#ticket-tags")).to_have_text("vip")
    expect(page.get_by_role("button", name="Remove the tag vip")).to_be_visible()

    page.locator("#note-text").fill("Courier says Tuesday.")
    page.get_by_role("button", name="Add note").click()
    expect(page.locator("#thread .message-note", has_text="Courier says Tuesday.")).to_be_visible()
    expect(other.locator("#thread .message-note", has_text="Courier says Tuesday.")).to_be_visible()
    expect(page.locator("#note-text")).to_have_value("")

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "ticket.png"), full_page=True)

    # A tag that does not exist is refused, with the reason where the agent is looking.
    page.get_by_label("Add a tag").fill("not-a-tag-yet")
    page.get_by_role("button", name="Add", exact=True).click()
    expect(page.locator("#properties-refusal")).to_contain_text("There is no tag “not-a-tag-yet”")

    page.get_by_role("button", name="Remove the tag vip").click()
    expect(page.locator("#ticket-tags")).to_have_text("None")
    page.locator("#solve-ticket").click()
    expect(page.locator("#ticket-status")).to_have_text("Solved")
    expect(page.locator("#solve-ticket")).to_be_disabled()
    expect(other.locator("#ticket-status")).to_have_text("Solved")
    still_the_same_page(page)
    still_the_same_page(other)


def test_the_ticket_page_fits_a_360_px_screen(
    signed_in_page: Any, live_server_url: str, team_a: Any, account_a: Any, platform_api: FakePlatform
) -> None:
    agent = UserFactory(username="maria", teams=[team_a])
    platform_api.answer("/orders", ORDERS)
    team_a.commerce_url = f"{platform_api.url}/orders"
    team_a.save()
    posted = post_signed(
        live_server_url,
        account_a,
        sender_id="a-very-long-platform-user-id-that-has-no-spaces-at-all-0123456789",
        sender_name="Ann Lee",
        text="https://example.com/a/very/long/link/that/does/not/break/on/its/own/0123456789/abcdefghijklmnopqrstuvwxyz",
    )
    page = signed_in_page(agent, width=360)
    open_ticket(page, f"{live_server_url}/tickets/{posted['tickets'][0]}/")
    expect(page.locator("#contact-orders .order")).to_have_count(3)

    widths = page.evaluate("() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]")
    assert widths[0] <= widths[1] == 360, f"the page is {widths[0]} px wide on a 360 px screen"
    # One column: the side panels come under the conversation, as wide as it.
    main = page.locator(".ticket-main").bounding_box()
    side = page.locator(".ticket-side").bounding_box()
    assert side["y"] >= main["y"] + main["height"] and abs(side["width"] - main["width"]) < 1
    choose(page, "Status", "pending")
    page.get_by_role("button", name="Set status").click()
    expect(page.locator("#ticket-status")).to_have_text("Pending")
