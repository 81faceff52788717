"""The ticket page's actions: assign, status, priority, tags and internal notes, changed in place.

Each is a form that posts without JavaScript (then a redirect to the ticket) and with htmx (the properties panel
or the note box comes back). Whoever sees a ticket may change it; a closed ticket and a tag that does not exist
yet (for an agent who may not add tags) are refused with a 403; input that cannot be applied is a 400.
"""

import re
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import Permission
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from guardian.shortcuts import assign_perm

from policies.models import SlaClock, SlaPolicy, SlaTarget, TargetKind
from tests.factories import TicketFactory, UserFactory
from tickets.models import EventKind, Message, Priority, Status, Tag, Ticket, TicketEvent
from tickets.services.tickets import ticket_for_inbound

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}


def client_for(user: Any, **kwargs: Any) -> Client:
    client = Client(**kwargs)
    client.force_login(user)
    return client


@pytest.fixture
def ticket(team_a: Any) -> Ticket:
    return TicketFactory(team=team_a, subject="Parcel lost")


def url(ticket: Ticket, action: str) -> str:
    return f"/tickets/{ticket.number}/{action}/"


def events(ticket: Ticket, kind: str) -> list[TicketEvent]:
    return list(TicketEvent.objects.filter(ticket=ticket, kind=kind).order_by("id"))


def element(html: str, element_id: str) -> str:
    """The opening tag of the element with `element_id`."""
    found = re.search(rf"<[a-z]+[^>]*\bid=\"{element_id}\"[^>]*>", html)
    assert found, f"#{element_id} is on the page"
    return found.group(0)


def error_text(response: Any, element_id: str) -> str:
    found = re.search(rf'id="{element_id}">(.*?)</p>', response.content.decode(), re.S)
    assert found, f"#{element_id} says what went wrong"
    return found.group(1)


# Assigning


def test_assign_to_me_without_javascript_redirects_to_the_ticket_and_records_the_event(
    agent_a: Any, ticket: Ticket
) -> None:
    client = client_for(agent_a)
    response = client.post(url(ticket, "assign"), {"assignee": "me"})

    assert response.status_code == 302
    assert response["Location"] == f"/tickets/{ticket.number}/"
    ticket.refresh_from_db()
    assert ticket.assignee == agent_a
    [event] = events(ticket, EventKind.ASSIGNED)
    assert event.actor == agent_a
    assert event.data["assignee"] == {"from": None, "to": agent_a.pk, "name": "agent_a"}
    page = client.get(response["Location"]).content.decode()
    assert "Assigned to you." in page, "the page after the redirect says what was done"
    assert "disabled" in element(page, "assign-to-me"), "it is the agent's already"


def test_assign_to_me_with_htmx_answers_with_the_redrawn_panel_and_refreshes_the_thread(
    agent_a: Any, ticket: Ticket
) -> None:
    response = client_for(agent_a).post(url(ticket, "assign"), {"assignee": "me"}, headers=HTMX)

    assert response.status_code == 200
    assert response["HX-Trigger"] == "thread-changed"
    html = response.content.decode()
    assert html.lstrip().startswith('<section class="properties-panel" id="ticket-properties"')
    assert '<p id="properties-saved" hx-swap-oob="innerHTML">Assigned to you.</p>' in html
    assert "Assigned to you</button>" in html
    assert 'id="unassign"' in html


def test_an_agent_can_give_the_ticket_to_a_colleague_of_its_team(agent_a: Any, team_a: Any, ticket: Ticket) -> None:
    colleague = UserFactory(username="carol", teams=[team_a])
    client = client_for(agent_a)
    page = client.get(f"/tickets/{ticket.number}/").content.decode()
    assert f'<option value="{colleague.pk}">carol</option>' in page
    assert f'<option value="{agent_a.pk}">agent_a (you)</option>' in page

    response = client.post(url(ticket, "assign"), {"assignee": str(colleague.pk)}, headers=HTMX)

    assert response.status_code == 200
    assert "Assigned to carol." in response.content.decode()
    ticket.refresh_from_db()
    assert ticket.assignee == colleague
    assert f'<option value="{colleague.pk}" selected>carol</option>' in response.content.decode()


def test_unassigning_takes_the_ticket_from_its_agent_and_keeps_its_team(agent_a: Any, ticket: Ticket) -> None:
    ticket.assignee = agent_a
    ticket.save()

    response = client_for(agent_a).post(url(ticket, "assign"), {"assignee": ""}, headers=HTMX)

    assert response.status_code == 200
    assert "Unassigned." in response.content.decode()
    ticket.refresh_from_db()
    assert ticket.assignee is None and ticket.team.name == "Team A"
    [event] = events(ticket, EventKind.ASSIGNED)
    assert event.data["assignee"] == {"from": agent_a.pk, "to": None, "name": ""}


def test_an_agent_who_would_not_see_the_ticket_cannot_be_given_it(
    agent_a: Any, agent_b: Any, team_a: Any, team_b: Any, ticket: Ticket
) -> None:
    # The actor works in both teams; agent_b only in Team B, so they could not open a Team A ticket.
    assign_perm("view_team", agent_a, team_b)
    client = client_for(agent_a)
    page = client.get(f"/tickets/{ticket.number}/").content.decode()
    assert "agent_b" not in re.search(r'<select id="assignee-select".*?</select>', page, re.S).group(0)

    response = client.post(url(ticket, "assign"), {"assignee": str(agent_b.pk)}, headers=HTMX)

    assert response.status_code == 400
    assert (
        error_text(response, "assignee-error")
        == "Choose an agent from the list: that one may not be given this ticket."
    )
    assert 'aria-invalid="true" aria-describedby="assignee-error"' in response.content.decode()
    ticket.refresh_from_db()
    assert ticket.assignee is None
    assert events(ticket, EventKind.ASSIGNED) == []


@pytest.mark.parametrize("data", [{"assignee": "someone"}, {"assignee": "12abc"}, {}, {"assignee": "999999"}])
def test_an_assignee_that_is_no_agent_is_a_400_with_the_forms_message(
    agent_a: Any, ticket: Ticket, data: dict[str, str]
) -> None:
    response = client_for(agent_a).post(url(ticket, "assign"), data, headers=HTMX)

    assert response.status_code == 400
    assert error_text(response, "assignee-error") in {
        "Choose an agent from the list.",
        "Choose an agent, or nobody.",
        "Choose an agent from the list: that one may not be given this ticket.",
    }
    ticket.refresh_from_db()
    assert ticket.assignee is None


def test_an_agent_granted_one_ticket_may_take_it(team_b: Any, agent_a: Any, agent_b: Any) -> None:
    guest = UserFactory(username="guest")
    ticket = TicketFactory(team=team_b)
    assign_perm("view_ticket", guest, ticket)
    client = client_for(guest)
    page = client.get(f"/tickets/{ticket.number}/").content.decode()
    offered = re.search(r'<select id="assignee-select".*?</select>', page, re.S).group(0)
    # Nobody shares a team with the guest, and agent_a does not see the ticket: only the guest is offered.
    assert "guest (you)" in offered and "agent_a" not in offered and "agent_b" not in offered

    assert client.post(url(ticket, "assign"), {"assignee": "me"}).status_code == 302
    ticket.refresh_from_db()
    assert ticket.assignee == guest


# Status


@pytest.mark.parametrize("status", [Status.PENDING, Status.SOLVED, Status.CLOSED])
def test_the_status_is_set_from_the_list(agent_a: Any, ticket: Ticket, status: Status) -> None:
    response = client_for(agent_a).post(url(ticket, "status"), {"status": status.value}, headers=HTMX)

    assert response.status_code == 200
    assert f"Status: {status.label}." in response.content.decode()
    assert f'<option value="{status.value}" selected>{status.label}</option>' in response.content.decode()
    ticket.refresh_from_db()
    assert ticket.status == status
    [event] = events(ticket, EventKind.STATUS)
    assert (event.actor, event.data["from"], event.data["to"]) == (agent_a, "open", status.value)


def test_the_solve_button_solves_the_ticket_and_stops_its_sla_clocks(agent_a: Any, account_a: Any) -> None:
    policy = SlaPolicy.objects.create(name="Standard")
    SlaTarget.objects.create(
        policy=policy, priority=Priority.NORMAL, kind=TargetKind.RESOLUTION, duration=timedelta(hours=8)
    )
    ticket, _ = ticket_for_inbound(
        account=account_a, sender_id="c-1", sender_name="Ann", subject="Hi", now=timezone.now()
    )
    assert SlaClock.objects.filter(ticket=ticket, stopped_at__isnull=True).exists()
    client = client_for(agent_a)
    assert 'name="status" value="solved"' in element(
        client.get(f"/tickets/{ticket.number}/").content.decode(), "solve-ticket"
    )

    response = client.post(url(ticket, "status"), {"status": "solved"})

    assert response.status_code == 302
    ticket.refresh_from_db()
    assert ticket.status == Status.SOLVED and ticket.solved_at is not None
    assert not SlaClock.objects.filter(ticket=ticket, stopped_at__isnull=True).exists()
    assert "disabled" in element(client.get(f"/tickets/{ticket.number}/").content.decode(), "solve-ticket")


def test_setting_the_status_it_has_changes_nothing(agent_a: Any, ticket: Ticket) -> None:
    response = client_for(agent_a).post(url(ticket, "status"), {"status": "open"}, headers=HTMX)
    assert response.status_code == 200
    assert "No change: that is its status already." in response.content.decode()
    assert events(ticket, EventKind.STATUS) == []


@pytest.mark.parametrize("value", ["reopened", "", "OPEN"])
def test_an_unknown_status_is_a_400_with_the_forms_message(agent_a: Any, ticket: Ticket, value: str) -> None:
    response = client_for(agent_a).post(url(ticket, "status"), {"status": value}, headers=HTMX)

    assert response.status_code == 400
    assert error_text(response, "status-error") in {"Choose a status from the list.", "Choose a status."}
    ticket.refresh_from_db()
    assert ticket.status == Status.OPEN


def test_without_javascript_a_bad_status_gives_the_page_again_with_the_message(agent_a: Any, ticket: Ticket) -> None:
    response = client_for(agent_a).post(url(ticket, "status"), {"status": "reopened"})

    assert response.status_code == 400
    html = response.content.decode()
    assert "<!doctype html>" in html, "the whole page, as the browser would show it"
    assert error_text(response, "status-error") == "Choose a status from the list."
    assert 'id="reply-form"' in html and 'id="note-form"' in html


# A closed ticket is final


def test_every_edit_of_a_closed_ticket_is_refused_with_a_403_that_says_why(agent_a: Any, ticket: Ticket) -> None:
    ticket.status = Status.CLOSED
    ticket.save()
    Tag.objects.create(name="vip")
    client = client_for(agent_a)
    page = client.get(f"/tickets/{ticket.number}/").content.decode()
    assert "disabled" in element(page, "assign-to-me") and "disabled" in element(page, "status-select")

    for action, data in [
        ("assign", {"assignee": "me"}),
        ("status", {"status": "open"}),
        ("priority", {"priority": "4"}),
        ("tags/add", {"tag": "vip"}),
        ("tags/remove", {"tag": "vip"}),
    ]:
        response = client.post(url(ticket, action), data, headers=HTMX)
        assert response.status_code == 403, action
        assert "a closed ticket is kept as it was" in error_text(response, "properties-refusal"), action
    ticket.refresh_from_db()
    assert (ticket.status, ticket.assignee, ticket.priority) == (Status.CLOSED, None, Priority.NORMAL)
    assert not TicketEvent.objects.filter(ticket=ticket).exists()
    # Without JavaScript, the refusal is the page with its reason.
    response = client.post(url(ticket, "status"), {"status": "open"})
    assert response.status_code == 403
    assert "a closed ticket is kept as it was" in error_text(response, "properties-refusal")


def test_a_note_may_still_be_added_to_a_closed_ticket(agent_a: Any, ticket: Ticket) -> None:
    ticket.status = Status.CLOSED
    ticket.save()
    response = client_for(agent_a).post(url(ticket, "note"), {"text": "Customer called back, all good."})
    assert response.status_code == 302
    assert Message.objects.filter(ticket=ticket, internal=True).count() == 1


# Priority


def test_the_priority_is_set_and_the_header_shows_it_after_the_refresh(agent_a: Any, ticket: Ticket) -> None:
    client = client_for(agent_a)
    response = client.post(url(ticket, "priority"), {"priority": str(Priority.URGENT)}, headers=HTMX)

    assert response.status_code == 200
    assert "Priority: Urgent." in response.content.decode()
    ticket.refresh_from_db()
    assert ticket.priority == Priority.URGENT
    [event] = events(ticket, EventKind.PRIORITY)
    assert (event.actor, event.data["from"], event.data["to"]) == (agent_a, Priority.NORMAL, Priority.URGENT)
    live = client.get(f"/tickets/{ticket.number}/live/").content.decode()
    assert 'data-priority="4"' in live


@pytest.mark.parametrize("value", ["9", "0", "high", ""])
def test_an_unknown_priority_is_a_400(agent_a: Any, ticket: Ticket, value: str) -> None:
    response = client_for(agent_a).post(url(ticket, "priority"), {"priority": value}, headers=HTMX)

    assert response.status_code == 400
    assert error_text(response, "priority-error") in {"Choose a priority from the list.", "Choose a priority."}
    ticket.refresh_from_db()
    assert ticket.priority == Priority.NORMAL


# Tags


def test_an_existing_tag_is_added_by_name_and_removed_again(agent_a: Any, ticket: Ticket) -> None:
    vip = Tag.objects.create(name="vip")
    client = client_for(agent_a)

    added = client.post(url(ticket, "tags/add"), {"tag": " VIP "}, headers=HTMX)

    assert added.status_code == 200
    assert "Tagged vip." in added.content.decode()
    assert list(ticket.tags.all()) == [vip]
    assert 'aria-label="Remove the tag vip"' in added.content.decode()
    [event] = events(ticket, EventKind.TAGS)
    assert (event.actor, event.data["added"], event.data["tags"]) == (agent_a, ["vip"], ["vip"])

    removed = client.post(url(ticket, "tags/remove"), {"tag": "vip"}, headers=HTMX)

    assert removed.status_code == 200
    assert "Removed the tag vip." in removed.content.decode()
    assert list(ticket.tags.all()) == []
    assert 'id="property-tags-none"' in removed.content.decode()
    [_, event] = events(ticket, EventKind.TAGS)
    assert (event.data["removed"], event.data["tags"]) == (["vip"], [])


def test_a_tag_made_with_capitals_in_the_admin_is_found_whatever_the_case_typed(agent_a: Any, ticket: Ticket) -> None:
    vip = Tag.objects.create(name="VIP")
    client = client_for(agent_a)

    assert client.post(url(ticket, "tags/add"), {"tag": "vip"}, headers=HTMX).status_code == 200
    assert list(ticket.tags.all()) == [vip]
    assert client.post(url(ticket, "tags/remove"), {"tag": "VIP"}, headers=HTMX).status_code == 200
    assert list(ticket.tags.all()) == []
    assert list(Tag.objects.values_list("name", flat=True)) == ["VIP"], "no second tag was made"


def test_removing_a_tag_the_ticket_no_longer_has_changes_nothing(agent_a: Any, ticket: Ticket) -> None:
    Tag.objects.create(name="vip")
    response = client_for(agent_a).post(url(ticket, "tags/remove"), {"tag": "vip"}, headers=HTMX)
    assert response.status_code == 200
    assert "No change: it is not tagged vip." in response.content.decode()
    assert events(ticket, EventKind.TAGS) == []


def test_a_new_tag_is_refused_to_an_agent_who_may_not_add_tags(agent_a: Any, ticket: Ticket) -> None:
    response = client_for(agent_a).post(url(ticket, "tags/add"), {"tag": "brand-new"}, headers=HTMX)

    assert response.status_code == 403
    assert "There is no tag “brand-new”" in error_text(response, "properties-refusal")
    assert 'value="brand-new"' in element(response.content.decode(), "tag-input"), "what was typed stays"
    assert not Tag.objects.filter(name="brand-new").exists()
    assert events(ticket, EventKind.TAGS) == []


def test_an_agent_who_may_add_tags_makes_a_new_one_by_tagging(agent_a: Any, ticket: Ticket) -> None:
    agent_a.user_permissions.add(Permission.objects.get(codename="add_tag"))

    response = client_for(agent_a).post(url(ticket, "tags/add"), {"tag": "brand-new"})

    assert response.status_code == 302
    assert [tag.name for tag in ticket.tags.all()] == ["brand-new"]


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("", "Type a tag."),
        ("   ", "Type a tag."),
        ("two words", "A tag is one word: letters, digits, hyphens and underscores, no spaces."),
        ("x" * 51, "A tag has at most 50 characters."),
    ],
)
def test_a_tag_that_cannot_be_one_is_a_400(agent_a: Any, ticket: Ticket, value: str, message: str) -> None:
    for action in ("tags/add", "tags/remove"):
        response = client_for(agent_a).post(url(ticket, action), {"tag": value}, headers=HTMX)
        assert response.status_code == 400, action
        assert error_text(response, "tag-error") == message
    assert events(ticket, EventKind.TAGS) == []


# Internal notes


def test_a_note_is_stored_as_internal_and_shown_set_apart_in_the_thread(agent_a: Any, ticket: Ticket) -> None:
    client = client_for(agent_a)
    page = client.get(f"/tickets/{ticket.number}/").content.decode()
    assert '<label for="note-text">Internal note</label>' in page
    assert re.search(r'<form id="note-form"[^>]*action="/tickets/\d+/note/"', page)

    response = client.post(url(ticket, "note"), {"text": "Courier says Tuesday."}, headers=HTMX)

    assert response.status_code == 200
    assert response["HX-Trigger"] == "thread-changed"
    assert 'id="note-saved">Internal note added.' in response.content.decode()
    assert "Courier says Tuesday." not in response.content.decode(), "the box comes back empty"
    [note] = Message.objects.filter(ticket=ticket)
    assert (note.internal, note.author, note.delivery_status) == (True, agent_a, "note")
    [event] = events(ticket, EventKind.NOTE)
    assert event.actor == agent_a
    live = client.get(f"/tickets/{ticket.number}/live/").content.decode()
    shown = re.search(r'<li class="message message-note".*?</li>', live, re.S)
    assert shown and "Courier says Tuesday." in shown.group(0)
    assert "Internal note" in shown.group(0)


def test_an_empty_note_is_a_400_and_the_box_says_so(agent_a: Any, ticket: Ticket) -> None:
    response = client_for(agent_a).post(url(ticket, "note"), {"text": "   "}, headers=HTMX)
    assert response.status_code == 400
    assert error_text(response, "note-error") == "Write the note first."
    assert not Message.objects.filter(ticket=ticket).exists()

    response = client_for(agent_a).post(url(ticket, "note"), {"text": ""})
    assert response.status_code == 400
    assert "<!doctype html>" in response.content.decode()
    assert error_text(response, "note-error") == "Write the note first."


# Who may act


ACTIONS = [
    ("assign", {"assignee": "me"}),
    ("status", {"status": "solved"}),
    ("priority", {"priority": "4"}),
    ("tags/add", {"tag": "vip"}),
    ("tags/remove", {"tag": "vip"}),
    ("note", {"text": "hello"}),
]


@pytest.mark.parametrize(("action", "data"), ACTIONS)
def test_a_ticket_the_agent_may_not_see_is_a_404_and_stays_as_it_was(
    agent_b: Any, ticket: Ticket, action: str, data: dict[str, str]
) -> None:
    vip = Tag.objects.create(name="vip")
    ticket.tags.add(vip)
    response = client_for(agent_b).post(url(ticket, action), data, headers=HTMX)

    assert response.status_code == 404
    ticket.refresh_from_db()
    assert (ticket.status, ticket.assignee, ticket.priority) == (Status.OPEN, None, Priority.NORMAL)
    assert list(ticket.tags.all()) == [vip]
    assert not TicketEvent.objects.filter(ticket=ticket).exists()
    assert not Message.objects.filter(ticket=ticket).exists()


def test_the_properties_panel_of_a_hidden_ticket_is_a_404(agent_a: Any, agent_b: Any, ticket: Ticket) -> None:
    assert client_for(agent_a).get(url(ticket, "properties")).status_code == 200
    assert client_for(agent_b).get(url(ticket, "properties")).status_code == 404


@pytest.mark.parametrize(("action", "data"), ACTIONS)
def test_signed_out_is_sent_to_sign_in_and_a_get_is_not_allowed(
    agent_a: Any, ticket: Ticket, action: str, data: dict[str, str]
) -> None:
    response = Client().post(url(ticket, action), data)
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
    assert client_for(agent_a).get(url(ticket, action)).status_code == 405


def test_every_action_needs_the_csrf_token_its_form_carries(agent_a: Any, ticket: Ticket) -> None:
    client = client_for(agent_a, enforce_csrf_checks=True)
    page = client.get(f"/tickets/{ticket.number}/").content.decode()
    names = "assign-form|assign-me-form|status-form|solve-form|priority-form|tag-form|note-form"
    token_input = r'<input type="hidden" name="csrfmiddlewaretoken" value="([^"]+)"'
    forms = re.findall(rf'<form id="({names})"[^>]*>\s*{token_input}', page)
    assert {name for name, _token in forms} == {
        "assign-form",
        "assign-me-form",
        "status-form",
        "solve-form",
        "priority-form",
        "tag-form",
        "note-form",
    }
    assert client.post(url(ticket, "assign"), {"assignee": "me"}).status_code == 403
    token = forms[0][1]
    assert client.post(url(ticket, "assign"), {"assignee": "me", "csrfmiddlewaretoken": token}).status_code == 302


def test_someone_elses_change_reaches_the_panel_when_it_fetches_itself_again(
    agent_a: Any, team_a: Any, ticket: Ticket
) -> None:
    colleague = UserFactory(username="carol", teams=[team_a])
    client_for(colleague).post(url(ticket, "status"), {"status": "pending"})

    panel = client_for(agent_a).get(url(ticket, "properties"), headers=HTMX).content.decode()

    assert '<option value="pending" selected>Pending</option>' in panel
    # The panel asks again when the live client has redrawn the ticket, unless the agent is choosing or typing in it.
    trigger = "helpdesk:swapped[!document.activeElement.matches('#ticket-properties :is(select, input)')] from:document"
    assert f'hx-trigger="{trigger}"' in panel
    assert 'id="properties-saved"' not in panel, "what the agent's own last edit said is left as it is"


def test_the_properties_panel_holds_a_constant_number_of_queries(agent_a: Any, team_a: Any, ticket: Ticket) -> None:
    client = client_for(agent_a)

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(url(ticket, "properties")).status_code == 200
        return len(captured)

    few = queries()
    for i in range(30):
        UserFactory(teams=[team_a])
        ticket.tags.add(Tag.objects.create(name=f"tag-{i}"))
    many = queries()
    # session, user, teams, ticket, its tags, assignable agents (their teams, them), those who see the ticket,
    # tag suggestions
    assert few == many == 9
