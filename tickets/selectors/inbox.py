"""The inbox's reads: which tickets a view and its filters show, searched and sorted, a page at a time.

visible_tickets(user) always applies first; views, filters and search only narrow it. SLA clocks belong to
the policies app, which the core of tickets does not import: the inbox view asks policies.inbox for the SLA
conditions and hands them in as an InboxSla.
"""

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields, replace
from typing import Any

from django.contrib.auth.models import User as AuthUser
from django.contrib.postgres.search import SearchQuery, SearchVector
from django.db import connection
from django.db.models import Q, QuerySet
from django.utils.http import urlencode

from tickets.models import (
    ChannelKind,
    Contact,
    Message,
    Priority,
    SavedView,
    Status,
    Tag,
    Team,
    Ticket,
)
from tickets.selectors import User, assignable_agents, visible_team_ids, visible_tickets
from tickets.selectors.keyset import Ordering, SortKey

VIEWS = {
    "all": "All I may see",
    "mine": "Mine",
    "unassigned": "Unassigned",
    "teams": "My teams",
    "breaching": "Breaching soon",
}
SLA_STATES = {
    "breached": "Breached",
    "due_soon": "Due within the hour",
    "on_track": "On track",
    "none": "No running target",
}
SORTS = {"activity": "Last activity", "sla": "Next SLA due", "priority": "Priority"}
ASSIGNEE_ME = "me"
ASSIGNEE_NONE = "none"

# The text search configuration of the GIN indexes (migration 0009): no stemming, since contacts write in many
# languages; each word matches as a prefix, so "refu" finds "refund".
SEARCH_CONFIG = "simple"
SEARCH_MAX_LENGTH = 200
SEARCH_MAX_WORDS = 8
_WORD = re.compile(r"[^\W_]+")
_ID = re.compile(r"[1-9][0-9]{0,17}")

_ACTIVITY = SortKey("last_activity_at", descending=True, kind="datetime")
_ID_KEY = SortKey("id", descending=True, kind="int")
ORDERINGS = {
    "activity": Ordering("activity", (_ACTIVITY, _ID_KEY)),
    "priority": Ordering("priority", (SortKey("priority", descending=True, kind="int"), _ACTIVITY, _ID_KEY)),
    # Tickets without a running clock come last, newest activity first among them.
    "sla": Ordering("sla", (SortKey("sla_due", descending=False, kind="datetime", nullable=True), _ACTIVITY, _ID_KEY)),
}


@dataclass(frozen=True)
class InboxSla:
    """What policies lends the inbox about SLA clocks, as conditions on tickets and an expression."""

    breaching: Q  # breached, or a running clock due within the hour
    states: Mapping[str, Q]  # the SLA-state filter's condition, by state (the keys of SLA_STATES)
    next_due: Any  # an expression: the due instant of the ticket's running clock due first, else NULL


@dataclass(frozen=True)
class InboxQuery:
    """What an inbox URL asks for: a view, filters, a search and a sort (every value valid, "" for none)."""

    view: str = "all"
    status: str = ""
    priority: str = ""
    channel: str = ""
    team: str = ""  # a team id
    assignee: str = ""  # "me", "none" or a user id
    tag: str = ""
    sla: str = ""
    q: str = ""
    sort: str = "activity"

    def params(self) -> list[tuple[str, str]]:
        """The values that differ from the defaults, as query parameters."""
        default = InboxQuery()
        return [
            (f.name, getattr(self, f.name)) for f in fields(self) if getattr(self, f.name) != getattr(default, f.name)
        ]

    @property
    def query_string(self) -> str:
        """The canonical query string of this query (no cursor): what a saved view keeps."""
        return urlencode(self.params())

    def but(self, **changes: str) -> "InboxQuery":
        """This query with some values changed."""
        return replace(self, **changes)

    @property
    def needs_sla(self) -> bool:
        """Whether it reads SLA clocks (the breaching view, the SLA filter or sort)."""
        return self.view == "breaching" or bool(self.sla) or self.sort == "sla"

    @property
    def filtered(self) -> bool:
        """Whether any filter or a search narrows the view."""
        return self.but(view="all", sort="activity") != InboxQuery()


@dataclass(frozen=True)
class InboxChoices:
    """What the filters offer `user`: the teams they see, whom they may assign to, and the tags."""

    teams: list[Team]
    agents: list[AuthUser]
    tags: list[Tag]


def inbox_choices(user: User) -> InboxChoices:
    """The teams, assignable agents and tags the inbox's filters offer `user` (a handful of small queries)."""
    return InboxChoices(
        teams=list(Team.objects.filter(id__in=visible_team_ids(user)).order_by("name")),
        agents=list(assignable_agents(user).order_by("username")),
        tags=list(Tag.objects.order_by("name")),
    )


def _allowed(name: str, choices: InboxChoices | None) -> set[str] | None:
    """The values a parameter may take; None where any well-formed value will do (no choices given)."""
    fixed = {
        "view": set(VIEWS),
        "status": set(Status.values),
        "priority": {str(value) for value in Priority.values},
        "channel": set(ChannelKind.values),
        "sla": set(SLA_STATES),
        "sort": set(SORTS),
    }
    if name in fixed:
        return fixed[name]
    if choices is None:
        return None
    if name == "team":
        return {str(team.pk) for team in choices.teams}
    if name == "assignee":
        return {ASSIGNEE_ME, ASSIGNEE_NONE} | {str(agent.pk) for agent in choices.agents}
    return {tag.name for tag in choices.tags}


_LABELS = {
    "view": "view",
    "status": "status",
    "priority": "priority",
    "channel": "channel",
    "team": "team",
    "assignee": "assignee",
    "tag": "tag",
    "sla": "SLA state",
    "sort": "sort order",
}


def _well_formed(name: str, value: str) -> bool:
    if name == "team":
        return bool(_ID.fullmatch(value))
    if name == "assignee":
        return value in (ASSIGNEE_ME, ASSIGNEE_NONE) or bool(_ID.fullmatch(value))
    return name != "tag" or len(value) <= 50


def parse_inbox_query(
    params: Mapping[str, str], *, choices: InboxChoices | None = None
) -> tuple[InboxQuery, list[str]]:
    """The inbox query that `params` (a request's GET) ask for, and a notice for each value ignored.

    Without `choices`, a team, assignee or tag is only checked to be well formed: one that is not among what
    the user sees then matches nothing (visibility applies regardless)."""
    values: dict[str, str] = {}
    notices: list[str] = []
    for name, label in _LABELS.items():
        value = (params.get(name) or "").strip()
        if not value:
            continue
        allowed = _allowed(name, choices)
        if _well_formed(name, value) and (allowed is None or value in allowed):
            values[name] = value
        else:
            notices.append(f"Ignored the {label} “{value[:60]}”: it is not one of the choices offered here.")
    text = " ".join((params.get("q") or "").split())
    if len(text) > SEARCH_MAX_LENGTH:
        notices.append(f"The search was cut to its first {SEARCH_MAX_LENGTH} characters.")
        text = text[:SEARCH_MAX_LENGTH].strip()
    if text and len(search_words(text)) > SEARCH_MAX_WORDS:
        notices.append(f"Only the first {SEARCH_MAX_WORDS} words of the search are used.")
    if text and not search_words(text):
        notices.append(f"Ignored the search “{text[:60]}”: it has no letters or digits to look for.")
        text = ""
    return InboxQuery(**values, q=text), notices


def search_words(text: str) -> list[str]:
    """The words a search looks for: runs of letters and digits."""
    return _WORD.findall(text)


def _messages_matching(word: str) -> QuerySet[Message, Any]:
    """A subquery of the ids of tickets with a message holding a word that starts with `word`."""
    if connection.vendor == "postgresql":
        # The same expression as the GIN index of migration 0009, so that the index answers it.
        found = SearchVector("text", config=SEARCH_CONFIG)
        return Message.objects.annotate(found=found).filter(found=_prefix_query(word)).values("ticket_id")
    return Message.objects.filter(text__icontains=word).values("ticket_id")


def _contacts_matching(word: str) -> QuerySet[Contact, Any]:
    """A subquery of the ids of contacts whose name holds a word starting with `word`."""
    if connection.vendor == "postgresql":
        found = SearchVector("display_name", config=SEARCH_CONFIG)
        return Contact.objects.annotate(found=found).filter(found=_prefix_query(word)).values("id")
    return Contact.objects.filter(display_name__icontains=word).values("id")


def _prefix_query(word: str) -> SearchQuery:
    # A raw tsquery is safe here: `word` is letters and digits only (search_words), so it cannot carry syntax.
    return SearchQuery(f"{word}:*", search_type="raw", config=SEARCH_CONFIG)


def search_condition(text: str) -> Q:
    """Tickets where every word of `text` is in a message, the contact's name, or is the ticket's number.

    Each word is a subquery of ticket (or contact) ids, never a join: a ticket with many matching messages is
    still one row, and the database reads the text indexes rather than every message."""
    condition = Q()
    for word in search_words(text)[:SEARCH_MAX_WORDS]:
        matches = Q(id__in=_messages_matching(word)) | Q(contact_id__in=_contacts_matching(word))
        if _ID.fullmatch(word):
            matches |= Q(number=int(word))
        condition &= matches
    return condition


def inbox_tickets(
    user: User,
    query: InboxQuery | None = None,
    *,
    sla: InboxSla | None = None,
    team_ids: Sequence[int] | None = None,
) -> QuerySet[Ticket]:
    """The tickets of an inbox view: visible to `user`, narrowed by `query`, in its order, with a row's data.

    `sla` is needed for a query that reads SLA clocks; `team_ids`, the user's visible teams if already known.
    """
    query = query or InboxQuery()
    if query.needs_sla and sla is None:
        raise ValueError("this inbox query reads SLA clocks: pass sla=policies.inbox.inbox_sla(now=...)")
    tickets = visible_tickets(user)
    if query.view == "mine":
        tickets = tickets.filter(assignee_id=user.pk)
    elif query.view == "unassigned":
        tickets = tickets.filter(assignee__isnull=True)
    elif query.view == "teams":
        tickets = tickets.filter(team_id__in=list(team_ids) if team_ids is not None else visible_team_ids(user))
    elif query.view == "breaching" and sla is not None:
        tickets = tickets.filter(sla.breaching)
    tickets = tickets.filter(_filters(user, query, sla))
    if query.q:
        tickets = tickets.filter(search_condition(query.q))
    if query.sort == "sla" and sla is not None:
        tickets = tickets.annotate(sla_due=sla.next_due)
    return (
        tickets.select_related("team", "assignee", "contact", "identity__channel_account")
        .prefetch_related("tags")
        .order_by(*ORDERINGS[query.sort].order_by())
    )


def _filters(user: User, query: InboxQuery, sla: InboxSla | None) -> Q:
    condition = Q()
    if query.status:
        condition &= Q(status=query.status)
    if query.priority:
        condition &= Q(priority=int(query.priority))
    if query.channel:
        condition &= Q(identity__channel_account__kind=query.channel)
    if query.team:
        condition &= Q(team_id=int(query.team))
    if query.assignee == ASSIGNEE_ME:
        condition &= Q(assignee_id=user.pk)
    elif query.assignee == ASSIGNEE_NONE:
        condition &= Q(assignee__isnull=True)
    elif query.assignee:
        condition &= Q(assignee_id=int(query.assignee))
    if query.tag:
        # A subquery, not a join through the tags: a ticket stays one row.
        tagged = Ticket.tags.through.objects.filter(tag__name=query.tag).values("ticket_id")
        condition &= Q(id__in=tagged)
    if query.sla and sla is not None:
        condition &= sla.states[query.sla]
    return condition


def user_saved_views(user: User) -> QuerySet[SavedView]:
    """`user`'s own saved inbox views, by name (nobody else's, ever)."""
    if not (user.is_authenticated and user.is_active):
        return SavedView.objects.none()
    return SavedView.objects.filter(user_id=user.pk).order_by("name", "id")
