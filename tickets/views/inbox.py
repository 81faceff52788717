"""The agent UI's inbox: views, filters, search and sort over the tickets an agent may see, a page at a time;
the rows the live client fetches; and the agent's saved views.

A query string says everything about an inbox page (tickets.selectors.inbox.InboxQuery); a value the page
cannot use is ignored and named in a notice, never an error.
"""

from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect, QueryDict
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.views.decorators.http import require_GET, require_POST

from policies.countdowns import Countdown, countdowns_for
from policies.inbox import inbox_sla
from tickets.models import ChannelKind, Priority, SavedView, Status, Ticket
from tickets.selectors import latest_event_id, visible_tickets
from tickets.selectors.inbox import (
    ASSIGNEE_ME,
    ASSIGNEE_NONE,
    ORDERINGS,
    SLA_STATES,
    SORTS,
    VIEWS,
    InboxChoices,
    InboxQuery,
    inbox_choices,
    inbox_tickets,
    parse_inbox_query,
    user_saved_views,
)
from tickets.selectors.keyset import KeysetPage, Ordering, client_sort_key, decode_cursor, keyset_page
from tickets.services.saved_views import SavedViewRefused, saved_view_delete, saved_view_save
from tickets.views.notifications import header_context


@dataclass(frozen=True)
class InboxRow:
    """A row of the table: the ticket, its nearest SLA target, and its place in the order for the browser."""

    ticket: Ticket
    countdown: Countdown | None
    sort_key: str


@dataclass(frozen=True)
class Link:
    label: str
    url: str
    current: bool = False


@dataclass(frozen=True)
class FilterField:
    """One <select> of the filter form."""

    name: str
    label: str
    options: list[tuple[str, str]]
    selected: str


@dataclass(frozen=True)
class Pager:
    first_url: str | None
    previous_url: str | None
    next_url: str | None


def _inbox_url(query: InboxQuery | str, **cursor: str) -> str:
    query_string = query if isinstance(query, str) else query.query_string
    full = "&".join(part for part in (query_string, urlencode(cursor)) if part)
    return reverse("inbox") + (f"?{full}" if full else "")


def _filter_fields(query: InboxQuery, choices: InboxChoices) -> list[FilterField]:
    def field(name: str, label: str, options: list[tuple[str, str]], any_label: str = "Any") -> FilterField:
        return FilterField(name, label, [("", any_label), *options], getattr(query, name))

    assignees = [(ASSIGNEE_ME, "Me"), (ASSIGNEE_NONE, "Unassigned")]
    assignees += [(str(agent.pk), agent.get_full_name() or agent.get_username()) for agent in choices.agents]
    return [
        field("status", "Status", [(str(value), str(label)) for value, label in Status.choices]),
        field("priority", "Priority", [(str(value), str(label)) for value, label in reversed(Priority.choices)]),
        field("channel", "Channel", [(str(value), str(label)) for value, label in ChannelKind.choices]),
        field("team", "Team", [(str(team.pk), team.name) for team in choices.teams]),
        field("assignee", "Assignee", assignees),
        field("tag", "Tag", [(tag.name, tag.name) for tag in choices.tags]),
        field("sla", "SLA state", list(SLA_STATES.items())),
        FilterField("sort", "Sort by", list(SORTS.items()), query.sort),
    ]


def _summary(query: InboxQuery, fields: list[FilterField]) -> str:
    """The page's caption: the view, the filters and search in words, and the order."""
    parts = []
    for field in fields:
        if field.name != "sort" and field.selected:
            parts.append(f"{field.label.lower()}: {dict(field.options)[field.selected]}")
    if query.q:
        parts.append(f"matching “{query.q}”")
    narrowed = f" ({', '.join(parts)})" if parts else ""
    return f"{VIEWS[query.view]}{narrowed}, sorted by {SORTS[query.sort].lower()}."


def _rows(page: KeysetPage, query: InboxQuery, now: Any) -> list[InboxRow]:
    ordering = ORDERINGS[query.sort]
    countdowns = countdowns_for([ticket.pk for ticket in page.rows], now=now)
    return [
        InboxRow(ticket, countdowns.get(ticket.pk), client_sort_key(ordering, ordering.values(ticket)))
        for ticket in page.rows
    ]


def _cursor(params: QueryDict, ordering: Ordering) -> tuple[str, str, tuple[Any, ...] | None]:
    """Which way a page reads from its cursor ("after" or "before"), the cursor, and the position it names
    (None: there is no cursor, or it does not fit this ordering)."""
    for direction in ("after", "before"):
        token = params.get(direction)
        if token:
            return direction, token, decode_cursor(ordering, token)
    return "", "", None


@require_GET
@login_required
def inbox(request: HttpRequest) -> HttpResponse:
    """An inbox view of the tickets the agent may see: filtered, searched, sorted, a page at a time."""
    # The newest event id is read before the rows: an event committed in between is then replayed, not lost.
    last_event_id = latest_event_id()
    now = timezone.now()
    choices = inbox_choices(request.user)
    query, notices = parse_inbox_query(request.GET, choices=choices)
    ordering = ORDERINGS[query.sort]
    direction, token, position = _cursor(request.GET, ordering)
    if token and position is None:
        notices.append("That page link does not fit this view any more; here is its first page.")
    cursor = {direction: token} if position is not None else {}
    canonical = _inbox_url(query, **cursor)
    if not notices and request.get_full_path() != canonical:
        # The filter form sends every field, empty or not: one short URL per view, to share and to bookmark.
        return HttpResponseRedirect(canonical)
    tickets = inbox_tickets(request.user, query, sla=inbox_sla(now=now), team_ids=[team.pk for team in choices.teams])
    from_position = {direction: position} if position is not None else {}
    page = keyset_page(tickets, ordering, size=settings.HELPDESK_INBOX_PAGE_SIZE, **from_position)
    fields = _filter_fields(query, choices)
    context = {
        "query": query,
        "query_string": query.query_string,
        "views": [
            Link(label, _inbox_url(query.but(view=name)), current=name == query.view) for name, label in VIEWS.items()
        ],
        "clear_url": _inbox_url(InboxQuery(view=query.view)),
        "fields": fields,
        "summary": _summary(query, fields),
        "notices": notices,
        "saved_views": list(user_saved_views(request.user)),
        "rows": _rows(page, query, now),
        "page": page,
        "pager": Pager(
            first_url=None if page.is_first else _inbox_url(query),
            previous_url=_inbox_url(query, before=page.previous_cursor) if page.previous_cursor else None,
            next_url=_inbox_url(query, after=page.next_cursor) if page.next_cursor else None,
        ),
        "last_event_id": last_event_id,
        **header_context(request),
    }
    return render(request, "tickets/inbox.html", context)


@require_GET
@login_required
def inbox_row(request: HttpRequest, ticket_id: int) -> HttpResponse:
    """One inbox row for the live client, in the view its query string names: 204 when the ticket is not in it."""
    now = timezone.now()
    query, _notices = parse_inbox_query(request.GET)
    ticket = inbox_tickets(request.user, query, sla=inbox_sla(now=now)).filter(pk=ticket_id).first()
    if ticket is None:
        # Not in this view (any more): the page drops the row. A ticket the user may not see is not found.
        get_object_or_404(visible_tickets(request.user).only("pk"), pk=ticket_id)
        return HttpResponse(status=204)
    ordering = ORDERINGS[query.sort]
    row = InboxRow(
        ticket, countdowns_for([ticket.pk], now=now).get(ticket.pk), client_sort_key(ordering, ordering.values(ticket))
    )
    return render(request, "tickets/_inbox_row.html", {"row": row, "ticket": row.ticket, "countdown": row.countdown})


def _posted_query(request: HttpRequest, choices: InboxChoices | None = None) -> InboxQuery:
    """The inbox query a form posted back (the page's own query string), cleaned as the page cleans it."""
    query, _notices = parse_inbox_query(QueryDict(request.POST.get("query", "")), choices=choices)
    return query


@require_POST
@login_required
def saved_view_create(request: HttpRequest) -> HttpResponse:
    """Save the inbox's current query under a name the agent gives, then show that view."""
    query = _posted_query(request, inbox_choices(request.user))
    try:
        view, created = saved_view_save(user=request.user, name=request.POST.get("name", ""), query=query.query_string)
    except SavedViewRefused as exc:
        messages.error(request, f"The view was not saved: {exc}")
        return HttpResponseRedirect(_inbox_url(query))
    messages.success(request, f"Saved the view “{view.name}”." if created else f"Updated the view “{view.name}”.")
    return HttpResponseRedirect(_inbox_url(view.query))


@require_GET
@login_required
def saved_view_open(request: HttpRequest, view_id: int) -> HttpResponse:
    """Open one of the agent's saved views (another user's is not found)."""
    view = get_object_or_404(user_saved_views(request.user), pk=view_id)
    return HttpResponseRedirect(_inbox_url(view.query))


@require_POST
@login_required
def saved_view_remove(request: HttpRequest, view_id: int) -> HttpResponse:
    """Delete one of the agent's saved views (another user's is not found), back to the page it was on."""
    try:
        view = saved_view_delete(user=request.user, view_id=view_id)
    except SavedView.DoesNotExist as exc:
        raise Http404("No such saved view.") from exc
    messages.success(request, f"Deleted the view “{view.name}”.")
    return HttpResponseRedirect(_inbox_url(_posted_query(request)))
