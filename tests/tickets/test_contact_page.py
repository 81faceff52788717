"""An agent's contact page: who the contact is, their tickets, and merging another contact into them."""

import re
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from guardian.shortcuts import assign_perm

from tests.factories import ChannelAccountFactory, ContactFactory, ContactIdentityFactory, TicketFactory
from tickets.models import Contact, ContactIdentity, EventKind, Status, Ticket, TicketEvent

pytestmark = pytest.mark.django_db


def ticket_for(contact: Any, account: Any, *, external_id: str = "", **fields: Any) -> Any:
    """A ticket of `contact` in `account`'s team, on a new identity of theirs on that account."""
    identity_fields = {"external_id": external_id} if external_id else {}
    identity = ContactIdentityFactory(contact=contact, channel_account=account, **identity_fields)
    return TicketFactory(team=account.team, contact=contact, identity=identity, **fields)


def client_for(user: Any, **kwargs: Any) -> Client:
    client = Client(**kwargs)
    client.force_login(user)
    return client


def page_of(contact: Any) -> str:
    return f"/contacts/{contact.pk}/"


def merge_url(contact: Any) -> str:
    return f"/contacts/{contact.pk}/merge/"


# The contact page


def test_the_page_shows_the_contacts_identities_and_the_tickets_the_agent_sees(
    agent_a: Any, account_a: Any, account_b: Any, team_a: Any
) -> None:
    ann = ContactFactory(display_name="Ann Lee")
    telegram = ChannelAccountFactory(team=team_a, kind="telegram", name="Acme bot")
    first = ticket_for(ann, account_a, external_id="ann-api", subject="Broken zipper", status=Status.SOLVED)
    second = ticket_for(ann, telegram, external_id="4242", subject="Refund please")
    second.identity.display_name = "Ann L. (Telegram)"
    second.identity.save()
    hidden = ticket_for(ann, account_b, external_id="ann-other-brand", subject="Secret matter")

    response = client_for(agent_a).get(page_of(ann))

    assert response.status_code == 200
    html = response.content.decode()
    assert '<h1 id="contact-name" class="contact-title">Ann Lee</h1>' in html
    # Identities: channel, platform user id, profile name; none on a channel of a team the agent does not see.
    assert [identity.external_id for identity in response.context["identities"]] == ["ann-api", "4242"]
    assert "Telegram" in html and "Acme bot" in html and "Ann L. (Telegram)" in html
    assert "ann-other-brand" not in html
    # Tickets: number linking to the ticket, subject, status and last activity; newest activity first.
    assert [ticket.number for ticket in response.context["page"]] == [second.number, first.number]
    assert f'<a href="/tickets/{first.number}/">#{first.number}</a>' in html
    assert "Broken zipper" in html and "Solved" in html and "Refund please" in html
    assert f'datetime="{second.last_activity_at.isoformat()}"' in html
    assert f"#{hidden.number}" not in html and "Secret matter" not in html


def test_a_contact_is_not_found_by_an_agent_who_sees_none_of_its_tickets(
    agent_a: Any, agent_b: Any, account_a: Any
) -> None:
    ann = ContactFactory(display_name="Ann")
    ticket_for(ann, account_a)
    assert client_for(agent_a).get(page_of(ann)).status_code == 200
    assert client_for(agent_b).get(page_of(ann)).status_code == 404
    assert client_for(agent_b).get(f"/contacts/{ann.pk + 1000}/").status_code == 404
    signed_out = Client().get(page_of(ann))
    assert signed_out.status_code == 302 and signed_out["Location"].startswith("/accounts/login/")


def test_a_contact_seen_through_one_granted_ticket_shows_only_that_ticket_and_its_identity(
    agent_a: Any, account_b: Any
) -> None:
    bob = ContactFactory(display_name="Bob")
    granted = ticket_for(bob, account_b, external_id="bob-granted")
    other = ticket_for(bob, account_b, external_id="bob-other")
    assert client_for(agent_a).get(page_of(bob)).status_code == 404
    assign_perm("view_ticket", agent_a, granted)

    response = client_for(agent_a).get(page_of(bob))

    assert response.status_code == 200
    assert [ticket.pk for ticket in response.context["page"]] == [granted.pk]
    assert [identity.external_id for identity in response.context["identities"]] == ["bob-granted"]
    assert f"#{other.number}" not in response.content.decode()


def test_the_ticket_page_links_its_contact_to_the_contact_page(agent_a: Any, account_a: Any) -> None:
    ann = ContactFactory(display_name="Ann")
    ticket = ticket_for(ann, account_a)
    response = client_for(agent_a).get(f"/tickets/{ticket.number}/")
    assert f'<a href="/contacts/{ann.pk}/" id="ticket-contact">Ann</a>' in response.content.decode()


# Finding the contact to merge in


def test_search_finds_other_visible_contacts_by_name_platform_id_or_profile_name(
    agent_a: Any, account_a: Any, account_b: Any
) -> None:
    ann = ContactFactory(display_name="Ann Lee")
    ticket_for(ann, account_a, external_id="ann-1")
    by_name = ContactFactory(display_name="ann lee (WhatsApp)")
    ticket_for(by_name, account_a, external_id="+15550001")
    by_id = ContactFactory(display_name="")
    ticket_for(by_id, account_a, external_id="ANN-telegram-77")
    by_profile = ContactFactory(display_name="A. L.")
    profiled = ticket_for(by_profile, account_a, external_id="998")
    profiled.identity.display_name = "Annie"
    profiled.identity.save()
    elsewhere = ContactFactory(display_name="Ann Elsewhere")
    ticket_for(elsewhere, account_b)
    # A contact the agent sees, matching only through an identity on another team's account: not found.
    hidden_identity = ContactFactory(display_name="Zed")
    ticket_for(hidden_identity, account_a, external_id="zed-1")
    ContactIdentityFactory(contact=hidden_identity, channel_account=account_b, external_id="ann-on-brand-b")
    ContactFactory(display_name="Nobody")
    client = client_for(agent_a)

    response = client.get(page_of(ann), {"q": "ann"})

    assert response.status_code == 200
    assert {candidate.pk for candidate in response.context["candidates"]} == {by_name.pk, by_id.pk, by_profile.pk}
    html = response.content.decode()
    assert f'<button type="submit" name="other" value="{by_name.pk}">' in html
    assert "+15550001 via Generic API" in html  # each candidate with its identities, to tell namesakes apart
    assert client.get(page_of(ann), {"q": "998"}).context["candidates"] == [by_profile]
    none = client.get(page_of(ann), {"q": "nothing like it"})
    assert none.context["candidates"] == [] and "No other contact you can see matches" in none.content.decode()
    assert client.get(page_of(ann)).context["candidates"] == []  # no search, no list


def test_search_lists_at_most_twenty_contacts(agent_a: Any, account_a: Any) -> None:
    ann = ContactFactory(display_name="Ann")
    ticket_for(ann, account_a)
    for i in range(22):
        ticket_for(ContactFactory(display_name=f"Customer {i:02}"), account_a)
    client = client_for(agent_a)

    response = client.get(page_of(ann), {"q": "customer"})

    assert len(response.context["candidates"]) == 20
    assert "Only the first 20 are shown" in response.content.decode()
    assert "Only the first" not in client.get(page_of(ann), {"q": "customer 1"}).content.decode()


def test_the_confirmation_says_what_will_move_and_posts_to_the_merge_url(agent_a: Any, account_a: Any) -> None:
    ann, other = ContactFactory(display_name="Ann"), ContactFactory(display_name="Ann (SMS)")
    ticket_for(ann, account_a)
    for _ in range(2):
        ticket_for(other, account_a)
    ContactIdentityFactory(contact=other, channel_account=account_a)  # an identity without a ticket moves too

    response = client_for(agent_a).get(page_of(ann), {"other": other.pk})

    assert response.status_code == 200
    html = response.content.decode()
    assert "Merge Ann (SMS) into Ann?" in html
    assert "<li>2 tickets</li>" in html and "<li>3 identities</li>" in html
    assert f'<form method="post" action="/contacts/{ann.pk}/merge/"' in html
    assert f'<input type="hidden" name="other" value="{other.pk}">' in html
    assert 'name="csrfmiddlewaretoken"' in html
    assert Contact.objects.filter(pk=other.pk).exists(), "confirming is only a question"


# Merging


def test_merging_moves_identities_and_tickets_and_records_the_merge_on_each_ticket(
    agent_a: Any, account_a: Any, team_a: Any
) -> None:
    ann, other = ContactFactory(display_name="Ann"), ContactFactory(display_name="Ann (Telegram)")
    kept_ticket = ticket_for(ann, account_a)
    telegram = ChannelAccountFactory(team=team_a, kind="telegram")
    moved = [ticket_for(other, telegram, external_id="42"), ticket_for(other, account_a, status=Status.CLOSED)]
    other_id = other.pk
    client = client_for(agent_a, enforce_csrf_checks=True)
    confirm = client.get(page_of(ann), {"other": other.pk}).content.decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', confirm)
    assert token is not None
    # Without the form's CSRF token, nothing happens.
    assert client.post(merge_url(ann), {"other": other.pk}).status_code == 403
    assert Contact.objects.filter(pk=other_id).exists()

    response = client.post(merge_url(ann), {"other": other.pk, "csrfmiddlewaretoken": token.group(1)}, follow=True)

    assert response.redirect_chain == [(page_of(ann), 302)]
    assert "Merged Ann (Telegram) into Ann: 2 tickets and 2 identities moved." in response.content.decode()
    assert not Contact.objects.filter(pk=other_id).exists()
    assert ContactIdentity.objects.filter(contact=ann).count() == 3
    assert set(Ticket.objects.filter(contact=ann)) == {kept_ticket, *moved}
    for ticket in moved:
        event = TicketEvent.objects.get(ticket=ticket, kind=EventKind.CONTACT_MERGED)
        assert event.actor == agent_a and event.data == {"merged": other_id, "into": ann.pk, "name": "Ann"}
    assert not TicketEvent.objects.filter(ticket=kept_ticket, kind=EventKind.CONTACT_MERGED).exists()
    # The page now lists every ticket of the one person.
    assert {ticket.pk for ticket in response.context["page"]} == {kept_ticket.pk, *(t.pk for t in moved)}


@pytest.mark.parametrize("whose", ["other", "kept"])
def test_merging_is_refused_when_a_ticket_of_either_contact_is_hidden_from_the_agent(
    agent_a: Any, account_a: Any, account_b: Any, whose: str
) -> None:
    ann, other = ContactFactory(display_name="Ann"), ContactFactory(display_name="Ann 2")
    ticket_for(ann, account_a)
    ticket_for(other, account_a)
    ticket_for(other if whose == "other" else ann, account_b)  # in a team agent_a does not see
    client = client_for(agent_a)

    confirm = client.get(page_of(ann), {"other": other.pk})
    merge = client.post(merge_url(ann), {"other": other.pk})

    for response in (confirm, merge):
        assert response.status_code == 403
        assert "Some of these contacts&#x27; tickets are hidden from you" in response.content.decode()
    assert 'action="/contacts/' not in confirm.content.decode(), "no merge button on a refusal"
    assert Contact.objects.filter(pk=other.pk).exists()
    assert not TicketEvent.objects.filter(kind=EventKind.CONTACT_MERGED).exists()


def test_merging_with_a_contact_the_agent_cannot_see_is_not_found(
    agent_a: Any, agent_b: Any, account_a: Any, account_b: Any
) -> None:
    ann, stranger = ContactFactory(display_name="Ann"), ContactFactory(display_name="Stranger")
    ticket_for(ann, account_a)
    ticket_for(stranger, account_b)
    client = client_for(agent_a)
    assert client.get(page_of(ann), {"other": stranger.pk}).status_code == 404
    assert client.post(merge_url(ann), {"other": stranger.pk}).status_code == 404
    assert client.post(merge_url(ann), {"other": stranger.pk + 1000}).status_code == 404
    # Nor can the stranger's agent merge Ann in from the other side.
    assert client_for(agent_b).post(merge_url(stranger), {"other": ann.pk}).status_code == 404
    assert client_for(agent_b).post(merge_url(ann), {"other": stranger.pk}).status_code == 404
    assert Contact.objects.filter(pk__in=[ann.pk, stranger.pk]).count() == 2


def test_merging_a_contact_into_itself_is_a_bad_request(agent_a: Any, account_a: Any) -> None:
    ann = ContactFactory(display_name="Ann")
    ticket = ticket_for(ann, account_a)
    client = client_for(agent_a)
    for response in (client.get(page_of(ann), {"other": ann.pk}), client.post(merge_url(ann), {"other": ann.pk})):
        assert response.status_code == 400
        assert "A contact cannot be merged into itself" in response.content.decode()
    assert Contact.objects.filter(pk=ann.pk).exists() and not ticket.events.exists()


def test_the_merge_url_takes_only_a_post_naming_a_contact(agent_a: Any, account_a: Any) -> None:
    ann = ContactFactory(display_name="Ann")
    ticket_for(ann, account_a)
    client = client_for(agent_a)
    assert client.get(merge_url(ann), {"other": ann.pk}).status_code == 405
    assert client.post(merge_url(ann), {}).status_code == 400
    assert client.post(merge_url(ann), {"other": "Ann"}).status_code == 400
    assert client.get(page_of(ann), {"other": ""}).status_code == 400


# Query counts (STYLE.md rule 5)


def queries_for(client: Client, url: str, data: dict[str, Any] | None = None) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url, data)
    assert response.status_code == 200
    return len(captured)


def test_the_contact_page_queries_do_not_grow_with_tickets_or_identities(
    agent_a: Any, account_a: Any, team_a: Any
) -> None:
    ann = ContactFactory(display_name="Ann")
    telegram = ChannelAccountFactory(team=team_a, kind="telegram")
    for account in (account_a, telegram):
        ticket_for(ann, account)
    client = client_for(agent_a)
    few = queries_for(client, page_of(ann))
    for i in range(60):
        ticket_for(ann, telegram if i % 2 else account_a)
    many = queries_for(client, page_of(ann))
    # session, user, unread notifications, teams, the contact, teams, ticket count, the page of tickets,
    # teams twice (which identities are shown), the identities with their accounts
    assert few == many == 11


def test_the_search_queries_do_not_grow_with_candidates_or_their_identities(agent_a: Any, account_a: Any) -> None:
    ann = ContactFactory(display_name="Ann")
    ticket_for(ann, account_a)

    def add_candidates(count: int) -> None:
        for _ in range(count):
            candidate = ContactFactory(display_name="Customer")
            ticket_for(candidate, account_a)
            ticket_for(candidate, account_a)

    add_candidates(2)
    client = client_for(agent_a)
    few = queries_for(client, page_of(ann), {"q": "customer"})
    add_candidates(30)
    many = queries_for(client, page_of(ann), {"q": "customer"})
    # the page's 11, plus: teams twice (which identities are shown), teams, the candidates, their identities
    assert few == many == 16
