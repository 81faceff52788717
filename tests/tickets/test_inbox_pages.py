"""Inbox pages: keyset cursors (no OFFSET), with no ticket twice and none skipped while new ones arrive."""

import random
import re
from datetime import timedelta
from html import unescape
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from policies.models import SlaClock
from tests.tickets.inbox_data import START, add_clock, client_for, make_ticket
from tickets.models import Ticket
from tickets.selectors.inbox import ORDERINGS
from tickets.selectors.keyset import decode_cursor, encode_cursor

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def small_pages(settings: Any) -> None:
    settings.HELPDESK_INBOX_PAGE_SIZE = 3


def link(html: str, rel: str) -> str | None:
    found = re.search(rf'<a href="([^"]+)" rel="{rel}">', html)
    return unescape(found.group(1)) if found else None


def walk(client: Client, url: str, *, between: Any = None) -> list[int]:
    """Every ticket number, following "Next page" from `url` to the end; `between` runs before each next page."""
    seen: list[int] = []
    next_url: str | None = url
    while next_url:
        response = client.get(next_url, follow=True)
        assert response.status_code == 200
        assert not response.context["notices"], response.context["notices"]
        seen += [row.ticket.number for row in response.context["rows"]]
        next_url = link(response.content.decode(), "next")
        if between is not None and next_url:
            between()
    return seen


def test_pages_follow_each_other_by_cursor_without_offsets(agent_a: Any, team_a: Any) -> None:
    tickets = [make_ticket(team_a) for _ in range(7)]
    client = client_for(agent_a)
    first = client.get("/inbox/")
    html = first.content.decode()
    assert [row.ticket.number for row in first.context["rows"]] == [t.number for t in tickets[:3:-1]][:3]
    assert link(html, "prev") is None
    assert "First page" not in html
    next_url = link(html, "next")
    assert next_url is not None and "after=" in next_url and "page=" not in next_url

    second = client.get(next_url)
    second_html = second.content.decode()
    assert 'data-first-page="0"' in second_html
    assert [row.ticket.number for row in second.context["rows"]] == [t.number for t in tickets[3::-1]][:3]
    assert '<a href="/inbox/">First page</a>' in second_html
    # Previous page, from the second: the first page again, which knows it is the first.
    back = client.get(link(second_html, "prev") or "")
    assert [row.ticket.number for row in back.context["rows"]] == [row.ticket.number for row in first.context["rows"]]
    assert back.context["page"].is_first
    assert 'data-first-page="1"' in back.content.decode()


@pytest.mark.parametrize("sort", ["activity", "priority", "sla"])
def test_new_tickets_arriving_while_paging_cause_no_duplicates_or_gaps(agent_a: Any, team_a: Any, sort: str) -> None:
    now = timezone.now()
    rng = random.Random(7)
    existing = []
    for i in range(11):
        ticket = make_ticket(team_a, priority=rng.choice([1, 2, 3, 4]))
        if i % 3:
            add_clock(ticket, now=now, due_in=timedelta(minutes=rng.choice([-30, 10, 10, 90, 300])))
        existing.append(ticket.number)
    client = client_for(agent_a)
    before = walk(client, f"/inbox/?sort={sort}")
    assert before == reference_order(sort)
    assert sorted(before) == sorted(existing)

    arrived: list[int] = []

    def a_ticket_arrives() -> None:
        # Newest activity, top priority and the most urgent clock: it sorts first in every order.
        ticket = make_ticket(team_a, priority=4, activity=timezone.now())
        add_clock(ticket, now=now, due_in=timedelta(hours=-5))
        arrived.append(ticket.number)

    during = walk(client, f"/inbox/?sort={sort}", between=a_ticket_arrives)
    assert len(arrived) == 3
    assert during == before  # the same tickets in the same order: no duplicate, no gap, nothing new mid-list


def reference_order(sort: str) -> list[int]:
    """The inbox's order, computed in Python from the rows: what the database's ORDER BY must agree with."""
    due: dict[int, Any] = {}
    for clock in SlaClock.objects.filter(stopped_at__isnull=True, due_at__isnull=False):
        due[clock.ticket_id] = min(due.get(clock.ticket_id, clock.due_at), clock.due_at)
    far = timezone.now() + timedelta(days=3650)

    def key(ticket: Ticket) -> tuple[Any, ...]:
        newest = (-ticket.last_activity_at.timestamp(), -ticket.pk)
        if sort == "priority":
            return (-ticket.priority, *newest)
        if sort == "sla":
            return (ticket.pk not in due, due.get(ticket.pk, far), *newest)
        return newest

    return [ticket.number for ticket in sorted(Ticket.objects.all(), key=key)]


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("sort", ["activity", "priority", "sla"])
def test_pages_forward_and_backward_read_the_whole_order_with_ties_and_nulls(
    agent_a: Any, team_a: Any, sort: str, seed: int
) -> None:
    now = timezone.now()
    rng = random.Random(seed)
    moments = [START + timedelta(minutes=rng.randrange(4)) for _ in range(4)]  # many equal activity times
    for _ in range(rng.randrange(5, 14)):
        ticket = make_ticket(team_a, priority=rng.choice([1, 4]), activity=rng.choice(moments))
        if rng.random() < 0.6:
            add_clock(ticket, now=now, due_in=timedelta(minutes=rng.choice([-10, 15, 15, 45])))
    client = client_for(agent_a)
    assert walk(client, f"/inbox/?sort={sort}") == reference_order(sort)

    # And backward from the last page, page by page, to the first.
    pages: list[list[int]] = []
    url: str | None = f"/inbox/?sort={sort}"
    while url:
        response = client.get(url, follow=True)
        pages.append([row.ticket.number for row in response.context["rows"]])
        url = link(response.content.decode(), "next")
    backward: list[int] = []
    url = link(response.content.decode(), "prev")
    while url:
        response = client.get(url)
        backward = [row.ticket.number for row in response.context["rows"]] + backward
        url = link(response.content.decode(), "prev")
    assert backward + pages[-1] == [n for page in pages for n in page]


def test_a_cursor_is_opaque_and_bound_to_its_sort(agent_a: Any, team_a: Any) -> None:
    ticket = make_ticket(team_a)
    activity, priority = ORDERINGS["activity"], ORDERINGS["priority"]
    values = activity.values(Ticket.objects.get(pk=ticket.pk))
    token = encode_cursor(activity, values)
    assert re.fullmatch(r"[A-Za-z0-9_-]+", token)
    assert decode_cursor(activity, token) == values
    assert decode_cursor(priority, token) is None

    response = client_for(agent_a).get(f"/inbox/?sort=priority&after={token}")
    assert response.context["notices"] == ["That page link does not fit this view any more; here is its first page."]
    assert [row.ticket.number for row in response.context["rows"]] == [ticket.number]
