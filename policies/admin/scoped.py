"""What the SLA and escalation policy admins share: the condition ticks of their forms, which policies a
user may touch, the "Applies to" column, and one sub-page of a policy (the SLA preview, the dry run)."""

from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import admin
from django.db.models import Model, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.urls import URLPattern, path

from policies.models import EscalationPolicy, SlaPolicy
from policies.selectors import managed_team_ids
from tickets.models import ChannelKind, Priority


class ConditionsForm(forms.ModelForm):
    """A policy form whose two JSON-list conditions are ticks: channel kinds as strings, priorities as ints."""

    channel_kinds = forms.MultipleChoiceField(
        choices=ChannelKind.choices, widget=forms.CheckboxSelectMultiple, required=False, label="Channels"
    )
    priorities = forms.TypedMultipleChoiceField(
        choices=Priority.choices, coerce=int, widget=forms.CheckboxSelectMultiple, required=False
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name in ("channel_kinds", "priorities"):
            self.fields[name].help_text = self._meta.model._meta.get_field(name).help_text


class ScopedPolicyAdmin(admin.ModelAdmin):
    """A policy admin whose rows a team lead sees and edits only where `editable` lets them.

    Django's model permissions say what a user may do with the model at all; `editable(user)` says which rows.
    A subclass sets `no_conditions` (the "Applies to" text of a policy without conditions) and may name one
    sub-page: `subpage` (the URL's last part), `subpage_view` (the method's name) and `subpage_name`.
    """

    no_conditions = "every ticket"
    subpage: str = ""
    subpage_view: str = ""
    subpage_name: str = ""

    def editable(self, user: Any) -> QuerySet[Any]:
        raise NotImplementedError

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        return self.editable(request.user)

    def _may_edit(self, request: HttpRequest, obj: Model | None) -> bool:
        return obj is None or self.editable(request.user).filter(pk=obj.pk).exists()

    def has_add_permission(self, request: HttpRequest) -> bool:
        # A lead's policy must be bounded by one of their teams; a lead who manages none has nothing to add.
        may_name_teams = request.user.is_superuser or bool(managed_team_ids(request.user))
        return super().has_add_permission(request) and may_name_teams

    def has_view_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return super().has_view_permission(request, obj) and self._may_edit(request, obj)

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return super().has_change_permission(request, obj) and self._may_edit(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return super().has_delete_permission(request, obj) and self._may_edit(request, obj)

    @admin.display(description="Applies to")
    def conditions(self, obj: SlaPolicy | EscalationPolicy) -> str:
        """ "Channel: WhatsApp · Team: Sales": the policy's conditions in one line (teams and tags prefetched)."""
        parts = [
            ("Channel", obj.channel_labels()),
            ("Priority", obj.priority_labels()),
            ("Team", [team.name for team in obj.teams.all()]),
            ("Tag", [tag.name for tag in obj.tags.all()]),
        ]
        return " · ".join(f"{label}: {', '.join(values)}" for label, values in parts if values) or self.no_conditions

    def get_urls(self) -> list[URLPattern]:
        if not self.subpage:
            return super().get_urls()
        view: Callable[..., HttpResponse] = getattr(self, self.subpage_view)
        own = [path(f"<int:policy_id>/{self.subpage}/", self.admin_site.admin_view(view), name=self.subpage_name)]
        return own + super().get_urls()

    def visible_policy(self, request: HttpRequest, policy_id: int) -> Any:
        """The policy `policy_id` if the user may see it (404 otherwise, as if it did not exist)."""
        return get_object_or_404(self.get_queryset(request), pk=policy_id)
