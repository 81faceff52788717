"""Escalation policies and their levels made in one call, tickets opened (and their levels fired) at chosen
instants, and admin form data: shared by the escalation tests."""

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.test import Client

from policies.models import EscalationLevel, EscalationPolicy, SlaPolicy
from policies.services.tick import clocks_check
from tests.support import webhook_ticket
from tickets.connectors.base import InboundMessage
from tickets.models import Ticket
from tickets.services.messages import message_receive

# The level fields that are many-to-many: set after the level is created.
_MANY = ("notify_users", "notify_teams", "add_tags")

DEFAULT_LEVELS: tuple[Mapping[str, Any], ...] = (
    {"number": 1, "kind": "first_response", "offset": timedelta(0), "note": "First response is due"},
)


def make_escalation_policy(
    *,
    name: str = "Escalations",
    sla_policy: SlaPolicy | None = None,
    teams: Iterable[Any] = (),
    levels: Iterable[Mapping[str, Any]] = DEFAULT_LEVELS,
    tags: Iterable[Any] = (),
    **fields: Any,
) -> EscalationPolicy:
    """A policy with `levels` (dicts of level fields; M2M fields such as notify_users=[...] are accepted).

    A level dict without "number" takes its place in the list (1, 2, ...); other policy fields (position,
    enabled, channel_kinds, priorities) pass through `fields`.
    """
    policy = EscalationPolicy.objects.create(name=name, sla_policy=sla_policy, **fields)
    policy.teams.set(list(teams))
    policy.tags.set(list(tags))
    for index, given in enumerate(levels, start=1):
        values = dict(given)
        many = {key: list(values.pop(key)) for key in _MANY if key in values}
        values.setdefault("number", index)
        level = EscalationLevel.objects.create(policy=policy, **values)
        for key, chosen in many.items():
            getattr(level, key).set(chosen)
    return policy


def inbound_ticket(account: Any, *, now: datetime, sender: str = "c-1", text: str = "Hello") -> Ticket:
    """A customer's message received at `now` through the service a webhook calls; the ticket it landed on."""
    inbound = InboundMessage(
        external_id=f"{sender}-{now.isoformat()}", sender_id=sender, sender_name=sender, text=text, sent_at=now
    )
    with transaction.atomic():
        return message_receive(account=account, inbound=inbound, now=now).ticket


def escalation_post(
    *,
    name: str = "Escalate",
    position: int = 10,
    sla_policy: SlaPolicy | None = None,
    channel_kinds: Iterable[str] = (),
    priorities: Iterable[int] = (),
    teams: Iterable[Any] = (),
    tags: Iterable[Any] = (),
    levels: Iterable[Mapping[str, Any]] = ({"number": 1, "kind": "first_response", "offset": "0", "note": "Late"},),
) -> dict[str, Any]:
    """The POST data of the add page: the policy and its level rows (offsets as text, choices as objects)."""
    rows = list(levels)
    data: dict[str, Any] = {
        "name": name,
        "position": str(position),
        "enabled": "on",
        "sla_policy": str(sla_policy.pk) if sla_policy else "",
        "channel_kinds": list(channel_kinds),
        "priorities": [str(value) for value in priorities],
        "teams": [str(team.pk) for team in teams],
        "tags": [str(tag.pk) for tag in tags],
        "levels-TOTAL_FORMS": str(len(rows)),
        "levels-INITIAL_FORMS": "0",
        "levels-MIN_NUM_FORMS": "0",
        "levels-MAX_NUM_FORMS": "1000",
    }
    for index, row in enumerate(rows):
        for key, value in row.items():
            data[f"levels-{index}-{key}"] = _posted(value)
    return {key: value for key, value in data.items() if value != []}


def _posted(value: Any) -> Any:
    if isinstance(value, (list, tuple)):
        return [str(item.pk if hasattr(item, "pk") else item) for item in value]
    if hasattr(value, "pk"):
        return str(value.pk)
    return str(value)


def level_rows(data: Mapping[str, Any]) -> list[str]:
    """The row prefixes of the levels inline in `data` ("levels-0", ...)."""
    return [f"levels-{index}" for index in range(int(data["levels-TOTAL_FORMS"]))]


def firing_policy(levels: int, *, position: int = 100, webhook_url: str = "") -> EscalationPolicy:
    """A policy of `levels` first-response levels, 1 to `levels` minutes before due; the first calls a webhook."""
    before = [timedelta(minutes=minutes) for minutes in range(levels, 0, -1)]
    rows = [{"kind": "first_response", "offset": -offset, "note": "hurry"} for offset in before]
    if webhook_url:
        rows[0] = {**rows[0], "webhook_url": webhook_url, "webhook_secret": "hook-secret-xyz"}
    return make_escalation_policy(name=f"{levels} levels", position=position, levels=rows)


def fire(account: Any, *, sender: str) -> Any:
    """A ticket on `account`, and a tick an hour after its first response was due: every level fires."""
    ticket = webhook_ticket(account, sender=sender)
    clocks_check(now=ticket.sla_clocks.get(kind="first_response").due_at + timedelta(hours=1))
    return ticket


def signed_in(user: Any) -> Client:
    """A test client signed in as `user`."""
    client = Client()
    client.force_login(user)
    return client
