"""The "Applies to" column the SLA and escalation policy admins share."""

from policies.models import EscalationPolicy, SlaPolicy


def conditions_summary(policy: SlaPolicy | EscalationPolicy, *, empty: str) -> str:
    """ "Channel: WhatsApp · Team: Sales": a policy's conditions in one line (teams and tags prefetched)."""
    parts = [
        ("Channel", policy.channel_labels()),
        ("Priority", policy.priority_labels()),
        ("Team", [team.name for team in policy.teams.all()]),
        ("Tag", [tag.name for tag in policy.tags.all()]),
    ]
    return " · ".join(f"{label}: {', '.join(values)}" for label, values in parts if values) or empty
