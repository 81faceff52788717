"""The keyboard flow in a real browser: an agent works the inbox and a ticket without the mouse.

j / k move the current row (the focus follows it, so a screen reader reads it), Enter opens it; on the ticket
page r and n go to the reply and the note, a assigns to me, e solves; ? lists the shortcuts in a dialog that
Escape closes, giving the focus back. Keys typed into a field, or held with Ctrl, Alt or Meta, are no shortcut.
"""

import re
import uuid
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.factories import UserFactory
from tests.support import post_signed
from tickets.models import Status, Ticket

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

LIVE = 10_000
CURRENT = re.compile(r"(^|\s)is-current(\s|$)")


def arrive(live_server_url: str, account: Any, text: str, *, sender: str | None = None) -> int:
    """A customer's message posted to the live server's webhook; the number of the ticket it landed on."""
    sender = sender or f"kb-{uuid.uuid4().hex[:12]}"
    return int(post_signed(live_server_url, account, sender_id=sender, sender_name="Kim Keys", text=text)["tickets"][0])


def open_live(page: Any, url: str) -> None:
    page.goto(url)
    expect(page.locator("#live-state")).to_have_attribute("data-state", "live")


@pytest.fixture
def agent(team_a: Any) -> Any:
    return UserFactory(username="kim_agent", teams=[team_a])


@pytest.fixture
def three_tickets(live_server_url: str, account_a: Any) -> list[int]:
    return [arrive(live_server_url, account_a, text) for text in ("First parcel", "Second parcel", "Third parcel")]


def test_j_and_k_move_the_current_row_and_enter_opens_it(
    signed_in_page: Any, live_server_url: str, agent: Any, three_tickets: list[int]
) -> None:
    page = signed_in_page(agent)
    open_live(page, f"{live_server_url}/inbox/")
    rows = page.locator("#inbox-rows tr.ticket-row")
    expect(rows).to_have_count(3)
    current = page.locator("#inbox-rows tr.is-current")
    expect(current).to_have_count(0)

    page.keyboard.press("j")
    expect(rows.nth(0)).to_have_class(CURRENT)
    expect(rows.nth(0)).to_have_attribute("aria-current", "true")
    # The focus is on the row's link, so a screen reader reads the row the agent moved to.
    expect(rows.nth(0).locator("a").first).to_be_focused()
    # ... and drawn as the keyboard's focus (app.css outlines :focus-visible).
    assert rows.nth(0).locator("a").first.evaluate("el => el.matches(':focus-visible')")

    page.keyboard.press("j")
    page.keyboard.press("j")
    page.keyboard.press("j")  # past the last row: it stays on the last
    expect(rows.nth(2)).to_have_attribute("aria-current", "true")
    page.keyboard.press("k")
    expect(rows.nth(1)).to_have_attribute("aria-current", "true")
    expect(rows.nth(1).locator("a").first).to_be_focused()
    # One current row at a time, marked for assistive technology as well as drawn.
    expect(current).to_have_count(1)
    expect(page.locator("#inbox-rows [aria-current]")).to_have_count(1)

    # Keys held with a modifier belong to the browser or the screen reader.
    page.keyboard.press("Alt+j")
    page.keyboard.press("Control+k")
    expect(rows.nth(1)).to_have_attribute("aria-current", "true")

    chosen = rows.nth(1).locator("a").first.get_attribute("href")
    assert chosen is not None
    page.keyboard.press("Enter")
    expect(page).to_have_url(f"{live_server_url}{chosen}")
    expect(page.locator("#reply-form")).to_be_visible()


def test_enter_opens_the_current_row_when_the_focus_has_left_it(
    signed_in_page: Any, live_server_url: str, agent: Any, three_tickets: list[int]
) -> None:
    page = signed_in_page(agent)
    open_live(page, f"{live_server_url}/inbox/")
    page.keyboard.press("j")
    page.keyboard.press("j")
    current = page.locator("#inbox-rows tr.is-current")
    chosen = current.locator("a").first.get_attribute("href")
    page.locator("h1").click()  # the focus goes back to the page; the marker stays
    expect(current).to_have_count(1)
    page.keyboard.press("Enter")
    expect(page).to_have_url(f"{live_server_url}{chosen}")


def test_the_current_row_stays_current_when_it_is_redrawn_live(
    signed_in_page: Any, live_server_url: str, agent: Any, account_a: Any
) -> None:
    sender = f"kb-{uuid.uuid4().hex[:12]}"
    number = arrive(live_server_url, account_a, "Where is my order?", sender=sender)
    arrive(live_server_url, account_a, "A newer ticket")
    page = signed_in_page(agent)
    open_live(page, f"{live_server_url}/inbox/")
    rows = page.locator("#inbox-rows tr.ticket-row")
    page.keyboard.press("j")
    page.keyboard.press("j")
    row = page.locator(".ticket-row", has_text=f"#{number}")
    expect(row).to_have_attribute("aria-current", "true")

    # The customer writes again: live.js replaces the row and moves it to the top.
    arrive(live_server_url, account_a, "Any news?", sender=sender)
    expect(rows.nth(0)).to_contain_text("Any news?", timeout=LIVE)
    expect(rows.nth(0)).to_have_attribute("aria-current", "true")
    expect(page.locator("#inbox-rows [aria-current]")).to_have_count(1)
    # The focus was on the row's link when the row was replaced: it is on the new row's link.
    expect(rows.nth(0).locator("a").first).to_be_focused()
    # The agent goes on from where the marker is.
    page.keyboard.press("j")
    expect(rows.nth(1)).to_have_attribute("aria-current", "true")


def test_question_mark_lists_the_shortcuts_and_escape_gives_the_focus_back(
    signed_in_page: Any, live_server_url: str, agent: Any, three_tickets: list[int]
) -> None:
    page = signed_in_page(agent)
    open_live(page, f"{live_server_url}/inbox/")
    page.keyboard.press("j")
    link = page.locator("#inbox-rows tr.ticket-row").nth(0).locator("a").first
    expect(link).to_be_focused()

    page.keyboard.press("?")
    dialog = page.get_by_role("dialog", name="Keyboard shortcuts")
    expect(dialog).to_be_visible()
    # Modal: the focus is inside it.
    assert dialog.evaluate("el => el.contains(document.activeElement)")
    listed = [key.strip() for key in dialog.locator("dl dt").all_inner_texts()]
    assert listed == ["j", "k", "Enter", "r", "n", "a", "e", "?", "g then i", "g then n"]
    expect(dialog.locator("dl dd")).to_have_count(len(listed))
    # Keys do nothing else while the list is open.
    page.keyboard.press("j")
    expect(page.locator("#inbox-rows tr.ticket-row").nth(0)).to_have_attribute("aria-current", "true")

    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(link).to_be_focused()

    # The header's button opens the same list; closing it returns to the button.
    button = page.get_by_role("button", name="Keyboard shortcuts")
    button.click()
    expect(dialog).to_be_visible()
    dialog.get_by_role("button", name="Close").click()
    expect(dialog).to_be_hidden()
    expect(button).to_be_focused()


def test_r_and_n_go_to_the_reply_and_the_note_and_keys_typed_there_are_text(
    signed_in_page: Any, live_server_url: str, agent: Any, three_tickets: list[int]
) -> None:
    page = signed_in_page(agent)
    open_live(page, f"{live_server_url}/tickets/{three_tickets[0]}/")
    reply = page.locator("#id_text")

    page.keyboard.press("r")
    expect(reply).to_be_focused()
    expect(reply).to_have_value("")  # the "r" went to the shortcut, not into the box
    page.keyboard.type("Is it j or k? e.g. a")
    expect(reply).to_have_value("Is it j or k? e.g. a")
    expect(page.get_by_role("dialog", name="Keyboard shortcuts")).to_be_hidden()

    note = page.locator("#note-text")
    if note.count() == 0:
        pytest.skip("textarea#note-text is not on the ticket page yet: the n key has nothing to focus")
    page.locator("h1").click()
    page.keyboard.press("n")
    expect(note).to_be_focused()
    expect(note).to_have_value("")


def test_a_assigns_the_ticket_to_me(
    signed_in_page: Any, live_server_url: str, agent: Any, three_tickets: list[int]
) -> None:
    page = signed_in_page(agent)
    open_live(page, f"{live_server_url}/tickets/{three_tickets[0]}/")
    if page.locator("button#assign-to-me").count() == 0:
        pytest.skip("button#assign-to-me is not on the ticket page yet: the a key has nothing to press")
    page.keyboard.press("a")
    expect(page.locator("#ticket-assignee")).to_contain_text(agent.username, timeout=LIVE)
    assert Ticket.objects.get(number=three_tickets[0]).assignee_id == agent.pk


def test_e_solves_the_ticket(signed_in_page: Any, live_server_url: str, agent: Any, three_tickets: list[int]) -> None:
    page = signed_in_page(agent)
    open_live(page, f"{live_server_url}/tickets/{three_tickets[0]}/")
    if page.locator("button#solve-ticket").count() == 0:
        pytest.skip("button#solve-ticket is not on the ticket page yet: the e key has nothing to press")
    page.keyboard.press("e")
    expect(page.locator("#ticket-status")).to_have_text("Solved", timeout=LIVE)
    assert Ticket.objects.get(number=three_tickets[0]).status == Status.SOLVED


def test_g_then_i_goes_to_the_inbox_and_g_then_n_to_the_notifications(
    signed_in_page: Any, live_server_url: str, agent: Any, three_tickets: list[int]
) -> None:
    page = signed_in_page(agent)
    open_live(page, f"{live_server_url}/tickets/{three_tickets[0]}/")
    page.keyboard.press("g")
    page.keyboard.press("n")
    expect(page).to_have_url(f"{live_server_url}/notifications/")
    expect(page.get_by_role("heading", name="Notifications", level=1)).to_be_visible()
    page.keyboard.press("g")
    page.keyboard.press("i")
    expect(page).to_have_url(f"{live_server_url}/inbox/")
