"""The inbox through HTTP: its views, filters, sort orders and pages, within what the agent may see."""

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone
from guardian.shortcuts import assign_perm

from tests.factories import UserFactory
from tests.tickets.inbox_data import add_clock, client_for, make_ticket, numbers, shown
from tickets.models import Priority, Status

pytestmark = pytest.mark.django_db


@pytest.fixture
def now() -> Any:
    return timezone.now()


def test_the_views_mine_unassigned_my_teams_and_all(agent_a: Any, team_a: Any, team_b: Any) -> None:
    colleague = UserFactory(teams=[team_a])
    mine = make_ticket(team_a, assignee=agent_a)
    theirs = make_ticket(team_a, assignee=colleague)
    nobodys = make_ticket(team_a)
    # Another team's ticket, granted to agent A alone: in "all I may see", not in "my teams".
    granted = make_ticket(team_b)
    assign_perm("view_ticket", agent_a, granted)
    make_ticket(team_b)  # never shown to A

    client = client_for(agent_a)
    assert shown(client, "/inbox/?view=mine") == numbers(mine)
    assert shown(client, "/inbox/?view=unassigned") == numbers(granted, nobodys)
    assert shown(client, "/inbox/?view=teams") == numbers(nobodys, theirs, mine)
    assert shown(client, "/inbox/?view=all") == numbers(granted, nobodys, theirs, mine)
    assert shown(client, "/inbox/") == shown(client, "/inbox/?view=all")


def test_the_view_tabs_mark_the_current_one_and_keep_the_filters(agent_a: Any, team_a: Any) -> None:
    html = client_for(agent_a).get("/inbox/?view=mine&status=open").content.decode()
    assert '<a href="/inbox/?view=mine&amp;status=open" aria-current="page">Mine</a>' in html
    assert '<a href="/inbox/?status=open">All I may see</a>' in html
    assert '<a href="/inbox/?view=breaching&amp;status=open">Breaching soon</a>' in html


def test_breaching_soon_is_breached_or_due_within_the_hour(agent_a: Any, team_a: Any, now: Any) -> None:
    due_soon = make_ticket(team_a)
    add_clock(due_soon, now=now, due_in=timedelta(minutes=30))
    overdue = make_ticket(team_a)  # past due, the tick has not recorded it yet
    add_clock(overdue, now=now, due_in=timedelta(minutes=-5))
    recorded = make_ticket(team_a)  # breached and then paused (awaiting the customer)
    add_clock(recorded, now=now, paused=True, breached=True)
    later = make_ticket(team_a)
    add_clock(later, now=now, due_in=timedelta(hours=3))
    paused = make_ticket(team_a)
    add_clock(paused, now=now, paused=True)
    met = make_ticket(team_a)
    add_clock(met, now=now, stopped=True, breached=True)  # breached once, but its clock has stopped
    make_ticket(team_a)  # no clock at all

    assert shown(client_for(agent_a), "/inbox/?view=breaching") == numbers(recorded, overdue, due_soon)


def test_each_sla_state_filter(agent_a: Any, team_a: Any, now: Any) -> None:
    breached = make_ticket(team_a)
    add_clock(breached, now=now, due_in=timedelta(minutes=-1))
    add_clock(breached, now=now, due_in=timedelta(minutes=20), kind="resolution")
    soon = make_ticket(team_a)
    add_clock(soon, now=now, due_in=timedelta(minutes=59))
    add_clock(soon, now=now, due_in=timedelta(hours=5), kind="resolution")
    on_track = make_ticket(team_a)
    add_clock(on_track, now=now, due_in=timedelta(hours=2))
    paused = make_ticket(team_a)
    add_clock(paused, now=now, paused=True)
    stopped = make_ticket(team_a)
    add_clock(stopped, now=now, stopped=True)
    bare = make_ticket(team_a)

    client = client_for(agent_a)
    assert shown(client, "/inbox/?sla=breached") == numbers(breached)
    assert shown(client, "/inbox/?sla=due_soon") == numbers(soon)
    assert shown(client, "/inbox/?sla=on_track") == numbers(paused, on_track)
    assert shown(client, "/inbox/?sla=none") == numbers(bare, stopped)


@pytest.mark.parametrize(
    ("param", "value", "wanted"),
    [
        ("status", "pending", "pending"),
        ("priority", "4", "urgent"),
        ("channel", "whatsapp", "whatsapp"),
        ("team", "<team>", "other team"),
        ("assignee", "me", "mine"),
        ("assignee", "none", "nobody's"),
        ("assignee", "<colleague>", "colleague's"),
        ("tag", "vip", "vip"),
    ],
)
def test_each_filter_narrows_the_view(
    agent_a: Any, team_a: Any, team_b: Any, param: str, value: str, wanted: str
) -> None:
    colleague = UserFactory(teams=[team_a])
    assign_perm("view_team", agent_a, team_b)
    common = {"assignee": colleague, "status": Status.OPEN}
    tickets = {
        "pending": make_ticket(team_a, **{**common, "status": Status.PENDING}),
        "urgent": make_ticket(team_a, priority=Priority.URGENT, **common),
        "whatsapp": make_ticket(team_a, kind="whatsapp", **common),
        "other team": make_ticket(team_b, **common),
        "mine": make_ticket(team_a, **{**common, "assignee": agent_a}),
        "nobody's": make_ticket(team_a, **{**common, "assignee": None}),
        "vip": make_ticket(team_a, tags=("vip", "billing"), **common),
        "billing": make_ticket(team_a, tags=("billing",), **common),
    }
    value = value.replace("<team>", str(team_b.pk)).replace("<colleague>", str(colleague.pk))
    client = client_for(agent_a)

    found = shown(client, f"/inbox/?{param}={value}")

    if wanted == "colleague's":  # every ticket but the two with another assignee
        expected = [ticket for name, ticket in tickets.items() if name not in ("mine", "nobody's")]
    else:
        expected = [tickets[wanted]]
    assert sorted(found) == sorted(numbers(*expected))
    assert not client.get(f"/inbox/?{param}={value}").context["notices"]


def test_filters_combine_with_each_other_and_with_the_view(agent_a: Any, team_a: Any) -> None:
    hit = make_ticket(team_a, assignee=agent_a, priority=Priority.HIGH, tags=("vip",), text="refund please")
    make_ticket(team_a, assignee=agent_a, priority=Priority.HIGH, tags=("vip",), text="where is it", status="pending")
    make_ticket(team_a, assignee=None, priority=Priority.HIGH, tags=("vip",), text="refund please")
    make_ticket(team_a, assignee=agent_a, priority=Priority.LOW, tags=("vip",), text="refund please")

    url = "/inbox/?view=mine&status=open&priority=3&tag=vip&q=refund"
    assert shown(client_for(agent_a), url) == numbers(hit)


@pytest.mark.parametrize(
    "query",
    [
        "status=bogus",
        "priority=9",
        "priority=high",
        "channel=fax",
        "team=999999",
        "team=-1",
        "team=99999999999999999999999999",
        "assignee=someone",
        "assignee=0",
        "tag=no-such-tag",
        "sla=late",
        "sort=random",
        "view=everything",
        "after=not-a-cursor",
        "before=eyJ4Ijp0cnVlfQ",
        "after=WyJhY3Rpdml0eSIsIm5vdCBhIGRhdGUiLDFd",  # ["activity","not a date",1]
        "q=%20%21%21%21%20",
        "status=%00",
    ],
)
def test_a_value_the_page_cannot_use_is_ignored_with_a_notice(agent_a: Any, team_a: Any, query: str) -> None:
    ticket = make_ticket(team_a)
    response = client_for(agent_a).get(f"/inbox/?{query}")
    assert response.status_code == 200
    assert [row.ticket.number for row in response.context["rows"]] == [ticket.number]
    notices = response.context["notices"]
    assert len(notices) == 1
    assert 'id="inbox-notices" role="alert"' in response.content.decode()


def test_another_teams_id_or_user_is_not_a_choice(agent_a: Any, team_a: Any, team_b: Any, agent_b: Any) -> None:
    make_ticket(team_a)
    response = client_for(agent_a).get(f"/inbox/?team={team_b.pk}&assignee={agent_b.pk}")
    assert response.context["query"].team == "" and response.context["query"].assignee == ""
    assert len(response.context["notices"]) == 2
    assert "Team B" not in response.content.decode()


def test_a_url_with_empty_or_default_values_redirects_to_the_short_one(agent_a: Any, team_a: Any) -> None:
    client = client_for(agent_a)
    # What the filter form sends: every field, most of them empty.
    form = "/inbox/?view=all&q=refund&status=&priority=4&channel=&team=&assignee=&tag=&sla=&sort=activity"
    response = client.get(form)
    assert response.status_code == 302
    assert response["Location"] == "/inbox/?priority=4&q=refund"
    assert client.get(response["Location"]).status_code == 200
    assert client.get("/inbox/?q=late%20parcel")["Location"] == "/inbox/?q=late+parcel"
    assert client.get("/inbox/?view=mine&page=3")["Location"] == "/inbox/?view=mine"


def test_the_form_shows_labelled_filters_with_the_current_values(agent_a: Any, team_a: Any) -> None:
    make_ticket(team_a, tags=("vip",))
    html = client_for(agent_a).get("/inbox/?status=pending&tag=vip&q=late+parcel&sort=priority").content.decode()
    for name in ("status", "priority", "channel", "team", "assignee", "tag", "sla", "sort"):
        assert f'<label for="inbox-{name}">' in html
        assert f'<select id="inbox-{name}" name="{name}">' in html
    assert '<label for="inbox-q">' in html
    assert 'name="q" value="late parcel"' in html
    assert '<option value="pending" selected>Pending</option>' in html
    assert '<option value="vip" selected>vip</option>' in html
    assert '<option value="priority" selected>Priority</option>' in html
    assert "sorted by priority" in html


def test_sort_by_last_activity_priority_and_next_sla_due(agent_a: Any, team_a: Any, now: Any) -> None:
    low_old = make_ticket(team_a, priority=Priority.LOW)
    urgent_old = make_ticket(team_a, priority=Priority.URGENT)
    normal = make_ticket(team_a, priority=Priority.NORMAL)
    urgent_new = make_ticket(team_a, priority=Priority.URGENT)
    no_clock = make_ticket(team_a)
    add_clock(low_old, now=now, due_in=timedelta(hours=2))
    add_clock(low_old, now=now, due_in=timedelta(minutes=10), kind="resolution")  # its next due: 10 minutes
    add_clock(urgent_old, now=now, due_in=timedelta(minutes=-30))  # overdue: first
    add_clock(normal, now=now, due_in=timedelta(hours=1))
    add_clock(urgent_new, now=now, paused=True)  # no running clock: with those without one
    add_clock(no_clock, now=now, stopped=True)

    client = client_for(agent_a)
    assert shown(client, "/inbox/") == numbers(no_clock, urgent_new, normal, urgent_old, low_old)
    assert shown(client, "/inbox/?sort=activity") == shown(client, "/inbox/")
    assert shown(client, "/inbox/?sort=priority") == numbers(urgent_new, urgent_old, no_clock, normal, low_old)
    assert shown(client, "/inbox/?sort=sla") == numbers(urgent_old, low_old, normal, no_clock, urgent_new)


def test_a_view_with_nothing_in_it_says_so(agent_a: Any, team_a: Any) -> None:
    make_ticket(team_a)
    html = client_for(agent_a).get("/inbox/?view=mine&status=closed").content.decode()
    assert 'id="inbox-empty"' in html
    assert "No tickets in this view." in html
    assert '<a href="/inbox/?view=mine">Clear the filters and search</a>' in html


def test_an_agent_never_sees_another_teams_ticket_in_any_view_filter_or_search(
    agent_a: Any, team_a: Any, team_b: Any, now: Any
) -> None:
    theirs = make_ticket(team_b, contact="Secret Sam", text="refund secret", assignee=None, tags=("vip",))
    add_clock(theirs, now=now, due_in=timedelta(minutes=-5))
    ours = make_ticket(team_a, contact="Open Olga", text="refund please", tags=("vip",))
    add_clock(ours, now=now, due_in=timedelta(minutes=-5))
    client = client_for(agent_a)
    urls = [
        "/inbox/",
        "/inbox/?view=unassigned",
        "/inbox/?view=teams",
        "/inbox/?view=breaching",
        "/inbox/?sla=breached",
        "/inbox/?tag=vip",
        "/inbox/?q=refund",
        "/inbox/?q=secret",
        "/inbox/?q=sam",
        f"/inbox/?q={theirs.number}",
        "/inbox/?sort=sla",
        "/inbox/?sort=priority",
        f"/inbox/?team={team_b.pk}",
    ]
    for url in urls:
        response = client.get(url)
        assert theirs.number not in [row.ticket.number for row in response.context["rows"]], url
        assert "Secret Sam" not in response.content.decode(), url


def test_the_row_endpoint_answers_204_for_a_ticket_outside_the_view_and_404_for_a_hidden_one(
    agent_a: Any, team_a: Any, team_b: Any
) -> None:
    mine = make_ticket(team_a, assignee=agent_a, status=Status.OPEN)
    pending = make_ticket(team_a, assignee=agent_a, status=Status.PENDING)
    hidden = make_ticket(team_b, assignee=agent_a)
    client = client_for(agent_a)

    row = client.get(f"/inbox/rows/{mine.pk}/?view=mine&status=open")
    assert row.status_code == 200
    assert f'id="ticket-row-{mine.pk}"' in row.content.decode()
    assert client.get(f"/inbox/rows/{pending.pk}/?view=mine&status=open").status_code == 204
    assert client.get(f"/inbox/rows/{mine.pk}/?view=unassigned").status_code == 204
    assert client.get(f"/inbox/rows/{hidden.pk}/?view=mine").status_code == 404
    assert client.get(f"/inbox/rows/{hidden.pk}/").status_code == 404
    assert client.get(f"/inbox/rows/{mine.pk}/?status=bogus&sort=x").status_code == 200  # ignored, as on the page


def test_the_row_endpoint_follows_a_search_and_an_sla_view(agent_a: Any, team_a: Any, now: Any) -> None:
    hit = make_ticket(team_a, text="my refund is late")
    miss = make_ticket(team_a, text="hello")
    add_clock(hit, now=now, due_in=timedelta(minutes=10))
    client = client_for(agent_a)
    assert client.get(f"/inbox/rows/{hit.pk}/?q=refund&view=breaching&sort=sla").status_code == 200
    assert client.get(f"/inbox/rows/{miss.pk}/?q=refund").status_code == 204
    assert client.get(f"/inbox/rows/{miss.pk}/?view=breaching").status_code == 204


def test_the_page_gives_the_live_client_its_row_url_with_the_query(agent_a: Any, team_a: Any) -> None:
    make_ticket(team_a, tags=("vip",))
    html = client_for(agent_a).get("/inbox/?view=mine&status=bogus&tag=vip&q=late&after=xyz").content.decode()
    # The query as the page understood it: the bad status and the cursor are not part of it.
    assert 'data-row-url="/inbox/rows/0/?view=mine&amp;tag=vip&amp;q=late"' in html
    assert 'data-first-page="1"' in html
    assert 'data-sort="activity"' in html
    plain = client_for(agent_a).get("/inbox/").content.decode()
    assert 'data-row-url="/inbox/rows/0/"' in plain


def test_rows_carry_a_sort_key_that_orders_them_as_the_page_does(agent_a: Any, team_a: Any, now: Any) -> None:
    tickets = [make_ticket(team_a, priority=p) for p in (1, 4, 2, 4, 3)]
    for ticket, minutes in zip(tickets, (50, None, -3, 20, None), strict=True):
        if minutes is not None:
            add_clock(ticket, now=now, due_in=timedelta(minutes=minutes))
    client = client_for(agent_a)
    for sort in ("activity", "priority", "sla"):
        rows = client.get(f"/inbox/?sort={sort}", follow=True).context["rows"]
        keys = [row.sort_key for row in rows]
        assert keys == sorted(keys, reverse=True), sort
        assert len(set(keys)) == len(keys)
        single = client.get(f"/inbox/rows/{rows[2].ticket.pk}/?sort={sort}").content.decode()
        assert f'data-sort-key="{keys[2]}"' in single
