"""Which SLA (or escalation) policy applies to a ticket, and why: a pure function over plain values.

Policies are tried in their order; the first enabled one whose conditions all hold applies. A condition
with no values means "any". The tags condition holds when the ticket carries at least one of its tags. The
explanation names each condition as it held for this ticket, so an agent can read why the policy applies.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field


@dataclass(frozen=True)
class TicketFacts:
    """What matching looks at, with the labels the explanation shows."""

    channel_kind: str
    channel_label: str
    team_id: int
    team_name: str
    priority: int
    priority_label: str
    tags: Mapping[int, str] = field(default_factory=dict)  # tag id -> name
    sla_policy_id: int | None = None  # the SLA policy the ticket follows (escalation policies match on it)
    sla_policy_name: str = ""


@dataclass(frozen=True)
class PolicyRule:
    """A policy's conditions; an empty set means any value."""

    policy_id: int
    name: str
    channel_kinds: frozenset[str] = frozenset()
    team_ids: frozenset[int] = frozenset()
    priorities: frozenset[int] = frozenset()
    tags: frozenset[int] = frozenset()  # tag ids
    sla_policy_id: int | None = None  # escalation policies: only tickets that follow this SLA policy


@dataclass(frozen=True)
class Match:
    policy_id: int
    name: str
    reasons: tuple[str, ...]


def policy_match(rules: Sequence[PolicyRule], facts: TicketFacts) -> Match | None:
    """The first rule (in the order given) whose conditions all hold for `facts`, with the reasons."""
    for position, rule in enumerate(rules, start=1):
        reasons = _reasons(rule, facts)
        if reasons is not None:
            order = "the first policy in order" if position == 1 else f"the first matching policy (number {position})"
            return Match(policy_id=rule.policy_id, name=rule.name, reasons=(order, *reasons))
    return None


def _reasons(rule: PolicyRule, facts: TicketFacts) -> list[str] | None:
    """How each condition held, or None when one of them does not."""
    if rule.sla_policy_id is not None and facts.sla_policy_id != rule.sla_policy_id:
        return None
    if rule.channel_kinds and facts.channel_kind not in rule.channel_kinds:
        return None
    if rule.team_ids and facts.team_id not in rule.team_ids:
        return None
    if rule.priorities and facts.priority not in rule.priorities:
        return None
    shared_tags = sorted(facts.tags[tag] for tag in rule.tags & facts.tags.keys())
    if rule.tags and not shared_tags:
        return None
    tied = [f"follows the SLA policy {facts.sla_policy_name}"] if rule.sla_policy_id is not None else []
    return [
        *tied,
        f"channel is {facts.channel_label}" if rule.channel_kinds else "any channel",
        f"team is {facts.team_name}" if rule.team_ids else "any team",
        f"priority is {facts.priority_label}" if rule.priorities else "any priority",
        ("tagged " + ", ".join(shared_tags)) if rule.tags else "any tags",
    ]
