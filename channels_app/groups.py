"""Names of channel-layer groups. Events go to per-team and per-ticket groups, never to everybody."""


def team_group(team_id: int) -> str:
    """Every agent who sees team `team_id`'s tickets."""
    return f"team.{team_id}"


def ticket_group(ticket_id: int) -> str:
    """Agents granted this one ticket outside their teams."""
    return f"ticket.{ticket_id}"


def ticket_group_ticket(group: str) -> int | None:
    """The ticket id of a ticket group's name, None for any other group."""
    prefix, _, rest = group.partition(".")
    return int(rest) if prefix == "ticket" and rest.isdigit() else None


def user_group(user_id: int) -> str:
    """Every open socket of one user: told when their grants change."""
    return f"user.{user_id}"
