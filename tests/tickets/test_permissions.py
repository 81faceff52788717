"""Who sees what, from the outside: the inbox, the ticket page, its partials, replies and the admin."""

from typing import Any

import pytest
from django.contrib.auth.models import Group, Permission
from django.test import Client
from guardian.shortcuts import assign_perm, remove_perm

from tests.factories import TicketFactory, UserFactory
from tests.support import admin_form_data
from tickets.models import Message, Ticket
from tickets.selectors import visible_tickets

pytestmark = pytest.mark.django_db


@pytest.fixture
def ticket_a(team_a: Any) -> Ticket:
    return TicketFactory(team=team_a, subject="A's ticket", preview="alpha preview")


@pytest.fixture
def ticket_b(team_b: Any) -> Ticket:
    return TicketFactory(team=team_b, subject="B's ticket", preview="bravo preview")


def client_for(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def pages(ticket: Ticket) -> list[str]:
    return [f"/tickets/{ticket.number}/", f"/tickets/{ticket.number}/live/", f"/inbox/rows/{ticket.pk}/"]


def test_anonymous_visitors_are_sent_to_sign_in(client: Client, ticket_a: Ticket) -> None:
    for url in ["/inbox/", *pages(ticket_a)]:
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/login/")


def test_an_agent_sees_their_teams_tickets_and_not_others(agent_a: Any, ticket_a: Ticket, ticket_b: Ticket) -> None:
    client = client_for(agent_a)
    inbox = client.get("/inbox/").content.decode()
    assert "alpha preview" in inbox
    assert "bravo preview" not in inbox
    for url in pages(ticket_a):
        assert client.get(url).status_code == 200, url
    for url in pages(ticket_b):
        assert client.get(url).status_code == 404, url


def test_an_agent_cannot_reply_on_another_teams_ticket(agent_a: Any, ticket_b: Ticket) -> None:
    response = client_for(agent_a).post(f"/tickets/{ticket_b.number}/reply/", {"text": "sneaky"})
    assert response.status_code == 404
    assert not Message.objects.filter(text="sneaky").exists()


def test_an_agent_with_no_grant_sees_nothing(ticket_a: Ticket) -> None:
    nobody = UserFactory()
    client = client_for(nobody)
    assert "alpha preview" not in client.get("/inbox/").content.decode()
    assert client.get(f"/tickets/{ticket_a.number}/").status_code == 404


def test_a_single_ticket_grant_shows_that_ticket_only(agent_a: Any, team_b: Any, ticket_b: Ticket) -> None:
    other_b = TicketFactory(team=team_b, preview="charlie preview")
    assign_perm("view_ticket", agent_a, ticket_b)
    client = client_for(agent_a)
    inbox = client.get("/inbox/").content.decode()
    assert "bravo preview" in inbox
    assert "charlie preview" not in inbox
    assert client.get(f"/tickets/{ticket_b.number}/").status_code == 200
    assert client.get(f"/tickets/{other_b.number}/").status_code == 404


def test_a_team_grant_through_a_user_group_counts(team_b: Any, ticket_b: Ticket) -> None:
    group = Group.objects.create(name="night shift")
    assign_perm("view_team", group, team_b)
    member = UserFactory()
    member.groups.add(group)
    assert client_for(member).get(f"/tickets/{ticket_b.number}/").status_code == 200


def test_a_revoked_grant_hides_the_tickets_again(agent_a: Any, team_a: Any, ticket_a: Ticket) -> None:
    remove_perm("view_team", agent_a, team_a)
    assert client_for(agent_a).get(f"/tickets/{ticket_a.number}/").status_code == 404


def test_an_inactive_agent_sees_nothing(agent_a: Any, ticket_a: Ticket) -> None:
    agent_a.is_active = False
    agent_a.save()
    assert list(visible_tickets(agent_a)) == []


def test_a_superuser_sees_every_ticket(admin_user: Any, ticket_a: Ticket, ticket_b: Ticket) -> None:
    inbox = client_for(admin_user).get("/inbox/").content.decode()
    assert "alpha preview" in inbox and "bravo preview" in inbox


@pytest.fixture
def lead_a(team_a: Any) -> Any:
    lead = UserFactory(username="lead_a", is_staff=True, teams=[team_a])
    lead.user_permissions.set(
        Permission.objects.filter(
            codename__in=[
                "view_ticket",
                "change_ticket",
                "view_message",
                "view_ticketevent",
                "view_inbounddelivery",
                "view_contact",
                "view_contactidentity",
                "view_team",
            ]
        )
    )
    return lead


def test_admin_changelists_show_only_visible_tickets(lead_a: Any, ticket_a: Ticket, ticket_b: Ticket) -> None:
    client = client_for(lead_a)
    for url in ["/admin/tickets/ticket/", "/admin/tickets/ticketevent/", "/admin/tickets/team/"]:
        assert client.get(url).status_code == 200, url
    tickets = client.get("/admin/tickets/ticket/").content.decode()
    assert f"{ticket_a.number}" in tickets
    assert f">{ticket_b.number}<" not in tickets
    teams = client.get("/admin/tickets/team/").content.decode()
    assert "Team A" in teams and "Team B" not in teams


def test_admin_change_page_of_another_teams_ticket_is_refused(lead_a: Any, ticket_a: Ticket, ticket_b: Ticket) -> None:
    client = client_for(lead_a)
    assert client.get(f"/admin/tickets/ticket/{ticket_a.pk}/change/").status_code == 200
    response = client.get(f"/admin/tickets/ticket/{ticket_b.pk}/change/", follow=True)
    assert "doesn\u2019t exist" in response.content.decode()  # Django's wording, with its apostrophe
    assert ticket_b.subject not in response.content.decode()


def test_an_admin_edit_is_recorded_in_the_audit_trail(lead_a: Any, ticket_a: Ticket) -> None:
    client = client_for(lead_a)
    form = client.get(f"/admin/tickets/ticket/{ticket_a.pk}/change/").context["adminform"].form
    data = admin_form_data(form)
    data.update({"status": "solved", "priority": "3"})
    data.update({"messages-TOTAL_FORMS": "0", "messages-INITIAL_FORMS": "0"})
    response = client.post(f"/admin/tickets/ticket/{ticket_a.pk}/change/", data)
    assert response.status_code == 302, response.content.decode()[:2000]
    ticket_a.refresh_from_db()
    assert ticket_a.status == "solved" and ticket_a.solved_at is not None
    events = {event.kind: event for event in ticket_a.events.all()}
    assert events["updated"].data == {"changed": {"priority": 3}}
    assert events["updated"].actor == lead_a
    assert events["status"].data == {"from": "open", "to": "solved", "reason": "edited in the admin"}


def test_admin_forms_and_filters_offer_only_visible_teams(lead_a: Any, ticket_a: Ticket, ticket_b: Ticket) -> None:
    client = client_for(lead_a)
    changelist = client.get("/admin/tickets/ticket/").content.decode()
    assert "Team B" not in changelist  # not even in the filter sidebar
    form = client.get(f"/admin/tickets/ticket/{ticket_a.pk}/change/").context["adminform"].form
    assert list(form.fields["team"].queryset) == [ticket_a.team]
    assert "identity" not in form.fields and "contact" not in form.fields  # who the ticket is with is fixed


def test_admin_cannot_move_a_ticket_into_a_team_the_lead_cannot_see(
    lead_a: Any, ticket_a: Ticket, ticket_b: Ticket
) -> None:
    client = client_for(lead_a)
    form = client.get(f"/admin/tickets/ticket/{ticket_a.pk}/change/").context["adminform"].form
    data = admin_form_data(form)
    data.update({"team": str(ticket_b.team_id), "messages-TOTAL_FORMS": "0", "messages-INITIAL_FORMS": "0"})
    response = client.post(f"/admin/tickets/ticket/{ticket_a.pk}/change/", data)
    assert response.status_code == 200  # the form comes back with an error
    assert "Select a valid choice" in response.content.decode()
    ticket_a.refresh_from_db()
    assert ticket_a.team.name == "Team A"


def test_admin_contact_page_hides_identities_on_other_teams(lead_a: Any, ticket_a: Ticket, ticket_b: Ticket) -> None:
    from tests.factories import ContactIdentityFactory

    ContactIdentityFactory(
        contact=ticket_a.contact, channel_account=ticket_b.identity.channel_account, external_id="b-side-secret-id"
    )
    page = client_for(lead_a).get(f"/admin/tickets/contact/{ticket_a.contact_id}/change/").content.decode()
    assert ticket_a.identity.external_id in page
    assert "b-side-secret-id" not in page
