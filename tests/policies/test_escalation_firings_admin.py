"""The read-only admin pages of escalation firings and webhook calls: scoped to visible tickets, in a fixed
number of queries, never editable."""

from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import Permission
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from policies.models import EscalationFiring, SlaPolicy, WebhookCall
from policies.services.webhooks import webhook_call_attempt, webhook_calls_claim
from tests.factories import UserFactory
from tests.policies.escalation_helpers import fire, firing_policy, signed_in
from tests.policies.policy_helpers import FIRST, NORMAL, make_policy, page_text

pytestmark = pytest.mark.django_db

FIRINGS_URL = "/admin/policies/escalationfiring/"
M, H = timedelta(minutes=1), timedelta(hours=1)


@pytest.fixture
def sla_policy() -> SlaPolicy:
    return make_policy("Everyone", targets=[(NORMAL, FIRST, H)])


def test_the_firings_list_shows_what_fired_in_fixed_queries(
    admin_client: Client, sla_policy: SlaPolicy, account_a: Any, account_b: Any
) -> None:
    firing_policy(1, webhook_url="https://hooks.test/x")
    ticket = fire(account_a, sender="c-1")
    fire(account_b, sender="c-2")
    assert EscalationFiring.objects.count() == 2
    with CaptureQueriesContext(connection) as few:
        listing = page_text(admin_client.get(FIRINGS_URL))
    assert f'<a href="/tickets/{ticket.number}/">#{ticket.number}</a>' in listing
    assert "1 levels" in listing and "First response" in listing and "1h 1m" in listing  # late by
    assert "note: done · webhook: queued" in listing and "pending" in listing
    # Tickets from now on follow a policy that comes first, with six levels each (one with a webhook).
    firing_policy(6, position=1, webhook_url="https://hooks.test/y")
    for number in range(3):
        fire(account_a if number % 2 else account_b, sender=f"more-{number}")
    assert EscalationFiring.objects.count() == 20
    with CaptureQueriesContext(connection) as many:
        assert "6 levels" in page_text(admin_client.get(FIRINGS_URL))
    assert len(many) == len(few)


def test_firings_and_calls_are_scoped_to_visible_tickets_and_read_only(
    sla_policy: SlaPolicy, account_a: Any, account_b: Any, team_a: Any, fake_platform: Any
) -> None:
    firing_policy(1, webhook_url=fake_platform.url)
    mine, theirs = fire(account_a, sender="c-1"), fire(account_b, sender="c-2")
    viewer = UserFactory(username="viewer", is_staff=True, teams=[team_a])
    codenames = ["view_escalationfiring", "view_webhookcall", "view_webhookattempt"]
    viewer.user_permissions.set(Permission.objects.filter(codename__in=codenames))
    client = signed_in(viewer)
    listing = page_text(client.get(FIRINGS_URL))
    assert f"#{mine.number}" in listing and f"#{theirs.number}" not in listing
    own, other = (EscalationFiring.objects.get(ticket=ticket) for ticket in (mine, theirs))
    call = WebhookCall.objects.get(firing=own)
    fake_platform.statuses = [500, 200]
    for now, state in ((own.fired_at, "pending"), (own.fired_at + M, "succeeded")):
        [claim] = [claim for claim in webhook_calls_claim(now=now) if claim.call_id == call.pk]
        assert webhook_call_attempt(claim=claim, now=now) == state
    detail = page_text(client.get(f"{FIRINGS_URL}{own.pk}/change/"))
    assert "<td>note</td><td>done</td><td>internal note added</td>" in detail
    assert "<td>webhook</td><td>queued</td>" in detail and "succeeded after 2 attempts" in detail
    assert "<td>1</td>" in detail and "<td>500</td><td>HTTP 500</td>" in detail and "<td>200</td>" in detail
    assert "hook-secret-xyz" not in detail  # the secret is never shown
    assert client.get(f"{FIRINGS_URL}{other.pk}/change/", follow=True).redirect_chain[-1][0] == "/admin/"
    calls = page_text(client.get("/admin/policies/webhookcall/"))
    assert fake_platform.url in calls and "succeeded after 2 attempts" in calls
    assert "HTTP 500" in page_text(client.get(f"/admin/policies/webhookcall/{call.pk}/change/"))
    # Read-only for everybody, a superuser included.
    boss = UserFactory(username="boss", is_staff=True, is_superuser=True)
    root = signed_in(boss)
    assert root.get(f"{FIRINGS_URL}add/").status_code == 403
    assert root.post(f"{FIRINGS_URL}{own.pk}/delete/", {"post": "yes"}).status_code == 403
    assert root.post(f"{FIRINGS_URL}{own.pk}/change/", {"policy_name": "forged"}).status_code == 403
    assert root.get("/admin/policies/webhookcall/add/").status_code == 403
    assert EscalationFiring.objects.filter(policy_name="forged").count() == 0
