"""Canned responses (saved replies): who may use which, finding them by what follows "/", filling in their
variables without ever running the template engine, the reply box's endpoints, an agent's own responses on
/canned/, and team leads' ones in the admin."""

import json
from io import StringIO
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AnonymousUser, Permission
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from guardian.shortcuts import assign_perm

from tests.factories import TicketFactory, UserFactory
from tickets.models import CannedResponse, Team, Ticket
from tickets.selectors.canned import PICKER_LIMIT, canned_for, canned_usable
from tickets.services.canned import VARIABLES, canned_render, canned_unknown_variables

pytestmark = pytest.mark.django_db


def team_reply(team: Any, name: str, body: str = "Hello {{ contact.first_name }}", **fields: Any) -> CannedResponse:
    return CannedResponse.objects.create(team=team, name=name, body=body, **fields)


def own_reply(owner: Any, name: str, body: str = "Hello {{ contact.first_name }}", **fields: Any) -> CannedResponse:
    return CannedResponse.objects.create(owner=owner, name=name, body=body, **fields)


def names(responses: list[CannedResponse]) -> list[str]:
    """Each response as "<team or owner>:<name>", in the order given."""
    return [f"{r.team.name if r.team else r.owner.username}:{r.name}" for r in responses]  # type: ignore[union-attr]


def signed_in(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def ticket_a(team_a: Any) -> Ticket:
    return TicketFactory(team=team_a, subject="Broken kettle", identity__contact__display_name="Ann  Smith")


# ---- who may use which --------------------------------------------------------------------------------------


def test_an_agent_uses_the_responses_of_their_teams_and_their_own_only(
    agent_a: Any, agent_b: Any, team_a: Any, team_b: Any
) -> None:
    team_reply(team_a, "refund")
    team_reply(team_b, "discount")
    own_reply(agent_a, "thanks")
    own_reply(agent_b, "bye")

    assert names(canned_for(agent_a)) == ["Team A:refund", "agent_a:thanks"]
    assert names(canned_for(agent_b)) == ["agent_b:bye", "Team B:discount"]
    assert sorted(names(list(canned_usable(agent_a)))) == ["Team A:refund", "agent_a:thanks"]


def test_on_a_ticket_only_the_ticket_teams_responses_and_ones_own_are_offered(
    team_a: Any, team_b: Any, ticket_a: Ticket
) -> None:
    both = UserFactory(username="both", teams=[team_a, team_b])
    team_reply(team_a, "refund")
    team_reply(team_b, "discount")
    own_reply(both, "thanks")

    assert names(canned_for(both)) == ["Team B:discount", "Team A:refund", "both:thanks"]
    assert names(canned_for(both, ticket=ticket_a)) == ["Team A:refund", "both:thanks"]


def test_an_agent_granted_a_single_ticket_replies_with_that_tickets_team_responses(
    agent_b: Any, team_a: Any, ticket_a: Ticket
) -> None:
    refund = team_reply(team_a, "refund")
    assign_perm("view_ticket", agent_b, ticket_a)  # B sees this one ticket of Team A, not the team
    assert canned_for(agent_b) == []
    assert canned_for(agent_b, ticket=ticket_a) == [refund]
    assert signed_in(agent_b).get(f"/tickets/{ticket_a.number}/canned/{refund.pk}/").status_code == 200


def test_signed_out_and_deactivated_users_use_none(agent_a: Any, team_a: Any) -> None:
    team_reply(team_a, "refund")
    own_reply(agent_a, "thanks")
    agent_a.is_active = False
    agent_a.save()
    assert canned_for(agent_a) == []
    assert canned_for(AnonymousUser()) == []


def test_names_starting_with_the_query_come_first_then_titles_or_texts_holding_it(agent_a: Any, team_a: Any) -> None:
    team_reply(team_a, "address", title="Where to send a REFUND")
    team_reply(team_a, "delay", body="Your refund is late, sorry")
    team_reply(team_a, "refund")
    team_reply(team_a, "prefer-email", title="Email us", body="Write to us")  # "ref" inside a name only: no match
    own_reply(agent_a, "refund-partial")

    assert names(canned_for(agent_a, query="Ref")) == [
        "Team A:refund",
        "agent_a:refund-partial",
        "Team A:address",
        "Team A:delay",
    ]
    assert names(canned_for(agent_a, query="  refund-p ")) == ["agent_a:refund-partial"]
    assert canned_for(agent_a, query="nothing like it") == []


def test_ones_own_response_comes_before_a_teams_of_the_same_name(agent_a: Any, team_a: Any) -> None:
    team_reply(team_a, "refund")
    own_reply(agent_a, "refund")
    assert names(canned_for(agent_a, query="refund")) == ["agent_a:refund", "Team A:refund"]


def test_the_picker_offers_at_most_twenty(agent_a: Any, team_a: Any) -> None:
    for number in range(PICKER_LIMIT + 5):
        team_reply(team_a, f"reply-{number:02}")
    found = canned_for(agent_a, query="reply")
    assert len(found) == PICKER_LIMIT == 20
    assert found[0].name == "reply-00"


# ---- filling in the variables -------------------------------------------------------------------------------


def test_every_variable_is_filled_in(team_a: Any, ticket_a: Ticket) -> None:
    alice = UserFactory(username="alice", first_name="Alice", last_name="Archer", teams=[team_a])
    body = " | ".join(f"{{{{ {name} }}}}" for name in VARIABLES)
    rendered = canned_render(response=team_reply(team_a, "all", body), ticket=ticket_a, agent=alice)
    assert rendered.text == f"Ann | Ann  Smith | Alice Archer | Alice | {ticket_a.number} | Broken kettle | Team A"
    assert rendered.unknown == []


def test_spacing_and_case_inside_the_braces_do_not_matter(team_a: Any, ticket_a: Ticket, agent_a: Any) -> None:
    body = "{{contact.first_name}}, {{  Contact.First_Name  }}"
    assert canned_render(response=team_reply(team_a, "x", body), ticket=ticket_a, agent=agent_a).text == "Ann, Ann"


@pytest.mark.parametrize(
    ("contact_name", "profile_name", "first_name", "name"),
    [
        ("Ann Smith", "ann_s", "Ann", "Ann Smith"),
        ("", "Bob Jones", "Bob", "Bob Jones"),  # no name on the contact: the profile name on the channel
        ("  ", "", "there", "there"),  # no name anywhere: "Hi there"
    ],
)
def test_a_contacts_name_falls_back_to_their_profile_name_then_to_there(
    team_a: Any, agent_a: Any, contact_name: str, profile_name: str, first_name: str, name: str
) -> None:
    ticket = TicketFactory(
        team=team_a, identity__contact__display_name=contact_name, identity__display_name=profile_name
    )
    response = team_reply(team_a, "hi", "Hi {{ contact.first_name }} ({{ contact.name }})")
    assert canned_render(response=response, ticket=ticket, agent=agent_a).text == f"Hi {first_name} ({name})"


def test_an_agent_without_a_name_signs_with_their_username(team_a: Any, ticket_a: Ticket, agent_a: Any) -> None:
    response = team_reply(team_a, "sign", "{{ agent.name }} / {{ agent.first_name }}")
    assert canned_render(response=response, ticket=ticket_a, agent=agent_a).text == "agent_a / agent_a"


def test_unknown_variables_are_left_as_typed_and_reported_once(team_a: Any, ticket_a: Ticket, agent_a: Any) -> None:
    body = "Hi {{ contact.frist_name }}, {{ contact.frist_name }} {{order}} {{ contact.first_name }}"
    rendered = canned_render(response=team_reply(team_a, "typo", body), ticket=ticket_a, agent=agent_a)
    assert rendered.text == "Hi {{ contact.frist_name }}, {{ contact.frist_name }} {{order}} Ann"
    assert rendered.unknown == ["{{ contact.frist_name }}", "{{order}}"]
    assert canned_unknown_variables(body) == ["{{ contact.frist_name }}", "{{order}}"]


def test_the_template_engine_never_runs_on_a_body(team_a: Any, ticket_a: Ticket, agent_a: Any, settings: Any) -> None:
    body = (
        "{% load static %}{% now 'Y' %}{% debug %} {{ settings.SECRET_KEY }} {{ request.user.password }} "
        "{{ contact.first_name|upper }} {{ ticket.contact.identities.all }} <b>&amp;</b>"
    )
    rendered = canned_render(response=team_reply(team_a, "evil", body), ticket=ticket_a, agent=agent_a)
    assert rendered.text == body  # nothing evaluated, nothing escaped: plain text, exactly as typed
    assert settings.SECRET_KEY not in rendered.text
    assert rendered.unknown == [
        "{{ settings.SECRET_KEY }}",
        "{{ request.user.password }}",
        "{{ contact.first_name|upper }}",
        "{{ ticket.contact.identities.all }}",
    ]


def test_a_contacts_name_is_inserted_as_plain_text(team_a: Any, agent_a: Any) -> None:
    ticket = TicketFactory(team=team_a, identity__contact__display_name="<b>{{ agent.name }}</b>&Co")
    response = team_reply(team_a, "hi", "Hi {{ contact.name }}")
    # A name that looks like a variable stays a name: values are never substituted again.
    assert canned_render(response=response, ticket=ticket, agent=agent_a).text == "Hi <b>{{ agent.name }}</b>&Co"


# ---- the reply box's endpoints ------------------------------------------------------------------------------


def test_the_picker_lists_the_matches_as_an_accessible_listbox(agent_a: Any, team_a: Any, ticket_a: Ticket) -> None:
    refund = team_reply(team_a, "refund", title="Refund <on its way>")
    own_reply(agent_a, "reference", body="Your reference is {{ ticket.number }}")
    team_reply(team_a, "hello")

    response = signed_in(agent_a).get(f"/tickets/{ticket_a.number}/canned/", {"q": "ref"})
    assert response.status_code == 200
    html = response.content.decode()
    assert 'role="listbox" id="canned-listbox"' in html
    assert html.count('role="option"') == 2
    assert f'id="canned-option-{refund.pk}"' in html
    assert f'data-insert-url="/tickets/{ticket_a.number}/canned/{refund.pk}/"' in html
    assert "Refund &lt;on its way&gt;" in html  # escaped like any text
    assert "/hello" not in html
    assert html.index(">/reference<") < html.index(">/refund<")  # by name


def test_the_picker_says_when_nothing_matches(agent_a: Any, ticket_a: Ticket) -> None:
    response = signed_in(agent_a).get(f"/tickets/{ticket_a.number}/canned/", {"q": "zzz"})
    assert response.status_code == 200
    assert 'id="canned-empty"' in response.content.decode()
    assert 'role="listbox"' not in response.content.decode()


def test_inserting_gives_the_text_with_its_variables_filled_in(agent_a: Any, team_a: Any, ticket_a: Ticket) -> None:
    refund = team_reply(team_a, "refund", "Hi {{ contact.first_name }}, ticket #{{ ticket.number }}. {{ agnt.name }}")
    response = signed_in(agent_a).get(f"/tickets/{ticket_a.number}/canned/{refund.pk}/")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert json.loads(response.content) == {
        "text": f"Hi Ann, ticket #{ticket_a.number}. {{{{ agnt.name }}}}",
        "unknown": ["{{ agnt.name }}"],
    }


def test_a_ticket_the_agent_does_not_see_is_a_404_for_both_endpoints(
    agent_b: Any, team_b: Any, ticket_a: Ticket
) -> None:
    theirs = team_reply(team_b, "refund")
    own = own_reply(agent_b, "thanks")
    client = signed_in(agent_b)
    assert client.get(f"/tickets/{ticket_a.number}/canned/", {"q": "r"}).status_code == 404
    assert client.get(f"/tickets/{ticket_a.number}/canned/{theirs.pk}/").status_code == 404
    assert client.get(f"/tickets/{ticket_a.number}/canned/{own.pk}/").status_code == 404
    assert client.get("/tickets/999999/canned/").status_code == 404


def test_a_response_the_agent_may_not_use_on_the_ticket_is_a_404(
    agent_a: Any, team_a: Any, team_b: Any, ticket_a: Ticket
) -> None:
    both = UserFactory(username="both", teams=[team_a, team_b])
    other_team = team_reply(team_b, "discount")  # a team `both` sees, but not the ticket's
    someone_elses = own_reply(agent_a, "thanks")
    client = signed_in(both)
    assert client.get(f"/tickets/{ticket_a.number}/canned/{other_team.pk}/").status_code == 404
    assert client.get(f"/tickets/{ticket_a.number}/canned/{someone_elses.pk}/").status_code == 404
    assert client.get(f"/tickets/{ticket_a.number}/canned/{own_reply(both, 'mine').pk}/").status_code == 200


def test_signed_out_visitors_are_sent_to_sign_in(team_a: Any, ticket_a: Ticket) -> None:
    refund = team_reply(team_a, "refund")
    for url in (f"/tickets/{ticket_a.number}/canned/", f"/tickets/{ticket_a.number}/canned/{refund.pk}/", "/canned/"):
        response = Client().get(url)
        assert response.status_code == 302
        assert "/login/" in response["Location"]


def test_the_reply_box_says_how_to_insert_a_saved_reply(agent_a: Any, ticket_a: Ticket) -> None:
    html = signed_in(agent_a).get(f"/tickets/{ticket_a.number}/").content.decode()
    assert 'id="canned-hint"' in html
    assert "Type <kbd>/</kbd> and a name to insert a saved reply" in html
    assert f'data-canned-url="/tickets/{ticket_a.number}/canned/"' in html
    assert html.index('id="reply-form"') < html.index('id="id_text"') < html.index('id="canned-picker"')


# ---- an agent's own responses on /canned/ -------------------------------------------------------------------


def test_the_page_lists_ones_own_to_change_and_the_teams_to_read(
    agent_a: Any, agent_b: Any, team_a: Any, team_b: Any
) -> None:
    refund = team_reply(team_a, "refund", title="Refund on its way")
    thanks = own_reply(agent_a, "thanks", body="Thanks {{ contact.first_name }}!\nBye")
    team_reply(team_b, "discount")
    own_reply(agent_b, "bye")

    response = signed_in(agent_a).get("/canned/")
    assert response.status_code == 200
    html = response.content.decode()
    assert f'id="canned-{thanks.pk}"' in html and f"/canned/{thanks.pk}/edit/" in html
    assert "Thanks {{ contact.first_name }}!<br>Bye" in html
    assert f'id="canned-{refund.pk}"' in html and f"/canned/{refund.pk}/edit/" not in html
    assert "/discount" not in html and "/bye" not in html


def test_an_agent_saves_a_personal_response(agent_a: Any) -> None:
    client = signed_in(agent_a)
    response = client.post("/canned/new/", {"name": "thanks", "title": "", "body": "  Thanks {{ contact.name }}! "})
    assert response.status_code == 302 and response["Location"] == "/canned/"
    saved = CannedResponse.objects.get(owner=agent_a)
    assert (saved.name, saved.title, saved.body, saved.team) == ("thanks", "", "Thanks {{ contact.name }}!", None)
    assert "Saved /thanks." in client.get("/canned/").content.decode()


def test_saving_points_out_tokens_that_are_not_variables(agent_a: Any) -> None:
    client = signed_in(agent_a)
    client.post("/canned/new/", {"name": "typo", "body": "Hi {{ contact.frist_name }}"})
    html = client.get("/canned/").content.decode()
    assert "Not variables, left as typed: {{ contact.frist_name }}." in html


@pytest.mark.parametrize(
    ("data", "error"),
    [
        ({"name": "thanks", "body": "again"}, "You already have a saved reply named /thanks."),
        ({"name": "two words", "body": "x"}, "Enter a valid “slug”"),
        ({"name": "empty", "body": "   "}, "This field is required."),
    ],
)
def test_a_response_that_cannot_be_saved_says_why(agent_a: Any, data: dict[str, str], error: str) -> None:
    own_reply(agent_a, "thanks")
    response = signed_in(agent_a).post("/canned/new/", data)
    assert response.status_code == 400
    assert error in response.content.decode()
    assert CannedResponse.objects.count() == 1


def test_the_same_name_may_be_a_teams_and_someone_elses(agent_a: Any, agent_b: Any, team_a: Any) -> None:
    team_reply(team_a, "thanks")
    own_reply(agent_b, "thanks")
    assert signed_in(agent_a).post("/canned/new/", {"name": "thanks", "body": "Mine"}).status_code == 302


def test_an_agent_changes_their_own_response(agent_a: Any) -> None:
    thanks = own_reply(agent_a, "thanks", title="Old")
    client = signed_in(agent_a)
    page = client.get(f"/canned/{thanks.pk}/edit/")
    assert page.status_code == 200 and 'value="thanks"' in page.content.decode()
    response = client.post(f"/canned/{thanks.pk}/edit/", {"name": "thank-you", "title": "New", "body": "Thank you!"})
    assert response.status_code == 302
    thanks.refresh_from_db()
    assert (thanks.name, thanks.title, thanks.body) == ("thank-you", "New", "Thank you!")


def test_renaming_onto_another_of_ones_own_names_is_refused(agent_a: Any) -> None:
    thanks = own_reply(agent_a, "thanks")
    own_reply(agent_a, "bye")
    response = signed_in(agent_a).post(f"/canned/{thanks.pk}/edit/", {"name": "bye", "body": "x"})
    assert response.status_code == 400
    assert "You already have a saved reply named /bye." in response.content.decode()
    thanks.refresh_from_db()
    assert thanks.name == "thanks"


def test_an_agent_deletes_their_own_response(agent_a: Any) -> None:
    thanks = own_reply(agent_a, "thanks")
    response = signed_in(agent_a).post(f"/canned/{thanks.pk}/delete/")
    assert response.status_code == 302
    assert not CannedResponse.objects.filter(pk=thanks.pk).exists()


def test_a_teams_or_someone_elses_response_cannot_be_changed_or_deleted_here(
    agent_a: Any, agent_b: Any, team_a: Any
) -> None:
    refund = team_reply(team_a, "refund", body="Team text")
    bye = own_reply(agent_b, "bye", body="B's text")
    client = signed_in(agent_a)
    for response in (refund, bye):
        assert client.get(f"/canned/{response.pk}/edit/").status_code == 404
        assert client.post(f"/canned/{response.pk}/edit/", {"name": "mine", "body": "Hijacked"}).status_code == 404
        assert client.post(f"/canned/{response.pk}/delete/").status_code == 404
    assert sorted(CannedResponse.objects.values_list("body", flat=True)) == ["B's text", "Team text"]


# ---- constant queries ---------------------------------------------------------------------------------------


def add_responses(count: int, *, team: Any, owner: Any) -> None:
    start = CannedResponse.objects.count()
    for number in range(start, start + count):
        team_reply(team, f"reply-{number:03}", title=f"Reply {number}")
        own_reply(owner, f"mine-{number:03}")


def queries_for(client: Client, url: str, marker: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200
    assert marker in response.content.decode()
    return len(captured)


def test_the_pickers_queries_do_not_grow_with_responses(agent_a: Any, team_a: Any, ticket_a: Ticket) -> None:
    client = signed_in(agent_a)
    url = f"/tickets/{ticket_a.number}/canned/?q=re"
    add_responses(2, team=team_a, owner=agent_a)
    few = queries_for(client, url, 'role="option"')
    add_responses(40, team=team_a, owner=agent_a)
    many = queries_for(client, url, 'role="option"')
    # session, user, the user's teams, the ticket, the responses
    assert few == many == 5


def test_the_insert_endpoints_queries_are_few(agent_a: Any, team_a: Any, ticket_a: Ticket) -> None:
    refund = team_reply(team_a, "refund", "{{ contact.name }} {{ team.name }} {{ ticket.number }}")
    # session, user, the user's teams, the ticket with its contact, identity and team, the response
    assert queries_for(signed_in(agent_a), f"/tickets/{ticket_a.number}/canned/{refund.pk}/", "Ann") == 5


def test_the_pages_queries_do_not_grow_with_responses(agent_a: Any, team_a: Any) -> None:
    client = signed_in(agent_a)
    add_responses(2, team=team_a, owner=agent_a)
    few = queries_for(client, "/canned/", "/mine-001")
    add_responses(60, team=team_a, owner=agent_a)
    many = queries_for(client, "/canned/", "/mine-061")
    # session, user, unread notifications, the user's teams, the responses with their teams
    assert few == many == 5


# ---- team leads in the admin --------------------------------------------------------------------------------


@pytest.fixture
def lead(team_a: Any) -> Any:
    lead = UserFactory(username="lead_a", is_staff=True, teams=[team_a])
    codenames = ["view_cannedresponse", "add_cannedresponse", "change_cannedresponse", "delete_cannedresponse"]
    lead.user_permissions.set(Permission.objects.filter(codename__in=codenames))
    return lead


def test_the_admin_lists_the_leads_teams_responses_and_their_own(
    lead: Any, agent_a: Any, team_a: Any, team_b: Any
) -> None:
    team_reply(team_a, "refund")
    own_reply(lead, "lead-note")
    team_reply(team_b, "discount")
    own_reply(agent_a, "agents-own")
    html = signed_in(lead).get("/admin/tickets/cannedresponse/").content.decode()
    assert "/refund" in html and "/lead-note" in html
    assert "/discount" not in html and "/agents-own" not in html
    assert "Team B" not in html  # not even as a filter choice


def test_the_admin_offers_only_the_leads_teams_and_themselves(
    lead: Any, agent_a: Any, team_a: Any, team_b: Any
) -> None:
    client = signed_in(lead)
    form = client.get("/admin/tickets/cannedresponse/add/").content.decode()
    assert f'<option value="{team_a.pk}">Team A</option>' in form and "Team B" not in form
    assert f'<option value="{lead.pk}">lead_a</option>' in form and "agent_a" not in form

    data = {"name": "refund", "title": "", "body": "Hi {{ contact.frist_name }}"}
    refused = client.post("/admin/tickets/cannedresponse/add/", {**data, "team": team_b.pk})
    assert refused.status_code == 200 and "Select a valid choice" in refused.content.decode()
    neither = client.post("/admin/tickets/cannedresponse/add/", data)
    assert "Choose a team, or leave the team empty and make it your own" in neither.content.decode()
    both = client.post("/admin/tickets/cannedresponse/add/", {**data, "team": team_a.pk, "owner": lead.pk})
    assert "Choose a team, or leave the team empty and make it your own" in both.content.decode()
    assert not CannedResponse.objects.exists()

    saved = client.post("/admin/tickets/cannedresponse/add/", {**data, "team": team_a.pk}, follow=True)
    assert "Not variables, left as typed: {{ contact.frist_name }}." in saved.content.decode()
    assert CannedResponse.objects.get().team == team_a


def test_the_demo_has_saved_replies_and_its_lead_keeps_the_teams_ones(db: None) -> None:
    call_command("demo_setup", stdout=StringIO())
    call_command("demo_setup", stdout=StringIO())  # again: nothing doubles
    support, sales = Team.objects.get(name="Support"), Team.objects.get(name="Sales")
    assert sorted(CannedResponse.objects.values_list("name", "team", "owner__username")) == [
        ("refund", support.pk, None),
        ("thanks", None, "alice"),
        ("volume-discount", sales.pk, None),
    ]
    lead = get_user_model().objects.get(username="lead")
    assert lead.has_perm("tickets.change_cannedresponse") and lead.has_perm("tickets.add_cannedresponse")
    html = signed_in(lead).get("/admin/tickets/cannedresponse/").content.decode()
    assert "/refund" in html and "/volume-discount" in html and "/thanks" not in html
    for response in CannedResponse.objects.all():
        assert canned_unknown_variables(response.body) == []
