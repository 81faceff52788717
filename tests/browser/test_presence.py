"""Two agents on one ticket, in two browser contexts: each sees the other there, sees them typing, and sees
their reply and their assignment arrive live. An agent of another team sees none of it."""

from typing import Any

import pytest
from playwright.sync_api import expect

from tests.factories import UserFactory
from tests.support import BUILD, post_signed
from tickets.models import Ticket

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SCREENSHOTS = BUILD / "screenshots"


def open_live(page: Any, url: str) -> None:
    page.goto(url)
    expect(page.locator("#live-state")).to_have_attribute("data-state", "live")
    # Marked, so that the end of the test can tell that the page was never reloaded.
    page.evaluate("() => { window.helpdeskMark = 'not reloaded'; }")


def still_the_same_page(page: Any) -> None:
    assert page.evaluate("() => window.helpdeskMark") == "not reloaded"


def frames_after_watching(page: Any, ticket_id: int) -> list[dict[str, Any]]:
    """What the page's socket hears within a second of asking to watch `ticket_id`."""
    return list(
        page.evaluate(
            """(ticketId) => new Promise((resolve) => {
                const frames = [];
                document.addEventListener("helpdesk:frame", (event) => frames.push(event.detail));
                window.helpdeskLive.send({ type: "watch", ticket: ticketId });
                setTimeout(() => resolve(frames), 1000);
            })""",
            ticket_id,
        )
    )


def test_two_agents_see_each_other_typing_replying_and_assigning_live(
    signed_in_page: Any, live_server_url: str, team_a: Any, team_b: Any, account_a: Any
) -> None:
    ann = UserFactory(username="ann", first_name="Ann", teams=[team_a])
    bob = UserFactory(username="bob", first_name="Bob", teams=[team_a])
    olga = UserFactory(username="olga", first_name="Olga", teams=[team_b])
    posted = post_signed(live_server_url, account_a, sender_name="Ida Waiting", text="Where is my parcel?")
    number = posted["tickets"][0]
    ticket_url = f"{live_server_url}/tickets/{number}/"
    page_ann, page_bob, page_olga = signed_in_page(ann), signed_in_page(bob), signed_in_page(olga)
    open_live(page_olga, f"{live_server_url}/inbox/")
    open_live(page_ann, ticket_url)
    presence_ann, presence_bob = page_ann.locator("#presence"), page_bob.locator("#presence")
    expect(presence_ann).to_have_text("")  # alone: nobody else, and never Ann herself

    # Presence: each sees the other, in words, and not themself.
    open_live(page_bob, ticket_url)
    expect(presence_ann).to_have_text("Also viewing: Bob")
    expect(presence_bob).to_have_text("Also viewing: Ann")

    # Typing: Ann is warned while Bob types; Bob is not warned about himself.
    warning_ann, warning_bob = page_ann.locator("#typing-warning"), page_bob.locator("#typing-warning")
    expect(warning_ann).to_be_hidden()
    page_bob.locator("#id_text").press_sequentially("Your parcel left ")
    expect(warning_ann).to_be_visible()
    expect(warning_ann).to_have_text("Bob is typing a reply…")
    expect(warning_bob).to_be_hidden()

    # Bob's reply arrives on Ann's page, and the warning about it goes with it (well before its 5 s are up).
    page_bob.locator("#id_text").press_sequentially("this morning.")
    page_bob.get_by_role("button", name="Send reply").click()
    reply = page_ann.locator("#thread .message-out", has_text="Your parcel left this morning.")
    expect(reply).to_be_visible()
    expect(reply).to_have_count(1)
    expect(warning_ann).to_be_hidden(timeout=2500)

    # Typing again in the fresh reply box (htmx replaced it): warned again, and the warning ends by itself.
    expect(page_bob.locator("#id_text")).to_have_value("")
    page_bob.locator("#id_text").press_sequentially("One more")
    expect(warning_ann).to_have_text("Bob is typing a reply…")
    expect(warning_ann).to_be_hidden(timeout=8000)

    # The assignment (the ticket page's own "Assign to me" button) reaches the other page live.
    page_ann.locator("button#assign-to-me").click()
    expect(page_bob.locator("#ticket-assignee")).to_have_text("ann")
    expect(page_bob.locator("#assign-to-me")).to_have_text("Assign to me")

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page_ann.locator("#id_text").press_sequentially("Hello")
    expect(warning_bob).to_have_text("Ann is typing a reply…")
    page_bob.screenshot(path=str(SCREENSHOTS / "presence.png"), full_page=True)

    # The outsider's inbox never showed the ticket, and their socket may not watch it.
    expect(page_olga.locator(".ticket-row", has_text=f"#{number}")).to_have_count(0)
    ticket_id = Ticket.objects.get(number=number).pk
    assert frames_after_watching(page_olga, ticket_id) == [
        {"type": "error", "error": "no such ticket", "ticket": ticket_id}
    ]
    expect(presence_ann).to_have_text("Also viewing: Bob")  # and never "Olga"
    for page in (page_ann, page_bob, page_olga):
        still_the_same_page(page)
    assert page_olga.goto(ticket_url).status == 404

    # Bob closes his tab: Ann is alone again.
    page_bob.close()
    expect(presence_ann).to_have_text("")


def test_two_tabs_of_one_agent_show_them_once(
    signed_in_page: Any, live_server_url: str, team_a: Any, account_a: Any
) -> None:
    ann = UserFactory(username="ann", first_name="Ann", teams=[team_a])
    bob = UserFactory(username="bob", first_name="Bob", teams=[team_a])
    cy = UserFactory(username="cy", first_name="Cy", teams=[team_a])
    number = post_signed(live_server_url, account_a, text="Hello?")["tickets"][0]
    ticket_url = f"{live_server_url}/tickets/{number}/"
    page_ann = signed_in_page(ann)
    open_live(page_ann, ticket_url)
    bob_tab = signed_in_page(bob)
    open_live(bob_tab, ticket_url)
    bob_other_tab = bob_tab.context.new_page()
    open_live(bob_other_tab, ticket_url)
    open_live(signed_in_page(cy), ticket_url)
    expect(page_ann.locator("#presence")).to_have_text("Also viewing: Bob and Cy")
    bob_tab.close()
    expect(page_ann.locator("#presence .presence-viewer")).to_have_count(2)
    expect(bob_other_tab.locator("#presence")).to_have_text("Also viewing: Ann and Cy")
