"""Searching the inbox: message texts and contact names, on SQLite (LIKE) and PostgreSQL (full-text search).

The tests without a mark run in both passes, so the same behaviour holds on both databases; the
production_stack test shows that PostgreSQL answers from the GIN index of migration 0009.
"""

from typing import Any

import pytest
from django.db import connection

from tests.factories import MessageFactory
from tests.tickets.inbox_data import client_for, make_ticket, numbers, shown
from tickets.models import Ticket
from tickets.selectors.inbox import search_condition

pytestmark = pytest.mark.django_db


def test_search_finds_a_word_in_any_message_of_a_ticket(agent_a: Any, team_a: Any) -> None:
    parcel = make_ticket(team_a, text="Hello")
    MessageFactory(ticket=parcel, text="My parcel never arrived")
    MessageFactory(ticket=parcel, direction="out", text="Sorry to hear that!", external_id=None)
    make_ticket(team_a, text="Question about invoices")

    client = client_for(agent_a)
    assert shown(client, "/inbox/?q=parcel") == numbers(parcel)
    assert shown(client, "/inbox/?q=sorry") == numbers(parcel)  # the agents' replies too
    assert shown(client, "/inbox/?q=PARCEL") == numbers(parcel)  # whatever the case


def test_a_word_matches_as_the_start_of_a_word(agent_a: Any, team_a: Any) -> None:
    refund = make_ticket(team_a, text="I want a refund for order 5521")
    make_ticket(team_a, text="Hello there")
    client = client_for(agent_a)
    assert shown(client, "/inbox/?q=refu") == numbers(refund)
    assert shown(client, "/inbox/?q=5521") == numbers(refund)


def test_search_finds_contact_names(agent_a: Any, team_a: Any) -> None:
    maria = make_ticket(team_a, contact="María López", text="Hi")
    make_ticket(team_a, contact="Ken Sato", text="Hi")
    client = client_for(agent_a)
    assert shown(client, "/inbox/?q=l%C3%B3pez") == numbers(maria)
    assert shown(client, "/inbox/?q=Mar") == numbers(maria)


def test_every_word_must_match_the_ticket_in_a_message_or_the_name(agent_a: Any, team_a: Any) -> None:
    both = make_ticket(team_a, contact="Ann Lee", text="Where is my parcel?")
    make_ticket(team_a, contact="Ann Other", text="Invoice please")
    make_ticket(team_a, contact="Bob Lee", text="parcel lost")
    assert shown(client_for(agent_a), "/inbox/?q=ann+parcel") == numbers(both)


def test_a_ticket_number_finds_the_ticket(agent_a: Any, team_a: Any) -> None:
    wanted = make_ticket(team_a, text="Hello")
    make_ticket(team_a, text="Hello")
    client = client_for(agent_a)
    assert shown(client, f"/inbox/?q={wanted.number}") == numbers(wanted)
    assert shown(client, f"/inbox/?q=%23{wanted.number}") == numbers(wanted)


def test_a_ticket_with_many_matching_messages_is_listed_once(agent_a: Any, team_a: Any) -> None:
    ticket = make_ticket(team_a, contact="Refund Rita", text="refund")
    for _ in range(5):
        MessageFactory(ticket=ticket, text="refund refund")
    assert shown(client_for(agent_a), "/inbox/?q=refund") == numbers(ticket)


def test_characters_with_a_meaning_in_search_syntax_are_plain_text(agent_a: Any, team_a: Any) -> None:
    ticket = make_ticket(team_a, text="order 42 isn't here & it's late")
    client = client_for(agent_a)
    for query in ("isn't", "late:*", "order & (42 | x)", "'here'", "it%27s%20!late", "%5C", "100%25"):
        response = client.get(f"/inbox/?q={query}", follow=True)
        assert response.status_code == 200, query
    assert shown(client, "/inbox/?q=isn%27t+here") == numbers(ticket)
    assert shown(client, "/inbox/?q=%27here%27") == numbers(ticket)


def test_search_reads_ticket_ids_by_subquery_not_by_joining_messages(agent_a: Any, team_a: Any) -> None:
    make_ticket(team_a, text="refund")
    sql = str(Ticket.objects.filter(search_condition("refund late")).query)
    # Each word is a subquery: the tickets table is never joined to the messages (which would repeat rows).
    assert "JOIN" not in sql.upper()
    assert sql.upper().count("SELECT") == 5  # the tickets; per word, its messages and its contacts


@pytest.mark.production_stack
def test_postgresql_answers_a_search_from_the_gin_indexes(agent_a: Any, team_a: Any) -> None:
    wanted = make_ticket(team_a, contact="Zelda Quist", text="The zipper on my jacket broke")
    make_ticket(team_a, text="Unrelated")
    assert connection.vendor == "postgresql"
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexname FROM pg_indexes WHERE indexname IN ('message_text_search', 'contact_name_search')"
        )
        assert sorted(row[0] for row in cursor.fetchall()) == ["contact_name_search", "message_text_search"]
        # A test database is tiny: a sequential scan would always win. Without it, the planner must find an
        # index that answers the search expression exactly as the selector writes it.
        cursor.execute("SET LOCAL enable_seqscan = off")
        matching = Ticket.objects.filter(search_condition("zip quist"))
        plan = matching.explain()
    assert "message_text_search" in plan
    assert "contact_name_search" in plan
    assert list(matching.values_list("number", flat=True)) == [wanted.number]
    assert shown(client_for(agent_a), "/inbox/?q=zipp+jack") == numbers(wanted)
