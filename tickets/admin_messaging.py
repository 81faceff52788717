"""Admin of what messages carry and how they are sent: contacts' files, and the platforms' approved templates."""

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from tickets.models import Attachment, ChannelAccount, ChannelKind, MessageTemplate
from tickets.selectors import visible_team_ids, visible_tickets
from tickets.services.attachments import attachment_refetch
from tickets.services.replies import template_placeholders


@admin.register(Attachment)
class AttachmentAdmin(admin.ModelAdmin):
    list_display = ["id", "ticket_number", "kind", "name", "state", "size", "fetched_at"]
    list_filter = ["state", "kind", "message__channel_account__kind"]
    list_select_related = ["message__ticket"]
    search_fields = ["name", "media_id", "=message__ticket__number"]
    actions = ["fetch_again"]
    # What the platform sent and what became of it: shown, never edited (the file is served by the ticket page).
    readonly_fields = [
        "message",
        "position",
        "kind",
        "source_url",
        "media_id",
        "mime_type",
        "name",
        "size",
        "state",
        "error",
        "attempts",
        "fetched_at",
    ]
    exclude = ["file"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def get_queryset(self, request: HttpRequest) -> QuerySet[Attachment]:
        return super().get_queryset(request).filter(message__ticket__in=visible_tickets(request.user))

    @admin.display(description="Ticket", ordering="message__ticket__number")
    def ticket_number(self, obj: Attachment) -> str:
        return f"#{obj.message.ticket.number}"

    @admin.action(description="Fetch the selected failed files again", permissions=["change"])
    def fetch_again(self, request: HttpRequest, queryset: QuerySet[Attachment]) -> None:
        queued = attachment_refetch(attachments=queryset)
        if queued:
            self.message_user(request, f"Fetching {queued} file(s) again.")
        else:
            self.message_user(request, "Only files that could not be fetched are fetched again.", messages.WARNING)


class MessageTemplateForm(forms.ModelForm):
    class Meta:
        model = MessageTemplate
        fields = ["channel_account", "name", "language", "body", "active"]

    def clean_body(self) -> str:
        body: str = self.cleaned_data["body"]
        try:
            template_placeholders(body)
        except ValueError as exc:
            raise forms.ValidationError(f"{exc}.") from None
        return body


@admin.register(MessageTemplate)
class MessageTemplateAdmin(admin.ModelAdmin):
    """WhatsApp templates as the platform approved them: copy the name, language and body from WhatsApp Manager."""

    form = MessageTemplateForm
    list_display = ["name", "language", "channel_account", "active", "created_at"]
    list_filter = ["active", "language", "channel_account"]
    search_fields = ["name", "body"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[MessageTemplate]:
        return super().get_queryset(request).filter(channel_account__team_id__in=visible_team_ids(request.user))

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "channel_account":
            # Only WhatsApp has approved templates; only accounts of teams the lead sees.
            kwargs["queryset"] = ChannelAccount.objects.filter(
                kind=ChannelKind.WHATSAPP, team_id__in=visible_team_ids(request.user)
            )
        return super().formfield_for_foreignkey(db_field, request, **kwargs)
