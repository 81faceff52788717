"""The agent's pages in a real browser: a ticket posted to the webhook appears live, only where permitted."""

from typing import Any

import pytest
from playwright.sync_api import Browser, expect

from tests.support import BUILD, post_signed

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SCREENSHOTS = BUILD / "screenshots"


def open_live_inbox(page: Any, base_url: str) -> None:
    page.goto(f"{base_url}/inbox/")
    expect(page.locator("#live-state")).to_have_attribute("data-state", "live")


def test_a_new_ticket_appears_live_in_permitted_inboxes_only(
    signed_in_page: Any, live_server_url: str, agent_a: Any, agent_b: Any, account_a: Any, account_b: Any
) -> None:
    page_a, page_b = signed_in_page(agent_a), signed_in_page(agent_b)
    open_live_inbox(page_a, live_server_url)
    open_live_inbox(page_b, live_server_url)
    expect(page_a.locator("#inbox-empty")).to_be_visible()

    posted = post_signed(live_server_url, account_a, sender_name="Maria Lopez", text="My order arrived damaged")
    number = posted["tickets"][0]
    row_a = page_a.locator(".ticket-row", has_text=f"#{number}")
    expect(row_a).to_be_visible(timeout=1000)  # live, in under a second, without a reload
    expect(row_a).to_contain_text("My order arrived damaged")
    expect(row_a).to_contain_text("Maria Lopez")

    # B's socket works (B's own ticket arrives), and A's ticket never showed up there.
    posted_b = post_signed(live_server_url, account_b, text="Volume discount?")
    expect(page_b.locator(".ticket-row", has_text=f"#{posted_b['tickets'][0]}")).to_be_visible(timeout=1000)
    expect(page_b.locator(".ticket-row", has_text=f"#{number}")).to_have_count(0)
    expect(page_a.locator(".ticket-row", has_text=f"#{posted_b['tickets'][0]}")).to_have_count(0)

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page_a.screenshot(path=str(SCREENSHOTS / "live-inbox.png"), full_page=True)


def test_the_ticket_page_shows_new_messages_live_and_sends_replies(
    signed_in_page: Any, live_server_url: str, agent_a: Any, account_a: Any
) -> None:
    first = post_signed(live_server_url, account_a, sender_id="c-1", sender_name="Ken Sato", text="Password reset?")
    page = signed_in_page(agent_a)
    page.goto(f"{live_server_url}/tickets/{first['tickets'][0]}/")
    expect(page.locator("#live-state")).to_have_attribute("data-state", "live")

    post_signed(live_server_url, account_a, sender_id="c-1", text="I also cannot log in on my phone")
    expect(page.locator("#thread .message-in", has_text="cannot log in on my phone")).to_be_visible(timeout=1000)

    page.get_by_role("textbox", name="Reply").fill("I have sent you a reset link.")
    page.get_by_role("button", name="Send reply").click()
    reply = page.locator("#thread .message-out", has_text="I have sent you a reset link.")
    expect(reply).to_be_visible()
    # No callback URL on this account: the reply is kept, and the page says why it was not sent.
    expect(reply.locator(".delivery")).to_have_text("Not sent: the channel account has no callback URL")
    expect(page.get_by_role("textbox", name="Reply")).to_have_value("")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "live-ticket.png"), full_page=True)


def test_signing_in_through_the_form_leads_to_the_inbox(browser: Browser, live_server_url: str, db: None) -> None:
    from tests.factories import UserFactory

    user = UserFactory(username="carol")
    user.set_password("a long enough passphrase")
    user.save()
    context = browser.new_context()
    page = context.new_page()
    page.goto(f"{live_server_url}/inbox/")
    page.get_by_label("Username").fill("carol")
    page.get_by_label("Password").fill("wrong")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("do not match")
    page.get_by_label("Password").fill("a long enough passphrase")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Inbox")).to_be_visible()
    context.close()
