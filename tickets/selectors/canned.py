"""Which canned responses (saved replies) an agent may use, and finding them by what the agent types after "/".

An agent uses the responses of the teams they see (visible_team_ids) and their own personal ones. On a ticket,
only the ticket team's responses and their own: a reply speaks in the voice of the team that owns the ticket,
even when the agent sees it through a single-ticket grant rather than the team.
"""

from django.contrib.auth.models import User as AuthUser
from django.db.models import Case, IntegerField, Q, QuerySet, Value, When

from tickets.models import CannedResponse, Ticket
from tickets.selectors import User, visible_team_ids

# The picker shows at most this many matches; typing more of the name narrows them.
PICKER_LIMIT = 20
# Longer than any name (a SlugField of 60): a longer query matches no name, so it is cut rather than refused.
QUERY_MAX = 120


def _is_agent(user: User) -> bool:
    return isinstance(user, AuthUser) and user.is_active


def _own(user: User) -> Q:
    return Q(owner_id=user.pk)


def canned_usable(user: User) -> QuerySet[CannedResponse]:
    """Every response `user` may use somewhere: their teams' ones and their own, with the team joined in."""
    if not _is_agent(user):
        return CannedResponse.objects.none()
    usable = Q(team_id__in=visible_team_ids(user)) | _own(user)
    return CannedResponse.objects.filter(usable).select_related("team")


def canned_usable_on(user: User, ticket: Ticket) -> QuerySet[CannedResponse]:
    """The responses `user` may insert on `ticket` (one the caller found among visible_tickets(user)): the
    ticket team's and their own, with the team joined in."""
    if not _is_agent(user):
        return CannedResponse.objects.none()
    return CannedResponse.objects.filter(Q(team_id=ticket.team_id) | _own(user)).select_related("team")


def canned_for(user: User, ticket: Ticket | None = None, query: str = "") -> list[CannedResponse]:
    """At most PICKER_LIMIT responses `user` may use (on `ticket` when given) matching `query`: those whose
    name starts with it first, then those whose title or body holds it; by name, one's own before a team's.

    One query on a ticket, two without one (the user's teams, then the responses)."""
    usable = canned_usable(user) if ticket is None else canned_usable_on(user, ticket)
    query = query.strip()[:QUERY_MAX]
    if query:
        prefix = Q(name__istartswith=query)
        usable = usable.filter(prefix | Q(title__icontains=query) | Q(body__icontains=query)).annotate(
            rank=Case(When(prefix, then=Value(0)), default=Value(1), output_field=IntegerField())
        )
    else:
        usable = usable.annotate(rank=Value(0, output_field=IntegerField()))
    ordered = usable.order_by("rank", "name", Case(When(_own(user), then=Value(0)), default=Value(1)), "id")
    return list(ordered[:PICKER_LIMIT])


def canned_own(user: User) -> QuerySet[CannedResponse]:
    """`user`'s personal responses: the only ones they change or delete in the agent UI."""
    if not _is_agent(user):
        return CannedResponse.objects.none()
    return CannedResponse.objects.filter(_own(user))
