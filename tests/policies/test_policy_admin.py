"""SLA policies in the admin, through the test client: targets, validation, the due-time preview, who may edit
which policy, and the background recompute of the open tickets a saved policy governs."""

from collections.abc import Iterable
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import Permission
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from guardian.shortcuts import assign_perm

from policies.models import BusinessCalendar, SlaClock, SlaPolicy, TicketSla
from tests.factories import UserFactory
from tests.policies.policy_helpers import FIRST, HIGH, NORMAL, RESOLUTION, make_policy, page_text, preview_url
from tests.support import admin_change_data, wait_until, webhook_ticket
from tickets.models import EventKind, Priority, Tag, Ticket, TicketEvent

pytestmark = pytest.mark.django_db

ADD_URL = "/admin/policies/slapolicy/add/"
LIST_URL = "/admin/policies/slapolicy/"


def change_url(policy: SlaPolicy) -> str:
    return f"/admin/policies/slapolicy/{policy.pk}/change/"


def policy_post(
    *,
    name: str = "Gold",
    position: int = 10,
    calendar: BusinessCalendar | None = None,
    channel_kinds: Iterable[str] = (),
    priorities: Iterable[int] = (),
    teams: Iterable[Any] = (),
    tags: Iterable[Tag] = (),
    targets: Iterable[tuple[int, str, str]] = ((HIGH, FIRST, "4h"),),
) -> dict[str, Any]:
    """The POST data of the add page: the policy and its target rows (priority, kind, duration text)."""
    rows = list(targets)
    data: dict[str, Any] = {
        "name": name,
        "position": str(position),
        "enabled": "on",
        "calendar": str(calendar.pk) if calendar else "",
        "channel_kinds": list(channel_kinds),
        "priorities": [str(value) for value in priorities],
        "teams": [str(team.pk) for team in teams],
        "tags": [str(tag.pk) for tag in tags],
        "targets-TOTAL_FORMS": str(len(rows)),
        "targets-INITIAL_FORMS": "0",
        "targets-MIN_NUM_FORMS": "0",
        "targets-MAX_NUM_FORMS": "1000",
    }
    for index, (priority, kind, duration) in enumerate(rows):
        data.update(
            {
                f"targets-{index}-priority": str(priority),
                f"targets-{index}-kind": kind,
                f"targets-{index}-duration": duration,
            }
        )
    return {key: value for key, value in data.items() if value != []}


def target_rows(data: dict[str, Any]) -> list[str]:
    """The row prefixes of the targets inline in `data` ("targets-0", ...)."""
    return [f"targets-{index}" for index in range(int(data["targets-TOTAL_FORMS"]))]


# Saving a policy.


def test_a_policy_saved_in_the_admin_keeps_its_conditions_and_targets(
    admin_client: Client, office: BusinessCalendar, team_a: Any
) -> None:
    vip = Tag.objects.create(name="vip")
    data = policy_post(
        calendar=office,
        channel_kinds=["api", "whatsapp"],
        priorities=[HIGH, Priority.URGENT],
        teams=[team_a],
        tags=[vip],
        targets=[(HIGH, FIRST, "1h 30m"), (HIGH, RESOLUTION, "2d 4h"), (Priority.URGENT, FIRST, "90m")],
    )
    response = admin_client.post(ADD_URL, data, follow=True)
    assert response.redirect_chain, page_text(response)
    policy = SlaPolicy.objects.get()
    assert (policy.name, policy.position, policy.enabled, policy.calendar) == ("Gold", 10, True, office)
    assert policy.channel_kinds == ["api", "whatsapp"]
    assert policy.priorities == [HIGH, Priority.URGENT]  # stored as ints, as matching compares them
    assert list(policy.teams.all()) == [team_a] and list(policy.tags.all()) == [vip]
    assert sorted(policy.targets.values_list("priority", "kind", "duration")) == [
        (HIGH, FIRST, timedelta(hours=1, minutes=30)),
        (HIGH, RESOLUTION, timedelta(days=2, hours=4)),
        (Priority.URGENT, FIRST, timedelta(minutes=90)),
    ]
    assert "No open ticket is governed by the SLA policy “Gold”; no SLA clock changes." in page_text(response)


def test_the_change_page_shows_durations_as_text_and_links_the_preview(admin_client: Client) -> None:
    policy = make_policy(targets=[(HIGH, FIRST, timedelta(hours=1, minutes=30)), (HIGH, RESOLUTION, timedelta(days=2))])
    page = admin_client.get(change_url(policy))
    text = page_text(page)
    assert 'value="1h 30m"' in text and 'value="2d"' in text
    assert preview_url(policy) in text


def test_the_list_shows_order_calendar_conditions_and_targets_in_few_queries(
    admin_client: Client, office: BusinessCalendar, team_a: Any
) -> None:
    make_policy("Gold", position=5, calendar=office, teams=[team_a], priorities=[HIGH], channel_kinds=["whatsapp"])
    make_policy("Catch-all", position=900, targets=[(NORMAL, FIRST, timedelta(hours=8))])
    with CaptureQueriesContext(connection) as few:
        listing = page_text(admin_client.get(LIST_URL))
    assert listing.index("Gold") < listing.index("Catch-all")
    assert "Office (Europe/London)" in listing and "calendar time" in listing
    assert "Channel: WhatsApp · Priority: High · Team: Team A" in listing and "every ticket" in listing
    for number in range(6):
        make_policy(f"Extra {number}", position=100 + number, teams=[team_a], calendar=office)
    with CaptureQueriesContext(connection) as many:
        admin_client.get(LIST_URL)
    assert len(many) == len(few)


# Validation: every refusal is a message on the form, never a server error.


@pytest.mark.parametrize(
    ("targets", "message"),
    [
        ([(HIGH, FIRST, "-1h")], "A target must be longer than zero: “-1h” is negative."),
        ([(HIGH, FIRST, "0m")], "A target must be longer than zero: “0m” is no time at all."),
        ([(HIGH, FIRST, "soon")], "“soon” is not a duration: write it like 4h, 1h 30m, 2d 4h, 90m or 01:30."),
        ([(HIGH, FIRST, "99999999999d")], "is far too long for a target"),
        ([(HIGH, FIRST, "9000d")], "is longer than the 20 years over which business time is counted"),
        ([(HIGH, FIRST, "")], "This field is required."),
        (
            [(HIGH, FIRST, "4h"), (HIGH, FIRST, "2h")],
            "Two rows set the High · First response target: keep one of them.",
        ),
        ([], "Add at least one target (a priority, a kind and a duration): a policy without targets starts no clock."),
    ],
)
def test_the_admin_refuses_impossible_targets_with_a_clear_message(
    admin_client: Client, targets: list[tuple[int, str, str]], message: str
) -> None:
    response = admin_client.post(ADD_URL, policy_post(targets=targets))
    assert response.status_code == 200
    assert message in page_text(response)
    assert not SlaPolicy.objects.exists()


def test_a_duplicate_of_a_saved_target_is_refused(admin_client: Client) -> None:
    policy = make_policy(targets=[(HIGH, FIRST, timedelta(hours=4))])
    data = admin_change_data(admin_client.get(change_url(policy)))
    extra = target_rows(data)[-1]
    data.update({f"{extra}-priority": str(HIGH), f"{extra}-kind": FIRST, f"{extra}-duration": "2h"})
    response = admin_client.post(change_url(policy), data)
    assert response.status_code == 200
    assert "Two rows set the High · First response target: keep one of them." in page_text(response)
    # Deleting the saved row and adding its replacement in one save works: deletions are saved first.
    data[f"{target_rows(data)[0]}-DELETE"] = "on"
    assert admin_client.post(change_url(policy), data).status_code == 302
    assert list(policy.targets.values_list("kind", "duration")) == [(FIRST, timedelta(hours=2))]


def test_swapping_two_saved_targets_in_one_save_is_refused_not_a_server_error(admin_client: Client) -> None:
    policy = make_policy(targets=[(HIGH, FIRST, timedelta(hours=4)), (HIGH, RESOLUTION, timedelta(days=1))])
    data = admin_change_data(admin_client.get(change_url(policy)))
    rows = {data[f"{row}-kind"]: row for row in target_rows(data)[:2]}
    data[f"{rows[FIRST]}-kind"], data[f"{rows[RESOLUTION]}-kind"] = RESOLUTION, FIRST
    response = admin_client.post(change_url(policy), data)
    assert response.status_code == 200
    assert "The High · Resolution target is still held by another saved row" in page_text(response)
    # Moving a row onto one deleted in the same save is refused the same way (the rows are saved one by one).
    data[f"{rows[FIRST]}-kind"], data[f"{rows[RESOLUTION]}-kind"] = RESOLUTION, RESOLUTION
    data[f"{rows[RESOLUTION]}-DELETE"] = "on"
    response = admin_client.post(change_url(policy), data)
    assert response.status_code == 200
    assert "The High · Resolution target is still held by another saved row" in page_text(response)
    assert sorted(policy.targets.values_list("kind", "duration")) == [
        (FIRST, timedelta(hours=4)),
        (RESOLUTION, timedelta(days=1)),
    ]


def test_deleting_every_target_is_refused(admin_client: Client) -> None:
    policy = make_policy(targets=[(HIGH, FIRST, timedelta(hours=4)), (HIGH, RESOLUTION, timedelta(days=1))])
    data = admin_change_data(admin_client.get(change_url(policy)))
    for row in target_rows(data)[:2]:
        data[f"{row}-DELETE"] = "on"
    response = admin_client.post(change_url(policy), data)
    assert response.status_code == 200
    assert "Add at least one target" in page_text(response)
    assert policy.targets.count() == 2


# Who may edit which policy.

LEAD_PERMISSIONS = [
    f"{action}_{model}" for model in ("slapolicy", "slatarget") for action in ("view", "add", "change", "delete")
]


@pytest.fixture
def lead(team_a: Any) -> Any:
    user = UserFactory(username="lead", is_staff=True)
    user.user_permissions.set(Permission.objects.filter(codename__in=LEAD_PERMISSIONS))
    assign_perm("manage_policies", user, team_a)
    return user


def signed_in(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_a_team_lead_sees_and_edits_only_the_policies_of_their_teams(lead: Any, team_a: Any, team_b: Any) -> None:
    mine = make_policy("A policy", teams=[team_a])
    theirs = make_policy("B policy", teams=[team_b])
    shared = make_policy("A and B policy", teams=[team_a, team_b])
    everyone = make_policy("Every team policy")
    client = signed_in(lead)
    listing = page_text(client.get(LIST_URL))
    assert "A policy" in listing
    assert "B policy" not in listing and "A and B policy" not in listing and "Every team policy" not in listing
    assert client.get(change_url(mine)).status_code == 200
    for other in (theirs, shared, everyone):
        response = client.get(change_url(other), follow=True)
        assert response.redirect_chain[-1][0] == "/admin/"
        assert "doesn\u2019t exist" in page_text(response)  # Django writes a typographic apostrophe
        assert client.get(preview_url(other)).status_code == 404
        data = policy_post(name="Taken over", teams=[team_a])
        client.post(change_url(other), data)
        client.post(f"/admin/policies/slapolicy/{other.pk}/delete/", {"post": "yes"})
    assert sorted(SlaPolicy.objects.values_list("name", flat=True)) == [
        "A and B policy",
        "A policy",
        "B policy",
        "Every team policy",
    ]


def test_a_team_lead_may_not_give_a_policy_another_team_or_no_team(lead: Any, team_a: Any, team_b: Any) -> None:
    client = signed_in(lead)
    refused = page_text(client.post(ADD_URL, policy_post(teams=[team_b])))
    assert "Select a valid choice" in refused
    orphan = page_text(client.post(ADD_URL, policy_post(teams=[])))
    assert (
        "Choose at least one of your teams: a policy without teams applies to every team, which only a superuser "
        "may define."
    ) in orphan
    assert not SlaPolicy.objects.exists()
    created = client.post(ADD_URL, policy_post(name="A gold", teams=[team_a]))
    assert created.status_code == 302
    assert list(SlaPolicy.objects.get(name="A gold").teams.all()) == [team_a]


def test_a_team_lead_chooses_among_their_teams_calendars_and_the_global_ones(
    lead: Any, team_a: Any, team_b: Any
) -> None:
    calendars = {
        name: BusinessCalendar.objects.create(name=name, team=team)
        for name, team in (("A hours", team_a), ("B hours", team_b), ("Company hours", None))
    }
    client = signed_in(lead)
    form = page_text(client.get(ADD_URL))
    assert "A hours" in form and "Company hours" in form and "B hours" not in form
    refused = client.post(ADD_URL, policy_post(teams=[team_a], calendar=calendars["B hours"]))
    assert "Select a valid choice" in page_text(refused)
    for name in ("A hours", "Company hours"):
        created = client.post(ADD_URL, policy_post(name=name, teams=[team_a], calendar=calendars[name]))
        assert created.status_code == 302


def test_a_team_lead_keeps_a_calendar_a_superuser_chose_for_their_policy(lead: Any, team_a: Any, team_b: Any) -> None:
    elsewhere = BusinessCalendar.objects.create(name="B hours", team=team_b)
    policy = make_policy("A policy", teams=[team_a], calendar=elsewhere)
    client = signed_in(lead)
    data = admin_change_data(client.get(change_url(policy)))
    data["name"] = "A policy, renamed"
    assert client.post(change_url(policy), data).status_code == 302
    policy.refresh_from_db()
    assert (policy.name, policy.calendar) == ("A policy, renamed", elsewhere)


def test_a_lead_without_a_managed_team_cannot_add_a_policy(team_a: Any) -> None:
    user = UserFactory(username="no-team-lead", is_staff=True)
    user.user_permissions.set(Permission.objects.filter(codename__in=LEAD_PERMISSIONS))
    assert signed_in(user).get(ADD_URL).status_code == 403


def test_a_superuser_edits_every_policy_and_may_leave_teams_empty(admin_client: Client, team_b: Any) -> None:
    theirs = make_policy("B policy", teams=[team_b])
    everyone = make_policy("Every team policy")
    listing = page_text(admin_client.get(LIST_URL))
    assert "B policy" in listing and "Every team policy" in listing
    data = admin_change_data(admin_client.get(change_url(everyone)))
    data["name"] = "Every team, renamed"
    assert admin_client.post(change_url(everyone), data).status_code == 302
    assert admin_client.post(ADD_URL, policy_post(name="Global", teams=[])).status_code == 302
    assert admin_client.get(change_url(theirs)).status_code == 200


# Recompute: a saved or deleted policy moves the clocks of the open tickets it governs, in the background.


def first_response_clock(ticket: Ticket) -> SlaClock:
    return SlaClock.objects.get(ticket=ticket, kind=FIRST, stopped_at__isnull=True)


@pytest.mark.django_db(transaction=True)
def test_saving_a_changed_target_retargets_the_running_clocks_of_open_tickets(
    task_runner: str, admin_client: Client, account_a: Any, account_b: Any, team_a: Any
) -> None:
    policy = make_policy("Team A", teams=[team_a], targets=[(NORMAL, FIRST, timedelta(hours=4))])
    governed = [webhook_ticket(account_a, sender="cust-1"), webhook_ticket(account_a, sender="cust-2")]
    other_team = webhook_ticket(account_b, sender="cust-3")
    assert first_response_clock(governed[0]).target == timedelta(hours=4)
    data = admin_change_data(admin_client.get(change_url(policy)))
    data[f"{target_rows(data)[0]}-duration"] = "2h"
    response = admin_client.post(change_url(policy), data, follow=True)
    assert "SLA clocks of 2 open tickets are being recomputed in the background." in page_text(response)
    for ticket in governed:
        wait_until(lambda t=ticket: first_response_clock(t).target == timedelta(hours=2), what="the recompute")
        clock = first_response_clock(ticket)
        assert clock.due_at == clock.started_at + timedelta(hours=2)  # calendar time: every hour counts
        event = TicketEvent.objects.filter(ticket=ticket, kind=EventKind.SLA).latest("id")
        assert event.data == {"recomputed": "SLA policy “Team A” changed", "policy": "Team A"}
    assert not SlaClock.objects.filter(ticket=other_team).exists()


@pytest.mark.django_db(transaction=True)
def test_saving_a_policy_unchanged_recomputes_nothing(task_runner: str, admin_client: Client, account_a: Any) -> None:
    policy = make_policy("Everyone", targets=[(NORMAL, FIRST, timedelta(hours=4))])
    webhook_ticket(account_a)
    data = admin_change_data(admin_client.get(change_url(policy)))
    response = admin_client.post(change_url(policy), data, follow=True)
    assert response.redirect_chain, page_text(response)
    assert "recomputed" not in page_text(response) and "No open ticket" not in page_text(response)


@pytest.mark.django_db(transaction=True)
def test_deleting_a_policy_recomputes_the_tickets_it_governed(
    task_runner: str, admin_client: Client, account_a: Any
) -> None:
    policy = make_policy("Everyone", targets=[(NORMAL, FIRST, timedelta(hours=4))])
    ticket = webhook_ticket(account_a)
    assert TicketSla.objects.get(ticket=ticket).policy == policy
    response = admin_client.post(f"/admin/policies/slapolicy/{policy.pk}/delete/", {"post": "yes"}, follow=True)
    assert "SLA clocks of 1 open ticket are being recomputed in the background." in page_text(response)
    wait_until(lambda: TicketSla.objects.get(ticket=ticket).policy_name == "", what="the recompute")
    assert not SlaClock.objects.filter(ticket=ticket).exists()  # no policy, no target: the running clock goes
