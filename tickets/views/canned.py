"""Canned responses in the agent UI: the reply box's picker and insert, and the agent's own responses (/canned/).

A ticket the agent may not see, and a response they may not use on it, are both a 404, as if they did not exist.
Team responses are kept by team leads in the admin; here an agent keeps their personal ones.
"""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import User
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from tickets.models import CannedResponse, Ticket
from tickets.selectors import visible_tickets
from tickets.selectors.canned import QUERY_MAX, canned_for, canned_own, canned_usable, canned_usable_on
from tickets.services.canned import (
    VARIABLES,
    CannedRefused,
    canned_create,
    canned_delete,
    canned_render,
    canned_unknown_variables,
    canned_update,
)
from tickets.views.notifications import header_context


class CannedForm(forms.Form):
    name = forms.SlugField(
        label="Name", max_length=60, help_text="What you type after “/” in the reply box, e.g. “refund”."
    )
    title = forms.CharField(
        label="Title", max_length=120, required=False, help_text="Optional: a longer description shown in the picker."
    )
    body = forms.CharField(label="Text", max_length=10_000, widget=forms.Textarea(attrs={"rows": 6}))


def _ticket(request: HttpRequest, number: int) -> Ticket:
    """A ticket the user sees, with what variables are filled from (its contact, identity and team)."""
    return get_object_or_404(visible_tickets(request.user).select_related("team", "contact", "identity"), number=number)


@require_GET
@login_required
def canned_picker(request: HttpRequest, number: int) -> HttpResponse:
    """The picker's listbox: the responses usable on the ticket whose name starts with ?q= (or that hold it)."""
    ticket = get_object_or_404(visible_tickets(request.user).only("id", "number", "team_id"), number=number)
    query = request.GET.get("q", "").strip()[:QUERY_MAX]
    responses = canned_for(request.user, ticket=ticket, query=query)
    return render(request, "tickets/_canned_picker.html", {"ticket": ticket, "responses": responses, "query": query})


@require_GET
@login_required
def canned_insert(request: HttpRequest, number: int, canned_id: int) -> JsonResponse:
    """A response's text as the agent inserts it on the ticket, variables filled in, and the unknown ones."""
    ticket = _ticket(request, number)
    response = get_object_or_404(canned_usable_on(request.user, ticket), pk=canned_id)
    assert isinstance(request.user, User)  # login_required
    rendered = canned_render(response=response, ticket=ticket, agent=request.user)
    return JsonResponse({"text": rendered.text, "unknown": rendered.unknown})


def _list_page(request: HttpRequest, form: CannedForm, *, status: int = 200) -> HttpResponse:
    responses = list(canned_usable(request.user).order_by("team__name", "name", "id"))
    context = {
        "own": [response for response in responses if response.owner_id is not None],
        "team_responses": [response for response in responses if response.team_id is not None],
        "form": form,
        "variables": VARIABLES,
        **header_context(request),
    }
    return render(request, "tickets/canned_list.html", context, status=status)


@require_GET
@login_required
def canned_list(request: HttpRequest) -> HttpResponse:
    """The responses the agent may use: their own (to change or delete) and their teams' (to read)."""
    return _list_page(request, CannedForm())


def _saved(request: HttpRequest, response: CannedResponse, verb: str) -> HttpResponse:
    """Back to the list, saying what was saved and which tokens in it are not variables (a typo, likely)."""
    messages.success(request, f"{verb} /{response.name}.")
    unknown = canned_unknown_variables(response.body)
    if unknown:
        known = ", ".join(f"{{{{ {name} }}}}" for name in VARIABLES)
        messages.warning(request, f"Not variables, left as typed: {' '.join(unknown)}. The variables are {known}.")
    return redirect("canned-list")


@require_POST
@login_required
def canned_new(request: HttpRequest) -> HttpResponse:
    """Save a new personal response."""
    form = CannedForm(request.POST)
    if form.is_valid():
        try:
            assert isinstance(request.user, User)  # login_required
            response = canned_create(owner=request.user, **form.cleaned_data)
        except CannedRefused as exc:
            form.add_error("name", str(exc))
        else:
            return _saved(request, response, "Saved")
    return _list_page(request, form, status=400)


@require_http_methods(["GET", "POST"])
@login_required
def canned_edit(request: HttpRequest, canned_id: int) -> HttpResponse:
    """Change one of the agent's personal responses (anyone else's, or a team's, is a 404)."""
    response = get_object_or_404(canned_own(request.user), pk=canned_id)
    if request.method == "GET":
        form = CannedForm(initial={"name": response.name, "title": response.title, "body": response.body})
    else:
        form = CannedForm(request.POST)
        if form.is_valid():
            try:
                response = canned_update(response=response, **form.cleaned_data)
            except CannedRefused as exc:
                form.add_error("name", str(exc))
            else:
                return _saved(request, response, "Saved")
    context = {"response": response, "form": form, "variables": VARIABLES, **header_context(request)}
    return render(request, "tickets/canned_edit.html", context, status=400 if form.is_bound else 200)


@require_POST
@login_required
def canned_remove(request: HttpRequest, canned_id: int) -> HttpResponse:
    """Delete one of the agent's personal responses (anyone else's, or a team's, is a 404)."""
    response = get_object_or_404(canned_own(request.user), pk=canned_id)
    name = response.name
    canned_delete(response=response)
    messages.success(request, f"Deleted /{name}.")
    return redirect("canned-list")
