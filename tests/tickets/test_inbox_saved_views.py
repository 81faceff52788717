"""Saved inbox views: an agent names the current query to open it again, and lists and deletes their own."""

from typing import Any

import pytest
from django.test import Client

from tests.factories import UserFactory
from tests.tickets.inbox_data import client_for, make_ticket, numbers, shown
from tickets.models import Priority, SavedView
from tickets.services.saved_views import SAVED_VIEWS_PER_USER

pytestmark = pytest.mark.django_db


def flashes(response: Any) -> list[str]:
    return [str(message) for message in response.context["messages"]]


def test_an_agent_saves_the_current_view_and_opens_it_again(agent_a: Any, team_a: Any) -> None:
    urgent = make_ticket(team_a, assignee=agent_a, priority=Priority.URGENT, text="refund now")
    make_ticket(team_a, assignee=agent_a, priority=Priority.LOW, text="refund later")
    client = client_for(agent_a)
    page = client.get("/inbox/?view=mine&priority=4&q=refund&bogus=1&after=xyz")
    # The form posts the page's own query, as it understood it (no cursor, nothing it ignored).
    assert 'name="query" value="view=mine&amp;priority=4&amp;q=refund"' in page.content.decode()

    saved = client.post("/inbox/views/", {"name": "  My urgent   refunds ", "query": "view=mine&priority=4&q=refund"})
    assert saved.status_code == 302
    assert saved["Location"] == "/inbox/?view=mine&priority=4&q=refund"
    view = SavedView.objects.get(user=agent_a)
    assert (view.name, view.query) == ("My urgent refunds", "view=mine&priority=4&q=refund")

    landed = client.get(saved["Location"])
    assert flashes(landed) == ["Saved the view “My urgent refunds”."]
    html = landed.content.decode()
    assert f'<a href="/inbox/views/{view.pk}/" aria-current="page">My urgent refunds</a>' in html
    assert 'aria-label="Delete the saved view My urgent refunds"' in html

    # From anywhere else, the list links to it; opening it shows the view.
    html = client.get("/inbox/").content.decode()
    assert f'<a href="/inbox/views/{view.pk}/">My urgent refunds</a>' in html
    opened = client.get(f"/inbox/views/{view.pk}/")
    assert opened.status_code == 302 and opened["Location"] == "/inbox/?view=mine&priority=4&q=refund"
    assert shown(client, opened["Location"]) == numbers(urgent)


def test_saving_under_a_name_already_used_replaces_that_views_query(agent_a: Any, team_a: Any) -> None:
    client = client_for(agent_a)
    client.post("/inbox/views/", {"name": "Mine", "query": "view=mine"}, follow=True)
    response = client.post("/inbox/views/", {"name": "Mine", "query": "view=mine&status=open"}, follow=True)
    assert flashes(response) == ["Updated the view “Mine”."]
    assert list(SavedView.objects.values_list("name", "query")) == [("Mine", "view=mine&status=open")]


def test_a_saved_query_is_cleaned_as_the_page_cleans_it(agent_a: Any, team_a: Any) -> None:
    client = client_for(agent_a)
    client.post("/inbox/views/", {"name": "Odd", "query": "status=nope&priority=3&after=abc&evil=<script>"})
    assert SavedView.objects.get(name="Odd").query == "priority=3"


@pytest.mark.parametrize(
    ("name", "reason"),
    [("", "Give the view a name."), ("   ", "Give the view a name."), ("x" * 81, "at most 80 characters")],
)
def test_a_view_without_a_usable_name_is_not_saved_and_the_page_says_why(
    agent_a: Any, team_a: Any, name: str, reason: str
) -> None:
    response = client_for(agent_a).post("/inbox/views/", {"name": name, "query": "view=mine"}, follow=True)
    assert response.status_code == 200
    assert response.redirect_chain == [("/inbox/?view=mine", 302)]
    [flash] = flashes(response)
    assert flash.startswith("The view was not saved:") and reason in flash
    assert not SavedView.objects.exists()


def test_an_agent_has_a_bounded_number_of_saved_views(agent_a: Any, team_a: Any) -> None:
    SavedView.objects.bulk_create(SavedView(user=agent_a, name=f"v{i}", query="") for i in range(SAVED_VIEWS_PER_USER))
    response = client_for(agent_a).post("/inbox/views/", {"name": "one more", "query": ""}, follow=True)
    assert "delete one first" in flashes(response)[0]
    assert SavedView.objects.count() == SAVED_VIEWS_PER_USER


def test_an_agent_deletes_their_own_view_and_stays_on_the_page(agent_a: Any, team_a: Any) -> None:
    view = SavedView.objects.create(user=agent_a, name="Breaching", query="view=breaching")
    client = client_for(agent_a)
    response = client.post(f"/inbox/views/{view.pk}/delete/", {"query": "status=open"}, follow=True)
    assert response.redirect_chain == [("/inbox/?status=open", 302)]
    assert flashes(response) == ["Deleted the view “Breaching”."]
    assert not SavedView.objects.exists()
    assert "None yet" in response.content.decode()


def test_another_users_saved_view_is_not_found(agent_a: Any, team_a: Any) -> None:
    colleague = UserFactory(teams=[team_a])
    theirs = SavedView.objects.create(user=colleague, name="Colleague's secret view", query="view=mine")
    client = client_for(agent_a)
    assert client.get(f"/inbox/views/{theirs.pk}/").status_code == 404
    assert client.post(f"/inbox/views/{theirs.pk}/delete/").status_code == 404
    assert SavedView.objects.filter(pk=theirs.pk).exists()
    assert "Colleague&#x27;s secret view" not in client.get("/inbox/").content.decode()
    # Saving under the same name makes the agent's own view; the colleague's is untouched.
    client.post("/inbox/views/", {"name": "Colleague's secret view", "query": "view=unassigned"})
    assert SavedView.objects.get(pk=theirs.pk).query == "view=mine"
    assert SavedView.objects.filter(user=agent_a).count() == 1


def test_saved_views_need_a_signed_in_user_a_post_and_the_csrf_token(agent_a: Any, team_a: Any) -> None:
    view = SavedView.objects.create(user=agent_a, name="Mine", query="view=mine")
    anonymous = Client()
    for url in ("/inbox/views/", f"/inbox/views/{view.pk}/delete/"):
        assert anonymous.post(url, {"name": "x"})["Location"].startswith("/accounts/login/")
    client = client_for(agent_a)
    assert client.get("/inbox/views/").status_code == 405
    assert client.get(f"/inbox/views/{view.pk}/delete/").status_code == 405

    strict = Client(enforce_csrf_checks=True)
    strict.force_login(agent_a)
    assert strict.post("/inbox/views/", {"name": "Sneaky", "query": ""}).status_code == 403
    assert strict.post(f"/inbox/views/{view.pk}/delete/").status_code == 403
    assert list(SavedView.objects.values_list("name", flat=True)) == ["Mine"]
    # With the token the page's form carries, it works.
    page = strict.get("/inbox/")
    token = page.context["csrf_token"]
    assert strict.post("/inbox/views/", {"name": "Fine", "query": "", "csrfmiddlewaretoken": token}).status_code == 302
    assert SavedView.objects.filter(name="Fine").exists()
