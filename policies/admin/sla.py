"""The admin of SLA policies: conditions, inline targets, a preview of due times, and who may edit which.

A team lead (holding `manage_policies` on teams) sees and edits only the policies whose teams are all theirs;
a policy without teams applies to every team, so only a superuser may define one. Saving or deleting a
policy recomputes the open tickets it governs in the background.
"""

from typing import Any

from django import forms
from django.contrib import admin
from django.db.models import QuerySet
from django.forms import BaseFormSet
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.html import format_html

from policies.admin.preview import policy_preview_view
from policies.admin.recompute import recompute_in_background
from policies.admin.scoped import ConditionsForm, ScopedPolicyAdmin
from policies.admin.targets import SlaTargetInline
from policies.models import BusinessCalendar, SlaPolicy
from policies.selectors import editable_policies, managed_team_ids, policy_calendars
from tickets.models import Team

NO_TEAM_MESSAGE = (
    "Choose at least one of your teams: a policy without teams applies to every team, which only a superuser "
    "may define."
)


class SlaPolicyForm(ConditionsForm):
    class Meta:
        model = SlaPolicy
        fields = ["name", "position", "enabled", "calendar", "channel_kinds", "priorities", "teams", "tags"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        calendar = self.fields.get("calendar")
        current = self.instance.calendar_id
        if isinstance(calendar, forms.ModelChoiceField) and calendar.queryset is not None and current is not None:
            # A superuser may have given the policy a calendar the lead cannot choose; keeping it stays valid.
            calendar.queryset = (calendar.queryset | BusinessCalendar.objects.filter(pk=current)).distinct()


@admin.register(SlaPolicy)
class SlaPolicyAdmin(ScopedPolicyAdmin):
    no_conditions = "every ticket"
    subpage, subpage_view, subpage_name = "preview", "preview_view", "policies_slapolicy_preview"
    form = SlaPolicyForm
    inlines = [SlaTargetInline]
    list_display = ["position", "name", "enabled", "calendar_label", "conditions", "target_count"]
    list_display_links = ["name"]
    list_filter = ["enabled"]
    ordering = ["position", "id"]
    search_fields = ["name"]
    filter_horizontal = ["tags"]
    readonly_fields = ["preview_link"]
    fieldsets = [
        (None, {"fields": ["name", "position", "enabled", "calendar"]}),
        (
            "Conditions",
            {
                "fields": ["channel_kinds", "priorities", "teams", "tags"],
                "description": "A ticket matches when every condition that is set holds; an empty one matches any.",
            },
        ),
        ("Due times", {"fields": ["preview_link"]}),
    ]

    def editable(self, user: Any) -> QuerySet[SlaPolicy]:
        return editable_policies(user)

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "calendar":
            kwargs["queryset"] = policy_calendars(request.user)
            kwargs["empty_label"] = "None: calendar time (every hour counts)"
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def formfield_for_manytomany(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "teams":
            kwargs["queryset"] = Team.objects.filter(id__in=managed_team_ids(request.user))
            kwargs["widget"] = forms.CheckboxSelectMultiple
            if not request.user.is_superuser:
                kwargs["required"] = True
                kwargs["error_messages"] = {"required": NO_TEAM_MESSAGE}
        return super().formfield_for_manytomany(db_field, request, **kwargs)

    @admin.display(description="Calendar", ordering="calendar__name")
    def calendar_label(self, obj: SlaPolicy) -> str:
        return str(obj.calendar) if obj.calendar else "calendar time"

    @admin.display(description="Targets", ordering="target_count")
    def target_count(self, obj: SlaPolicy) -> int:
        return int(getattr(obj, "target_count", 0))

    @admin.display(description="Preview")
    def preview_link(self, obj: SlaPolicy) -> str:
        if obj.pk is None:
            return "Save the policy first, then preview the due instants of its targets."
        url = reverse("admin:policies_slapolicy_preview", args=[obj.pk])
        return format_html('<a href="{}">Preview the due instants for a start and a priority</a>', url)

    def preview_view(self, request: HttpRequest, policy_id: int) -> HttpResponse:
        """The due instants of the policy's targets for a chosen start and priority."""
        policy = self.visible_policy(request, policy_id)
        if not self.has_view_permission(request, policy):
            return HttpResponse("You may not see this policy.", status=403)
        return policy_preview_view(self, request, policy)

    def save_related(
        self, request: HttpRequest, form: forms.ModelForm, formsets: list[BaseFormSet], change: bool
    ) -> None:
        # After the targets, teams and tags are saved: the recompute must see the policy as it now is.
        super().save_related(request, form, formsets, change)
        if change and not (form.has_changed() or any(formset.has_changed() for formset in formsets)):
            return
        policy = form.instance
        recompute_in_background(
            self,
            request,
            subject=f"the SLA policy “{policy.name}”",
            reason=f"SLA policy “{policy.name}” {'changed' if change else 'added'}",
            policies=[policy],
        )

    def delete_model(self, request: HttpRequest, obj: SlaPolicy) -> None:
        # Before the deletion: afterwards no ticket points at the policy any more.
        recompute_in_background(
            self,
            request,
            subject=f"the SLA policy “{obj.name}”",
            reason=f"SLA policy “{obj.name}” deleted",
            policies=[obj],
        )
        super().delete_model(request, obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[SlaPolicy]) -> None:
        policies = list(queryset)
        names = ", ".join(f"“{policy.name}”" for policy in policies)
        recompute_in_background(
            self,
            request,
            subject=f"the SLA policies {names}",
            reason=f"SLA policies {names} deleted",
            policies=policies,
        )
        super().delete_queryset(request, queryset)
