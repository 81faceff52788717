"""Escalation policies in the admin, through the test client: levels, every refusal, who may edit which policy,
and the background recompute. The firings pages are in test_escalation_firings_admin.py."""

from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import Permission
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from guardian.shortcuts import assign_perm

from policies.models import EscalationLevel, EscalationPolicy, TicketSla
from tests.factories import UserFactory
from tests.policies.escalation_helpers import (
    escalation_post,
    level_rows,
    make_escalation_policy,
    signed_in,
)
from tests.policies.policy_helpers import FIRST, NORMAL, RESOLUTION, make_policy, page_text
from tests.support import admin_change_data, wait_until, webhook_ticket
from tickets.models import Priority, Tag

pytestmark = pytest.mark.django_db

ADD_URL = "/admin/policies/escalationpolicy/add/"
LIST_URL = "/admin/policies/escalationpolicy/"
M, H = timedelta(minutes=1), timedelta(hours=1)


def change_url(policy: EscalationPolicy) -> str:
    return f"/admin/policies/escalationpolicy/{policy.pk}/change/"


# Saving a policy.


def test_a_policy_saved_in_the_admin_keeps_its_conditions_and_levels(
    admin_client: Client, team_a: Any, agent_a: Any
) -> None:
    sla = make_policy("Gold", teams=[team_a])
    escalated = Tag.objects.create(name="escalated")
    levels = [
        {"number": 1, "kind": FIRST, "offset": "-15m", "notify_users": [agent_a], "notify_teams": [team_a]},
        {"number": 2, "kind": FIRST, "offset": "0", "set_priority": Priority.HIGH, "add_tags": [escalated]},
        {"number": 3, "kind": RESOLUTION, "offset": "+1h 30m", "assign_team": team_a, "assign_user": agent_a},
        {"number": 4, "kind": RESOLUTION, "offset": "2d", "webhook_url": "https://x.test/h", "webhook_secret": "s"},
    ]
    data = escalation_post(sla_policy=sla, channel_kinds=["api"], priorities=[NORMAL], teams=[team_a], levels=levels)
    response = admin_client.post(ADD_URL, data, follow=True)
    assert response.redirect_chain, page_text(response)
    policy = EscalationPolicy.objects.get()
    assert (policy.name, policy.sla_policy, policy.channel_kinds, policy.priorities) == ("Escalate", sla, ["api"], [2])
    assert list(policy.teams.all()) == [team_a]
    saved = list(policy.levels.order_by("number"))
    assert [(level.kind, level.offset) for level in saved] == [
        (FIRST, -15 * M),
        (FIRST, timedelta(0)),
        (RESOLUTION, H + 30 * M),
        (RESOLUTION, timedelta(days=2)),
    ]
    assert list(saved[0].notify_users.all()) == [agent_a] and list(saved[0].notify_teams.all()) == [team_a]
    assert saved[1].set_priority == Priority.HIGH and list(saved[1].add_tags.all()) == [escalated]
    assert (saved[2].assign_team, saved[2].assign_user) == (team_a, agent_a)
    assert (saved[3].webhook_url, saved[3].webhook_secret) == ("https://x.test/h", "s")
    assert "No open ticket is governed by the escalation policy “Escalate”; no SLA clock changes." in page_text(
        response
    )


def test_the_change_page_shows_offsets_as_text_in_level_order_and_links_the_dry_run(admin_client: Client) -> None:
    policy = make_escalation_policy(
        levels=[
            {"number": 2, "kind": FIRST, "offset": timedelta(0), "note": "breached"},
            {"number": 1, "kind": FIRST, "offset": -30 * M, "note": "soon"},
            {"number": 3, "kind": RESOLUTION, "offset": H, "note": "late"},
        ]
    )
    page = admin_client.get(change_url(policy))
    data = admin_change_data(page)
    assert [data[f"{row}-offset"] for row in level_rows(data)[:3]] == ["-30m", "0", "1h"]
    assert data[f"{level_rows(data)[3]}-number"] == "4"  # the new row proposes the next number
    assert f"/admin/policies/escalationpolicy/{policy.pk}/dry-run/" in page_text(page)


def test_the_list_shows_sla_policy_conditions_and_levels_in_few_queries(admin_client: Client, team_a: Any) -> None:
    sla = make_policy("Gold")
    make_escalation_policy(name="Gold escalations", sla_policy=sla, teams=[team_a], position=5)
    make_escalation_policy(name="Everyone", position=900)
    with CaptureQueriesContext(connection) as few:
        listing = page_text(admin_client.get(LIST_URL))
    assert listing.index("Gold escalations") < listing.index("Everyone")
    assert "Team: Team A" in listing and "every ticket of its SLA policy" in listing
    for number in range(6):
        make_escalation_policy(name=f"Extra {number}", sla_policy=sla, teams=[team_a])
    with CaptureQueriesContext(connection) as many:
        admin_client.get(LIST_URL)
    assert len(many) == len(few)


def test_levels_renumbered_and_retimed_in_one_save_keep_their_ids(admin_client: Client) -> None:
    policy = make_escalation_policy(
        levels=[
            {"number": 1, "kind": FIRST, "offset": -30 * M, "note": "one"},
            {"number": 2, "kind": FIRST, "offset": timedelta(0), "note": "two"},
        ]
    )
    ids = {level.note: level.pk for level in policy.levels.all()}
    data = admin_change_data(admin_client.get(change_url(policy)))
    first, second, new = level_rows(data)
    # The database refuses two rows with one number or one moment even for an instant; the save must not.
    data.update({f"{first}-number": "2", f"{first}-offset": "0", f"{second}-number": "3", f"{second}-offset": "1h"})
    data.update({f"{new}-number": "1", f"{new}-kind": FIRST, f"{new}-offset": "-30m", f"{new}-note": "new one"})
    response = admin_client.post(change_url(policy), data)
    assert response.status_code == 302, page_text(response)
    assert list(policy.levels.order_by("number").values_list("number", "offset", "note")) == [
        (1, -30 * M, "new one"),
        (2, timedelta(0), "one"),
        (3, H, "two"),
    ]
    assert {level.note: level.pk for level in policy.levels.exclude(note="new one")} == ids


# Validation: every refusal names its level and is a message on the form, never a server error.


def level(number: int, kind: str = FIRST, offset: str = "0", **actions: Any) -> dict[str, Any]:
    return {"number": number, "kind": kind, "offset": offset, **(actions or {"note": "act"})}


@pytest.mark.parametrize(
    ("levels", "message"),
    [
        ([level(1), level(1, RESOLUTION)], "Two levels are numbered 1: give each level its own number."),
        (
            [level(1, RESOLUTION, "-1h"), level(2, RESOLUTION, "+2h"), level(3, RESOLUTION, "+1h")],
            "Level 3 (Resolution, +1h) must come after level 2 (Resolution, +2h): a target&#x27;s offsets rise "
            "level by level.",
        ),
        (
            [level(1, FIRST, "-10m"), level(2, FIRST, "-10m")],
            "Level 2 (First response, -10m) must come after level 1 (First response, -10m)",
        ),
        ([level(1, note="")], "Level 1 does nothing: choose at least one action"),
        (
            [level(1, webhook_url="https://x.test/h")],
            "Level 1 calls a webhook: give the secret its body is signed with.",
        ),
        (
            [level(1, webhook_secret="s3cret")],
            "Level 1 has a webhook secret but no URL: give the URL or clear the secret.",
        ),
        ([level(2, offset="-366d")], "Level 2: “-366d” is more than 365 days from the due time."),
        ([level(1, offset="99999999999d")], "“99999999999d” is far more than 365 days."),
        (
            [level(1, offset="soon")],
            "“soon” is not an offset: write it like -30m (before the due time), 0 (the breach)",
        ),
        ([], "Add at least one level (a target, an offset and an action): a policy without levels never escalates."),
    ],
)
def test_the_admin_refuses_impossible_levels_with_a_clear_message(
    admin_client: Client, levels: list[dict[str, Any]], message: str
) -> None:
    response = admin_client.post(ADD_URL, escalation_post(levels=levels))
    assert response.status_code == 200
    assert message in page_text(response)
    assert not EscalationPolicy.objects.exists()


def test_a_level_refuses_an_agent_who_cannot_see_the_tickets(
    admin_client: Client, team_a: Any, team_b: Any, agent_a: Any, agent_b: Any
) -> None:
    cases = [
        (
            {"teams": [team_a]},
            level(1, assign_team=team_a, assign_user=agent_b),
            "Level 1 assigns tickets to agent_b, who does not see the tickets of team Team A: choose an agent of "
            "that team.",
        ),
        (
            {"teams": [team_a]},
            level(1, assign_user=agent_b),
            "Level 1 assigns tickets to agent_b, who does not see the tickets of Team A, where this policy applies",
        ),
        (
            {"sla_policy": make_policy("A only", teams=[team_a])},
            level(1, assign_user=agent_b),
            "who does not see the tickets of Team A, where this policy applies",
        ),
        ({}, level(1, assign_user=agent_a), "but this policy applies to every team and agent_a does not see them all"),
    ]
    for conditions, row, message in cases:
        response = admin_client.post(ADD_URL, escalation_post(levels=[row], **conditions))
        assert message in page_text(response).replace("&#x27;", "'")
    assert not EscalationPolicy.objects.exists()
    fine = escalation_post(teams=[team_b], levels=[level(1, assign_user=agent_b)])
    assert admin_client.post(ADD_URL, fine).status_code == 302


def test_agents_who_left_are_refused_by_name(admin_client: Client, team_a: Any, agent_a: Any) -> None:
    carol = UserFactory(username="carol", teams=[team_a])
    policy = make_escalation_policy(
        teams=[team_a], levels=[{"kind": FIRST, "offset": timedelta(0), "notify_users": [carol]}]
    )
    make_escalation_policy(
        name="Assigns", teams=[team_a], levels=[{"kind": FIRST, "offset": timedelta(0), "assign_user": carol}]
    )
    data = admin_change_data(admin_client.get(change_url(policy)))
    carol.is_active = False
    carol.save()
    assert "Level 1 notifies carol, who is no longer active." in page_text(admin_client.post(change_url(policy), data))
    assigns = EscalationPolicy.objects.get(name="Assigns")
    data = admin_change_data(admin_client.get(change_url(assigns)))
    refused = page_text(admin_client.post(change_url(assigns), data))
    assert "Level 1 assigns tickets to carol, who is no longer active." in refused


# Who may edit which policy.

LEAD_PERMISSIONS = [
    f"{action}_{model}"
    for model in ("escalationpolicy", "escalationlevel")
    for action in ("view", "add", "change", "delete")
]


@pytest.fixture
def lead(team_a: Any) -> Any:
    user = UserFactory(username="lead", is_staff=True, teams=[team_a])
    user.user_permissions.set(Permission.objects.filter(codename__in=LEAD_PERMISSIONS))
    assign_perm("manage_policies", user, team_a)
    return user


def test_a_team_lead_sees_and_edits_only_the_policies_of_their_teams(lead: Any, team_a: Any, team_b: Any) -> None:
    a_sla, b_sla = make_policy("A SLA", teams=[team_a]), make_policy("B SLA", teams=[team_b])
    mine = make_escalation_policy(name="A teams", teams=[team_a])
    mine_by_sla = make_escalation_policy(name="A SLA escalations", sla_policy=a_sla)
    others = [
        make_escalation_policy(name="B teams", teams=[team_b]),
        make_escalation_policy(name="A and B teams", teams=[team_a, team_b]),
        make_escalation_policy(name="A team, B SLA", teams=[team_a], sla_policy=b_sla),
        make_escalation_policy(name="Everyone"),
    ]
    client = signed_in(lead)
    listing = page_text(client.get(LIST_URL))
    assert "A teams" in listing and "A SLA escalations" in listing
    assert not any(other.name in listing for other in others)
    for policy in (mine, mine_by_sla):
        assert client.get(change_url(policy)).status_code == 200
    for other in others:
        response = client.get(change_url(other), follow=True)
        assert response.redirect_chain[-1][0] == "/admin/"
        assert "doesn\u2019t exist" in page_text(response)
        assert client.get(f"/admin/policies/escalationpolicy/{other.pk}/dry-run/").status_code == 404
        client.post(change_url(other), escalation_post(name="Taken over", teams=[team_a]))
        client.post(f"/admin/policies/escalationpolicy/{other.pk}/delete/", {"post": "yes"})
    assert EscalationPolicy.objects.count() == 6 and not EscalationPolicy.objects.filter(name="Taken over").exists()


def test_a_team_lead_chooses_only_among_their_teams_agents_and_sla_policies(
    lead: Any, team_a: Any, team_b: Any, agent_a: Any, agent_b: Any
) -> None:
    a_sla, b_sla = make_policy("A SLA", teams=[team_a]), make_policy("B SLA", teams=[team_b])
    client = signed_in(lead)
    form = client.get(ADD_URL).context["adminform"].form
    assert list(form.fields["teams"].queryset) == [team_a]
    assert list(form.fields["sla_policy"].queryset) == [a_sla]
    inline = client.get(ADD_URL).context["inline_admin_formsets"][0].formset.forms[0]
    assert set(inline.fields["notify_users"].queryset) == {agent_a, lead}
    assert list(inline.fields["assign_team"].queryset) == [team_a]
    for refused in (
        escalation_post(teams=[team_b]),
        escalation_post(sla_policy=b_sla),
        escalation_post(teams=[team_a], levels=[level(1, notify_users=[agent_b])]),
        escalation_post(teams=[team_a], levels=[level(1, assign_team=team_b)]),
    ):
        assert "Select a valid choice" in page_text(client.post(ADD_URL, refused))
    unbounded = page_text(client.post(ADD_URL, escalation_post()))
    assert "Choose one of your teams or one of your SLA policies: a policy bounded by neither applies" in unbounded
    assert not EscalationPolicy.objects.exists()
    assert client.post(ADD_URL, escalation_post(name="By SLA", sla_policy=a_sla)).status_code == 302
    assert client.post(ADD_URL, escalation_post(name="By team", teams=[team_a])).status_code == 302


def test_a_team_lead_keeps_a_choice_a_superuser_made(lead: Any, team_a: Any, team_b: Any, agent_b: Any) -> None:
    policy = make_escalation_policy(
        teams=[team_a],
        levels=[{"kind": FIRST, "offset": timedelta(0), "notify_users": [agent_b], "assign_team": team_b}],
    )
    client = signed_in(lead)
    data = admin_change_data(client.get(change_url(policy)))
    data["name"] = "Renamed"
    assert client.post(change_url(policy), data).status_code == 302
    saved = EscalationLevel.objects.get(policy=policy)
    assert (saved.assign_team, list(saved.notify_users.all())) == (team_b, [agent_b])


def test_a_lead_without_a_managed_team_cannot_add_a_policy() -> None:
    user = UserFactory(username="no-team-lead", is_staff=True)
    user.user_permissions.set(Permission.objects.filter(codename__in=LEAD_PERMISSIONS))
    assert signed_in(user).get(ADD_URL).status_code == 403


# Recompute: a saved or deleted policy re-matches the open tickets it may affect, in the background.


@pytest.mark.django_db(transaction=True)
def test_saving_a_policy_recomputes_the_tickets_it_may_affect(
    task_runner: str, admin_client: Client, account_a: Any, account_b: Any, team_a: Any
) -> None:
    sla = make_policy("Everyone", targets=[(NORMAL, FIRST, 4 * H)])
    governed = [webhook_ticket(account_a, sender="c-1"), webhook_ticket(account_a, sender="c-2")]
    webhook_ticket(account_b, sender="c-3")
    response = admin_client.post(ADD_URL, escalation_post(name="A", sla_policy=sla, teams=[team_a]), follow=True)
    assert "SLA clocks of 2 open tickets are being recomputed in the background." in page_text(response)
    policy = EscalationPolicy.objects.get(name="A")
    for ticket in governed:
        wait_until(lambda t=ticket: TicketSla.objects.get(ticket=t).escalation_policy_id == policy.pk, what="a match")
    # Unchanged: nothing to do. Deleted: the tickets that followed it are matched again.
    data = admin_change_data(admin_client.get(change_url(policy)))
    unchanged = page_text(admin_client.post(change_url(policy), data, follow=True))
    assert "recomputed" not in unchanged and "No open ticket" not in unchanged
    deleted = admin_client.post(f"/admin/policies/escalationpolicy/{policy.pk}/delete/", {"post": "yes"}, follow=True)
    assert "SLA clocks of 2 open tickets are being recomputed in the background." in page_text(deleted)
    wait_until(lambda: not TicketSla.objects.filter(escalation_policy_name="A").exists(), what="the recompute")
