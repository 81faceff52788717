"""An agent's notifications in the UI: the unread count in the header, the list, opening one, marking all read.

Notifications are made as an escalation makes them (tickets.services.notifications.notifications_send); every
page is read through the test client as the agent's browser reads it.
"""

import re
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from guardian.shortcuts import assign_perm, remove_perm

from tests.factories import TeamFactory, TicketFactory, UserFactory
from tickets.models import Notification, Ticket
from tickets.services.notifications import notifications_send

pytestmark = pytest.mark.django_db

COUNT = re.compile(r'id="notifications-count" data-count="(\d+)">(\d+)<')


def client_for(user: Any, **options: Any) -> Client:
    client = Client(**options)
    client.force_login(user)
    return client


def notify(ticket: Ticket, user: Any, text: str, *, minutes_ago: int = 0) -> Notification:
    [notification], left_out = notifications_send(
        ticket=ticket, user_ids=[user.pk], text=text, now=timezone.now() - timedelta(minutes=minutes_ago)
    )
    assert left_out == []
    return notification


def header_count(html: bytes) -> int:
    found = COUNT.search(html.decode())
    assert found, "the header shows the unread count"
    assert found.group(1) == found.group(2)
    return int(found.group(1))


@pytest.fixture
def ticket_a(team_a: Any) -> Ticket:
    return TicketFactory(team=team_a, subject="Parcel lost")


@pytest.fixture
def ticket_b(team_b: Any) -> Ticket:
    return TicketFactory(team=team_b, subject="Invoice wrong")


def test_the_list_shows_the_agents_own_notifications_newest_first(
    agent_a: Any, agent_b: Any, ticket_a: Ticket, ticket_b: Ticket
) -> None:
    notify(ticket_a, agent_a, "Older: first response breached", minutes_ago=5)
    notify(ticket_a, agent_a, "Newer: resolution due soon")
    notify(ticket_b, agent_b, "For B only")

    response = client_for(agent_a).get("/notifications/")

    assert response.status_code == 200
    html = response.content.decode()
    assert html.index("Newer: resolution due soon") < html.index("Older: first response breached")
    assert "For B only" not in html
    assert "Invoice wrong" not in html
    assert html.count('class="unread-marker"') == 2
    assert f'href="/tickets/{ticket_a.number}/"' not in html, "links go through open, which marks them read"
    assert len(re.findall(r'href="/notifications/\d+/open/"', html)) == 2
    assert header_count(response.content) == 2


def test_no_notifications_says_so(agent_a: Any) -> None:
    response = client_for(agent_a).get("/notifications/")
    assert b"No notifications yet" in response.content
    assert b"Mark all as read" not in response.content
    assert header_count(response.content) == 0


def test_opening_a_notification_marks_it_read_and_lands_on_its_ticket(agent_a: Any, ticket_a: Ticket) -> None:
    notification = notify(ticket_a, agent_a, "Breached")
    other = notify(ticket_a, agent_a, "Still unread")
    client = client_for(agent_a)

    response = client.get(f"/notifications/{notification.pk}/open/")

    assert response.status_code == 302
    assert response["Location"] == f"/tickets/{ticket_a.number}/"
    notification.refresh_from_db()
    first_read = notification.read_at
    assert first_read is not None
    other.refresh_from_db()
    assert other.read_at is None
    assert header_count(client.get(f"/tickets/{ticket_a.number}/").content) == 1

    # Opened again: it stays read as of the first time.
    assert client.get(f"/notifications/{notification.pk}/open/").status_code == 302
    notification.refresh_from_db()
    assert notification.read_at == first_read


def test_another_users_notification_is_not_found(agent_a: Any, agent_b: Any, ticket_a: Ticket) -> None:
    # A teammate of A's, told about a ticket A sees too: still not A's to open.
    teammate = UserFactory(teams=[ticket_a.team])
    theirs = notify(ticket_a, teammate, "For the teammate")

    assert client_for(agent_a).get(f"/notifications/{theirs.pk}/open/").status_code == 404
    assert client_for(agent_b).get(f"/notifications/{theirs.pk}/open/").status_code == 404
    assert client_for(agent_a).get("/notifications/999999/open/").status_code == 404
    theirs.refresh_from_db()
    assert theirs.read_at is None


def test_mark_all_read_is_a_csrf_protected_post_on_the_users_own(
    agent_a: Any, agent_b: Any, ticket_a: Ticket, ticket_b: Ticket
) -> None:
    mine = [notify(ticket_a, agent_a, f"Mine {i}") for i in range(3)]
    theirs = notify(ticket_b, agent_b, "Theirs")
    client = client_for(agent_a, enforce_csrf_checks=True)

    assert client.get("/notifications/read/").status_code == 405
    assert client.post("/notifications/read/").status_code == 403  # no CSRF token
    assert Notification.objects.filter(read_at__isnull=True).count() == 4

    page = client.get("/notifications/")
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.content.decode())
    assert token
    response = client.post("/notifications/read/", {"csrfmiddlewaretoken": token.group(1)})

    assert response.status_code == 302
    assert response["Location"] == "/notifications/"
    assert all(n.read_at is not None for n in Notification.objects.filter(pk__in=[n.pk for n in mine]))
    theirs.refresh_from_db()
    assert theirs.read_at is None
    after = client.get("/notifications/")
    assert header_count(after.content) == 0
    assert b'class="unread-marker"' not in after.content
    assert b"Mine 2" in after.content, "read notifications stay in the list"
    assert b"Mark all as read" not in after.content, "nothing is left to mark"


def test_signed_out_visitors_are_sent_to_sign_in(agent_a: Any, ticket_a: Ticket) -> None:
    notification = notify(ticket_a, agent_a, "Breached")
    client = Client()
    for url in ("/notifications/", f"/notifications/{notification.pk}/open/", "/notifications/unread/"):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/login/")
    assert client.post("/notifications/read/").status_code == 302
    notification.refresh_from_db()
    assert notification.read_at is None


def test_the_header_shows_the_unread_count_on_every_page(agent_a: Any, agent_b: Any, ticket_a: Ticket) -> None:
    for i in range(3):
        notify(ticket_a, agent_a, f"Escalated {i}")
    Notification.objects.filter(pk=Notification.objects.filter(user=agent_a).order_by("id")[0].pk).update(
        read_at=timezone.now()
    )
    client = client_for(agent_a)
    for url in ("/inbox/", f"/tickets/{ticket_a.number}/", "/notifications/", "/notifications/unread/"):
        response = client.get(url)
        assert response.status_code == 200, url
        assert header_count(response.content) == 2, url
    # Another agent's count is their own.
    assert header_count(client_for(agent_b).get("/inbox/").content) == 0


def test_the_header_count_costs_one_query(agent_a: Any, ticket_a: Ticket) -> None:
    client = client_for(agent_a)
    with CaptureQueriesContext(connection) as captured:
        client.get("/notifications/unread/")
    # session, user, the unread count
    assert len(captured) == 3
    assert sum("tickets_notification" in query["sql"] for query in captured) == 1


def queries_for(client: Client, url: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200
    return len(captured)


def test_the_list_costs_the_same_queries_for_2_or_20_notifications(agent_a: Any, team_a: Any) -> None:
    client = client_for(agent_a)
    for i in range(2):
        notify(TicketFactory(team=team_a), agent_a, f"Few {i}")
    few = queries_for(client, "/notifications/")
    for i in range(18):
        notify(TicketFactory(team=team_a), agent_a, f"Many {i}")
    many = queries_for(client, "/notifications/")
    assert b"Many 17" in client.get("/notifications/").content
    # session, user, the user's teams (only tickets they may still see), count, the page with its tickets,
    # the unread count
    assert few == many == 6


def test_a_notification_about_a_ticket_no_longer_visible_is_not_listed(agent_a: Any, team_a: Any) -> None:
    other = TeamFactory()
    ticket = TicketFactory(team=other, subject="Moved away")
    assign_perm("view_team", agent_a, other)
    notification = notify(ticket, agent_a, "About the moved ticket")
    client = client_for(agent_a)
    assert b"About the moved ticket" in client.get("/notifications/").content
    remove_perm("view_team", agent_a, other)
    assert b"About the moved ticket" not in client.get("/notifications/").content
    assert client.get(f"/notifications/{notification.pk}/open/").status_code == 404
