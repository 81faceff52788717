"""The agent UI's contact page: who a contact is, their tickets, and merging another contact into them."""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import BadRequest
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.template.defaultfilters import pluralize
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from tickets.models import Contact
from tickets.selectors import contact_identities, contact_merge_candidates, contact_tickets, visible_contacts
from tickets.services.contacts import (
    MergeContactHidden,
    MergeRefused,
    MergeTicketsHidden,
    contacts_merge_as,
    contacts_merge_check,
)
from tickets.views.notifications import header_context

TICKETS_PER_PAGE = 50
CANDIDATES_SHOWN = 20


class ContactSearchForm(forms.Form):
    q = forms.CharField(label="Name, platform user id or profile name", max_length=200, required=False, strip=True)


class MergeForm(forms.Form):
    other = forms.IntegerField(min_value=1, widget=forms.HiddenInput)


def _other_contact(data: QueryDict) -> Contact:
    """The contact named by the form's `other` field (a 400 without one, a 404 for an id of nobody)."""
    form = MergeForm(data)
    if not form.is_valid():
        raise BadRequest("Choose the contact to merge into this one.")
    return get_object_or_404(Contact, pk=form.cleaned_data["other"])


def _refused(request: HttpRequest, keep: Contact, other: Contact, exc: MergeRefused) -> HttpResponse:
    """A refused merge as a response: a hidden contact is not found; the rest say why on the merge page."""
    if isinstance(exc, MergeContactHidden):
        raise Http404(str(exc))
    status = 403 if isinstance(exc, MergeTicketsHidden) else 400
    context = {"contact": keep, "other": other, "refusal": str(exc), **header_context(request)}
    return render(request, "tickets/contact_merge.html", context, status=status)


@require_GET
@login_required
def contact_detail(request: HttpRequest, contact_id: int) -> HttpResponse:
    """A contact's page: identities, visible tickets, and a search for another contact to merge in.

    With ?other=<id> it is the confirmation of merging that contact into this one instead."""
    contact = get_object_or_404(visible_contacts(request.user), pk=contact_id)
    if "other" in request.GET:
        return _merge_confirm(request, contact)
    search = ContactSearchForm(request.GET)
    query = search.cleaned_data["q"] if search.is_valid() else ""
    # One more than shown, to say when the list was cut.
    found = (
        contact_merge_candidates(request.user, contact=contact, query=query, limit=CANDIDATES_SHOWN + 1)
        if query
        else []
    )
    page = Paginator(contact_tickets(request.user, contact), TICKETS_PER_PAGE).get_page(request.GET.get("page"))
    context = {
        "contact": contact,
        "identities": contact_identities(request.user, contact),
        "page": page,
        "search": search,
        "query": query,
        "candidates": found[:CANDIDATES_SHOWN],
        "more_candidates": len(found) > CANDIDATES_SHOWN,
        **header_context(request),
    }
    return render(request, "tickets/contact.html", context)


def _merge_confirm(request: HttpRequest, keep: Contact) -> HttpResponse:
    """What merging the contact of ?other= into `keep` would move, and the button that does it."""
    other = _other_contact(request.GET)
    try:
        summary = contacts_merge_check(user=request.user, keep=keep, others=[other])
    except MergeRefused as exc:
        return _refused(request, keep, other, exc)
    context = {"contact": keep, "other": other, "summary": summary, **header_context(request)}
    return render(request, "tickets/contact_merge.html", context)


@require_POST
@login_required
def contact_merge(request: HttpRequest, contact_id: int) -> HttpResponse:
    """Merge the posted `other` contact into this one, then show this contact's page with what moved."""
    keep = get_object_or_404(visible_contacts(request.user), pk=contact_id)
    other = _other_contact(request.POST)
    name = str(other)
    try:
        summary = contacts_merge_as(user=request.user, keep=keep, others=[other], now=timezone.now())  # type: ignore[arg-type]
    except MergeRefused as exc:
        return _refused(request, keep, other, exc)
    tickets, identities = summary.tickets, summary.identities
    moved = f"{tickets} ticket{pluralize(tickets)} and {identities} identit{pluralize(identities, 'y,ies')}"
    messages.success(request, f"Merged {name} into {keep}: {moved} moved.")
    return redirect("contact-detail", contact_id=keep.pk)
