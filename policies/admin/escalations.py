"""The admin of escalation policies: conditions, inline levels, a dry run on a ticket, and who may edit which.

A team lead (holding `manage_policies` on teams) sees and edits only the policies whose own teams are all
theirs and whose SLA policy, if any, is one of theirs; a policy bounded by neither applies to every ticket,
so only a superuser may define one. Saving or deleting a policy recomputes the open tickets it may affect in
the background.
"""

from collections.abc import Iterable
from datetime import UTC
from typing import Any

from django import forms
from django.contrib import admin
from django.db.models import QuerySet
from django.forms import BaseFormSet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html

from policies.admin.escalation_levels import CHOSEN_TEAMS, EscalationLevelInline, offset_label
from policies.admin.preview import instant_text
from policies.admin.recompute import recompute_in_background
from policies.admin.scoped import ConditionsForm, ScopedPolicyAdmin
from policies.models import EscalationPolicy
from policies.selectors import (
    editable_escalation_policies,
    editable_policies,
    escalation_tickets_to_recompute,
    managed_team_ids,
)
from policies.services.timeline import escalation_following, escalation_timeline, timeline_zone
from tickets.models import Team, Ticket
from tickets.selectors import visible_tickets

NO_SCOPE_MESSAGE = (
    "Choose one of your teams or one of your SLA policies: a policy bounded by neither applies to every ticket, "
    "which only a superuser may define."
)


class EscalationPolicyForm(ConditionsForm):
    # A team lead's policy must be bounded by their teams or their SLA policy.
    lead_only = False

    class Meta:
        model = EscalationPolicy
        fields = ["name", "position", "enabled", "sla_policy", "channel_kinds", "priorities", "teams", "tags"]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        teams = data.get("teams")
        unbounded = not teams and not data.get("sla_policy")
        if self.lead_only and unbounded and not {"teams", "sla_policy"} & set(self.errors):
            self.add_error("teams", NO_SCOPE_MESSAGE)
        if teams is not None:
            # The levels are checked before the teams are saved: they read the chosen ones here.
            setattr(self.instance, CHOSEN_TEAMS, [team.pk for team in teams])
        return data


class LeadEscalationPolicyForm(EscalationPolicyForm):
    lead_only = True


class DryRunForm(forms.Form):
    ticket = forms.IntegerField(
        label="Ticket number",
        min_value=1,
        max_value=2**63 - 1,  # the column's range: a larger number is no ticket, not a database error
        error_messages={
            "required": "Give a ticket number, like 1042.",
            "invalid": "Give a ticket number, like 1042.",
            "min_value": "Give a ticket number, like 1042.",
            "max_value": "Give a ticket number, like 1042.",
        },
    )

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.user = user

    def clean_ticket(self) -> Ticket:
        number = self.cleaned_data["ticket"]
        ticket = visible_tickets(self.user).select_related("team", "identity__channel_account").filter(number=number)
        found = ticket.first()
        if found is None:
            # The same words whether it does not exist or is not the user's to see: nothing leaks.
            raise forms.ValidationError(f"There is no ticket #{number} that you may see.")
        return found


@admin.register(EscalationPolicy)
class EscalationPolicyAdmin(ScopedPolicyAdmin):
    no_conditions = "every ticket of its SLA policy"
    subpage, subpage_view, subpage_name = "dry-run", "dry_run_view", "policies_escalationpolicy_dry_run"
    form = EscalationPolicyForm
    inlines = [EscalationLevelInline]
    list_display = ["position", "name", "enabled", "sla_policy_label", "conditions", "level_count"]
    list_display_links = ["name"]
    list_filter = ["enabled"]
    ordering = ["position", "id"]
    search_fields = ["name"]
    filter_horizontal = ["tags"]
    readonly_fields = ["dry_run_link"]
    fieldsets = [
        (None, {"fields": ["name", "position", "enabled"]}),
        (
            "Conditions",
            {
                "fields": ["sla_policy", "channel_kinds", "priorities", "teams", "tags"],
                "description": "A ticket matches when every condition that is set holds; an empty one matches any.",
            },
        ),
        ("Dry run", {"fields": ["dry_run_link"]}),
    ]

    def editable(self, user: Any) -> QuerySet[EscalationPolicy]:
        return editable_escalation_policies(user)

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any) -> Any:
        kwargs["form"] = EscalationPolicyForm if request.user.is_superuser else LeadEscalationPolicyForm
        return super().get_form(request, obj, change, **kwargs)

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "sla_policy":
            kwargs["queryset"] = editable_policies(request.user)
            kwargs["empty_label"] = "None: tickets of any SLA policy"
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def formfield_for_manytomany(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "teams":
            kwargs["queryset"] = Team.objects.filter(id__in=managed_team_ids(request.user))
            kwargs["widget"] = forms.CheckboxSelectMultiple
        # Tags belong to no team: every tag is any lead's to choose, as on SLA policies.
        return super().formfield_for_manytomany(db_field, request, **kwargs)

    @admin.display(description="SLA policy", ordering="sla_policy__name")
    def sla_policy_label(self, obj: EscalationPolicy) -> str:
        return str(obj.sla_policy) if obj.sla_policy else "any"

    @admin.display(description="Levels", ordering="level_count")
    def level_count(self, obj: EscalationPolicy) -> int:
        return int(getattr(obj, "level_count", 0))

    @admin.display(description="Dry run")
    def dry_run_link(self, obj: EscalationPolicy) -> str:
        if obj.pk is None:
            return "Save the policy first, then try its levels on a ticket."
        url = reverse("admin:policies_escalationpolicy_dry_run", args=[obj.pk])
        return format_html('<a href="{}">Try the levels on a ticket: when each fires, and what it did</a>', url)

    def dry_run_view(self, request: HttpRequest, policy_id: int) -> HttpResponse:
        """The timeline of the policy's levels on the clocks of a chosen ticket the user may see."""
        policy = self.visible_policy(request, policy_id)
        if not self.has_view_permission(request, policy):
            return HttpResponse("You may not see this policy.", status=403)
        form = DryRunForm(request.GET if "ticket" in request.GET else None, user=request.user)
        result: dict[str, Any] = {}
        if form.is_valid():
            ticket, now = form.cleaned_data["ticket"], timezone.now()
            zone = timeline_zone(ticket)
            rows = escalation_timeline(ticket=ticket, policy=policy, now=now)
            result = {
                "ticket": ticket,
                "following": escalation_following(ticket=ticket, policy=policy),
                "zone": zone.key,
                "now": instant_text(now.astimezone(zone)),
                "rows": [
                    {
                        "row": row,
                        "offset": offset_label(row.offset),
                        "local": instant_text(row.moment.astimezone(zone)) if row.moment else "",
                        "utc": instant_text(row.moment.astimezone(UTC)) if row.moment else "",
                        "fired_at": instant_text(row.fired_at.astimezone(zone)) if row.fired_at else "",
                        "outcomes": [_outcome_text(outcome) for outcome in row.outcomes],
                    }
                    for row in rows
                ],
            }
        context = {
            **self.admin_site.each_context(request),
            "title": f"Dry run of {policy.name}",
            "policy": policy,
            "form": form,
            "result": result,
            "opts": self.model._meta,
        }
        return render(request, "admin/policies/escalationpolicy_dry_run.html", context)

    def save_related(
        self, request: HttpRequest, form: forms.ModelForm, formsets: list[BaseFormSet], change: bool
    ) -> None:
        # After the levels, teams and tags are saved: the recompute must see the policy as it now is.
        super().save_related(request, form, formsets, change)
        if change and not (form.has_changed() or any(formset.has_changed() for formset in formsets)):
            return
        policy = form.instance
        self._recompute(
            request, [policy], reason=f"escalation policy “{policy.name}” {'changed' if change else 'added'}"
        )

    def delete_model(self, request: HttpRequest, obj: EscalationPolicy) -> None:
        # Before the deletion: afterwards no ticket points at the policy any more.
        self._recompute(request, [obj], reason=f"escalation policy “{obj.name}” deleted")
        super().delete_model(request, obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[EscalationPolicy]) -> None:
        policies = list(queryset)
        names = ", ".join(f"“{policy.name}”" for policy in policies)
        self._recompute(request, policies, reason=f"escalation policies {names} deleted")
        super().delete_queryset(request, queryset)

    def _recompute(self, request: HttpRequest, policies: Iterable[EscalationPolicy], *, reason: str) -> int:
        """Queue, after commit, a recompute of the open tickets `policies` may affect; tell the user how many."""
        policies = list(policies)
        names = ", ".join(f"“{policy.name}”" for policy in policies)
        return recompute_in_background(
            self,
            request,
            subject=f"the escalation {'policy' if len(policies) == 1 else 'policies'} {names}",
            reason=reason,
            ticket_ids=[pk for policy in policies for pk in escalation_tickets_to_recompute(policy)],
        )


def _outcome_text(outcome: dict[str, str]) -> str:
    """ "notify (done): told alice": one action of a firing and what it did."""
    return f"{outcome.get('action', '?')} ({outcome.get('status', '?')}): {outcome.get('detail', '')}"
