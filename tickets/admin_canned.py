"""Admin of canned responses (saved replies): team leads keep their teams' ones here.

The list holds the responses of the teams the user sees and the user's own; a response is put in a team the user
sees, or made the user's own. Agents keep their personal ones on the agent UI's /canned/ page.
"""

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.db.models import Q, QuerySet
from django.http import HttpRequest

from tickets.models import CannedResponse, Team
from tickets.selectors import visible_team_ids
from tickets.services.canned import VARIABLES, canned_unknown_variables

_VARIABLES_HELP = "Variables, filled in when an agent inserts it: " + ", ".join(
    f"{{{{ {name} }}}} ({meaning})" for name, meaning in VARIABLES.items()
)


class CannedResponseForm(forms.ModelForm):
    class Meta:
        model = CannedResponse
        fields = ["name", "title", "body", "team", "owner"]
        help_texts = {"body": _VARIABLES_HELP}

    def clean(self) -> dict[str, Any]:
        cleaned: dict[str, Any] = super().clean() or {}
        # Said in words before the database's check constraint says it in its own.
        if bool(cleaned.get("team")) == bool(cleaned.get("owner")):
            raise forms.ValidationError("Choose a team, or leave the team empty and make it your own: one of the two.")
        return cleaned


@admin.register(CannedResponse)
class CannedResponseAdmin(admin.ModelAdmin):
    form = CannedResponseForm
    list_display = ["slash_name", "title", "team", "owner", "updated_at"]
    list_filter = [("team", admin.RelatedOnlyFieldListFilter)]  # only the teams of the responses listed
    list_select_related = ["team", "owner"]
    search_fields = ["name", "title", "body"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[CannedResponse]:
        mine = Q(team_id__in=visible_team_ids(request.user)) | Q(owner_id=request.user.pk)
        return super().get_queryset(request).filter(mine)

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "team":
            kwargs["queryset"] = Team.objects.filter(id__in=visible_team_ids(request.user))
        elif db_field.name == "owner":
            # Nobody writes in someone else's name: a personal response here is the user's own.
            kwargs["queryset"] = get_user_model().objects.filter(pk=request.user.pk or 0)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    @admin.display(description="Name", ordering="name")
    def slash_name(self, obj: CannedResponse) -> str:
        return f"/{obj.name}"

    def save_model(self, request: HttpRequest, obj: CannedResponse, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        unknown = canned_unknown_variables(obj.body)
        if unknown:
            self.message_user(request, f"Not variables, left as typed: {' '.join(unknown)}.", messages.WARNING)
