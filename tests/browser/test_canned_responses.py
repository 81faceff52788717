"""Saved replies in a real browser: "/ref" in the reply box offers the matching replies of the ticket's team and
the agent's own; the keyboard picks one; it is inserted with its variables filled in for this ticket; the agent
edits it and sends it. After the send htmx swaps in a new reply box, and the picker works there too, by mouse.
axe-core finds nothing serious with the picker open, nor on /canned/, where agents keep their own replies."""

from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.axe import blocking_violations, report
from tests.factories import TicketFactory, UserFactory
from tests.support import BUILD
from tickets.models import CannedResponse

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SCREENSHOTS = BUILD / "screenshots"


def test_an_agent_inserts_a_saved_reply_by_keyboard_edits_it_and_sends_it(
    signed_in_page: Any, live_server_url: str, team_a: Any, team_b: Any
) -> None:
    alice = UserFactory(username="alice", first_name="Alice", last_name="Archer", teams=[team_a])
    ticket = TicketFactory(team=team_a, identity__contact__display_name="Ann Smith")
    referral = CannedResponse.objects.create(team=team_a, name="referral", title="Refer a friend", body="Share it!")
    refund = CannedResponse.objects.create(
        team=team_a,
        name="refund",
        title="Refund on its way",
        body="Hi {{ contact.first_name }}, the refund for ticket #{{ ticket.number }} is on its way. "
        "{{ agent.first_name }}",
    )
    CannedResponse.objects.create(team=team_b, name="refund-b", body="Another team's")
    CannedResponse.objects.create(owner=alice, name="thanks", body="Thanks, {{ contact.name }}!")

    page = signed_in_page(alice)
    page.goto(f"{live_server_url}/tickets/{ticket.number}/")
    box = page.get_by_role("textbox", name="Reply")
    expect(box).to_have_accessible_description("Type / and a name to insert a saved reply (saved replies).")
    box.click()
    box.press_sequentially("/ref")

    listbox = page.get_by_role("listbox", name="Saved replies matching /ref")
    expect(listbox).to_be_visible()
    options = listbox.get_by_role("option")
    expect(options).to_have_count(2)  # not the other team's /refund-b, not /thanks
    expect(options.nth(0)).to_contain_text("/referral")
    expect(options.nth(0)).to_have_attribute("aria-selected", "true")
    expect(box).to_have_attribute("aria-activedescendant", f"canned-option-{referral.pk}")
    expect(box).to_be_focused()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "canned-picker.png"))
    # The open picker is as accessible as the rest of the page (axe-core: no serious or critical violation).
    assert not (found := blocking_violations(page)), report(found)

    box.press("ArrowDown")
    expect(options.nth(1)).to_have_attribute("aria-selected", "true")
    expect(options.nth(0)).to_have_attribute("aria-selected", "false")
    expect(box).to_have_attribute("aria-activedescendant", f"canned-option-{refund.pk}")
    box.press("Enter")

    inserted = f"Hi Ann, the refund for ticket #{ticket.number} is on its way. Alice"
    expect(box).to_have_value(inserted)
    expect(page.locator("#canned-picker")).to_be_hidden()
    expect(box).not_to_have_attribute("aria-activedescendant", f"canned-option-{refund.pk}")
    expect(page.locator("#canned-status")).to_have_text("Inserted /refund.")

    box.press("End")
    box.press_sequentially(" Sorry for the wait!")
    page.get_by_role("button", name="Send reply").click()
    sent = f"{inserted} Sorry for the wait!"
    expect(page.locator("#thread .message-out", has_text=sent)).to_be_visible()

    # The reply box htmx swapped in after the send: "/" after a space, Escape closes, and a click inserts.
    box = page.get_by_role("textbox", name="Reply")
    expect(box).to_have_value("")
    box.click()
    box.press_sequentially("Also /th")
    thanks = page.get_by_role("option", name="/thanks")
    expect(thanks).to_be_visible()
    box.press("Escape")
    expect(page.locator("#canned-picker")).to_be_hidden()
    expect(box).to_have_value("Also /th")
    box.press_sequentially(" /t")
    page.get_by_role("option", name="/thanks").click()
    expect(box).to_have_value("Also /th Thanks, Ann Smith!")
    expect(box).to_be_focused()
    page.goto(f"{live_server_url}/canned/")
    # The page where agents keep their own saved replies, too.
    assert not (found := blocking_violations(page)), report(found)
