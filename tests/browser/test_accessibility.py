"""Accessibility in a real browser: axe-core finds no serious or critical violation on the agent's pages.

Each page is checked as an agent sees it (live feed connected, scripts run) at 1280 and at 360 px wide, with
axe-core's default rules (tests/browser/axe.py; `make axe` installs the pinned package). At 360 px nothing may
scroll sideways, and an SLA state is told in words and by an icon's shape, never by colour alone.
"""

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, TypeVar

import pytest
from django.core.files.base import ContentFile
from django.db import connections
from django.utils import timezone
from playwright.sync_api import Browser, expect

from policies.models import SlaClock, SlaPolicy, SlaTarget, TargetKind
from policies.services.tick import clocks_check
from tests.browser.axe import axe_version, blocking_violations, report
from tests.factories import MessageFactory, UserFactory
from tests.support import ROOT, webhook_ticket
from tests.tickets.test_attachments import png
from tickets.models import Attachment, AttachmentState, DeliveryStatus, Direction, Priority, Ticket
from tickets.services.messages import message_note
from tickets.services.notifications import notifications_send

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

T = TypeVar("T")

WIDTHS = (1280, 360)
PAGES = ("login", "inbox", "ticket", "contact", "notifications")


@dataclass(frozen=True)
class Workspace:
    """An agent's day: tickets in the inbox (one breached), a full ticket page, its contact, notifications."""

    agent: Any
    breached: Ticket
    calm: Ticket

    def path(self, page: str) -> str:
        return {
            "login": "/accounts/login/",
            "inbox": "/inbox/",
            "ticket": f"/tickets/{self.breached.number}/",
            "contact": f"/contacts/{self.breached.contact_id}/",
            "notifications": "/notifications/",
        }[page]


def off_this_thread(build: Callable[[], T]) -> T:
    """`build()` run in a thread of its own, its database connection closed after.

    Services publish live events after commit through async_to_sync, which refuses to run on a thread with a
    running event loop, and Playwright keeps one on this thread.
    """

    def run() -> T:
        try:
            return build()
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(run).result()


@pytest.fixture
def workspace(team_a: Any, team_b: Any, account_a: Any, account_b: Any) -> Workspace:
    return off_this_thread(lambda: build_workspace(team_a, team_b, account_a, account_b))


def build_workspace(team_a: Any, team_b: Any, account_a: Any, account_b: Any) -> Workspace:
    """Made through the services, as the webhook, the tick and the agent make them."""
    policy = SlaPolicy.objects.create(name="Standard")
    policy.teams.add(team_a)
    for kind, hours in ((TargetKind.FIRST_RESPONSE, 1), (TargetKind.RESOLUTION, 8)):
        SlaTarget.objects.create(policy=policy, priority=Priority.NORMAL, kind=kind, duration=timedelta(hours=hours))
    agent = UserFactory(username="ada_agent", teams=[team_a, team_b])

    breached = webhook_ticket(account_a, sender="c-late", text="My parcel never arrived, order 5512.")
    due = SlaClock.objects.get(ticket=breached, kind=TargetKind.FIRST_RESPONSE).due_at
    assert due is not None
    assert clocks_check(now=due + timedelta(seconds=1)) == 1  # the breach is recorded, as the tick records it
    # Made after the tick above, so it stays on time.
    webhook_ticket(account_a, sender="c-fresh", text="Can I change my delivery address?")
    calm = webhook_ticket(account_b, sender="c-calm", text="Do you sell gift cards?")  # no policy: no countdown

    now = timezone.now()
    photo = MessageFactory(ticket=breached, text="Here is the damaged box.")
    stored = Attachment(message=photo, position=0, kind="image", mime_type="image/png", name="box.png")
    stored.state, stored.size = AttachmentState.STORED, len(png(40, 30))
    stored.file.save("box.png", ContentFile(png(40, 30)), save=True)
    receipt = Attachment(message=photo, position=1, kind="file", mime_type="application/pdf", name="receipt.pdf")
    receipt.state, receipt.size = AttachmentState.STORED, 9
    receipt.file.save("receipt.pdf", ContentFile(b"%PDF-1.4\n"), save=True)
    MessageFactory(
        ticket=breached,
        direction=Direction.OUT,
        author=agent,
        text="Sorry about that: I am asking the courier.",
        delivery_status=DeliveryStatus.DELIVERED,
    )
    message_note(ticket=breached, text="Courier says it is in the depot.", now=now, author=agent)
    notifications_send(ticket=breached, user_ids=[agent.pk], text="First response breached on this ticket", now=now)
    [read], _ = notifications_send(ticket=calm, user_ids=[agent.pk], text="A ticket you follow changed", now=now)
    read.read_at = now
    read.save(update_fields=["read_at"])
    return Workspace(agent=agent, breached=breached, calm=calm)


@pytest.fixture
def open_page(
    browser: Browser, live_server_url: str, signed_in_page: Callable[..., Any], workspace: Workspace
) -> Callable[[str, int], Any]:
    """A function: `page` of the workspace opened at `width`, its scripts settled (signed out for "login")."""
    contexts = []

    def open_(page_name: str, width: int) -> Any:
        if page_name == "login":
            context = browser.new_context(viewport={"width": width, "height": 900})
            contexts.append(context)
            page = context.new_page()
            page.goto(live_server_url + workspace.path(page_name))
            expect(page.locator("#id_username")).to_be_visible()
            return page
        page = signed_in_page(workspace.agent, width=width)
        page.goto(live_server_url + workspace.path(page_name))
        expect(page.locator("#live-state")).to_have_attribute("data-state", "live")
        expect(page.locator("#shortcuts-button")).to_be_visible()  # keyboard.js ran
        return page

    yield open_
    for context in contexts:
        context.close()


@pytest.mark.parametrize(("page_name", "width"), [(page, width) for page in PAGES for width in WIDTHS])
def test_axe_finds_no_serious_or_critical_violation(
    open_page: Callable[[str, int], Any], page_name: str, width: int
) -> None:
    page = open_page(page_name, width)
    violations = blocking_violations(page)
    assert violations == [], f"axe on {page_name} at {width} px:\n{report(violations)}"


@pytest.mark.parametrize("width", WIDTHS)
def test_the_list_of_shortcuts_is_an_accessible_dialog(open_page: Callable[[str, int], Any], width: int) -> None:
    page = open_page("inbox", width)
    page.keyboard.press("j")  # a current row too, as an agent at work has one
    page.locator("#shortcuts-button").click()
    dialog = page.get_by_role("dialog", name="Keyboard shortcuts")
    expect(dialog).to_be_visible()
    violations = blocking_violations(page)
    assert violations == [], f"axe on the open list of shortcuts at {width} px:\n{report(violations)}"


@pytest.mark.parametrize("page_name", PAGES)
def test_nothing_scrolls_sideways_at_360_px(open_page: Callable[[str, int], Any], page_name: str) -> None:
    page = open_page(page_name, 360)
    widths = page.evaluate(
        "() => ({ scroll: document.documentElement.scrollWidth, client: document.documentElement.clientWidth })"
    )
    assert widths["scroll"] <= widths["client"], f"{page_name} is {widths['scroll']} px wide in a 360 px window"


def test_an_sla_state_is_told_in_words_and_by_an_icon_not_by_colour_alone(
    open_page: Callable[[str, int], Any], workspace: Workspace
) -> None:
    def icon(countdown: Any) -> str:
        return str(countdown.locator(".sla-icon").evaluate("el => getComputedStyle(el, '::before').content"))

    inbox = open_page("inbox", 1280)
    late = inbox.locator(f"#ticket-row-{workspace.breached.pk} .sla-countdown")
    expect(late).to_have_attribute("data-level", "breached")
    expect(late.locator(".sla-text")).to_contain_text("Breached · ")
    assert icon(late) == '"✕"'
    fresh = inbox.locator(".ticket-row .sla-countdown[data-level='ok']").first
    expect(fresh.locator(".sla-text")).to_contain_text("OK · ")
    assert icon(fresh) == '"●"'
    # A ticket no policy governs says so in words, rather than showing an empty or grey cell.
    expect(inbox.locator(f"#ticket-row-{workspace.calm.pk} .sla-none")).to_have_text("No running target")

    ticket = open_page("ticket", 1280)
    nearest = ticket.locator("#ticket-sla-nearest .sla-countdown")
    expect(nearest.locator(".sla-text")).to_contain_text("Breached · ")
    assert icon(nearest) == '"✕"'
    # The colours differ too, but only as a repeat of the words: the two levels differ in text and shape alone.
    assert icon(late) != icon(fresh)


def test_the_keyboard_focus_is_drawn(open_page: Callable[[str, int], Any]) -> None:
    page = open_page("inbox", 1280)
    page.keyboard.press("Tab")  # the first focusable element: the brand link
    outline = page.evaluate(
        "() => { const s = getComputedStyle(document.activeElement);"
        " return { style: s.outlineStyle, width: parseFloat(s.outlineWidth) }; }"
    )
    assert outline["style"] == "solid" and outline["width"] >= 2, outline


def test_the_pinned_axe_core_is_the_one_loaded(open_page: Callable[[str, int], Any]) -> None:
    # The Makefile's pin and the file the tests inject are the same package: a failed install cannot hide.
    makefile = (ROOT / "Makefile").read_text()
    pinned = next(line.split(":=")[1].strip() for line in makefile.splitlines() if line.startswith("AXE_VERSION"))
    assert axe_version(open_page("login", 1280)) == pinned
