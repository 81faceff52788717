"""The Django admin for tickets. Every changelist asks the same selectors as the agent UI."""

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db import models
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone
from guardian.admin import GuardedModelAdmin

from tickets.connectors.base import ConnectorError
from tickets.models import (
    ChannelAccount,
    Contact,
    ContactIdentity,
    DeliveryState,
    InboundDelivery,
    Message,
    Tag,
    Team,
    Ticket,
    TicketEvent,
)
from tickets.selectors import assignable_agents, visible_team_ids, visible_tickets
from tickets.services.accounts import (
    RETYPE,
    SECRET_FIELDS,
    CredentialsRefused,
    channel_account_verify,
    secrets_to_retype,
)
from tickets.services.contacts import MergeRefused, contacts_merge_as
from tickets.services.deliveries import delivery_process
from tickets.services.tickets import ticket_admin_save


@admin.register(Tag)
class TagAdmin(admin.ModelAdmin):
    list_display = ["name"]
    search_fields = ["name"]


class TeamForm(forms.ModelForm):
    """The commerce token is a secret, as a channel account's are: never sent back to the browser; left empty, the
    stored one is kept, except when the commerce URL changes (the token goes only where it went before)."""

    commerce_url = forms.URLField(
        required=False, assume_scheme="https", help_text=Team._meta.get_field("commerce_url").help_text
    )

    class Meta:
        model = Team
        fields = ["name", "commerce_url", "commerce_token"]
        widgets = {"commerce_token": forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"})}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk and self.instance.commerce_token:
            field = self.fields["commerce_token"]
            field.help_text = f"Set; leave empty to keep it. {field.help_text}"

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        stored = self.instance.commerce_token if self.instance.pk else ""
        if stored and not cleaned.get("commerce_token"):
            if "commerce_url" in cleaned and cleaned["commerce_url"] not in ("", self.instance.commerce_url):
                self.add_error(
                    "commerce_token",
                    "Type it again: the commerce URL changed, and the stored token goes only where it went before.",
                )
            cleaned["commerce_token"] = stored
        return cleaned


@admin.register(Team)
class TeamAdmin(GuardedModelAdmin):
    form = TeamForm
    list_display = ["name", "created_at"]
    search_fields = ["name"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Team]:
        return super().get_queryset(request).filter(id__in=visible_team_ids(request.user))


class TeamScopedFormMixin:
    """Team choices limited to the teams the user sees: nobody moves data into a team they cannot see."""

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "team":
            kwargs["queryset"] = Team.objects.filter(id__in=visible_team_ids(request.user))
        elif db_field.name == "assignee":
            kwargs["queryset"] = assignable_agents(request.user)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)  # type: ignore[misc]


# A channel account's credentials, as the form and its Credentials section list them.
_CREDENTIAL_FIELDS = [
    "secret",
    "verify_token",
    "access_token",
    "platform_account_id",
    "platform_address",
    "encoding_aes_key",
]


# Credentials that are secrets: shown as set or not, never sent back to the browser.
_SECRET_FIELDS = list(SECRET_FIELDS)


def _url_as_https(field: Any, **kwargs: Any) -> Any:
    """Form fields of the account, a URL typed without a scheme read as https:// (Django 6's default)."""
    if isinstance(field, models.URLField):
        kwargs["assume_scheme"] = "https"
    return field.formfield(**kwargs)


class ChannelAccountForm(forms.ModelForm):
    """Saving an account that can send asks the platform (or the fake one at its API base URL) whether its
    credentials work, so a wrong token shows here rather than as failed replies later."""

    platform_says = ""

    class Meta:
        model = ChannelAccount
        formfield_callback = _url_as_https
        fields = ["name", "kind", "team", "enabled", *_CREDENTIAL_FIELDS, "api_base_url", "callback_url"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name in _SECRET_FIELDS:
            field = self.fields.get(name)
            if field is None:
                continue
            # A stored secret is never sent back to the browser: empty keeps it, anything typed replaces it.
            field.widget = forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"})
            if self.instance.pk and getattr(self.instance, name):
                field.required = False
                field.help_text = f"Set; leave empty to keep it. {field.help_text}"

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if self.instance.pk and not self.errors:
            for name in secrets_to_retype(self.instance, cleaned):
                self.add_error(name, RETYPE)
        for name in _SECRET_FIELDS:
            if name in self.fields and not cleaned.get(name) and self.instance.pk:
                cleaned[name] = getattr(self.instance, name)
        if self.errors:
            return cleaned
        # The account as typed (the instance takes the form's values only after clean()).
        typed = {name: cleaned[name] for name in ChannelAccountForm.Meta.fields if name in cleaned}
        account = ChannelAccount(pk=self.instance.pk, **typed)
        try:
            self.platform_says = channel_account_verify(account)
        except CredentialsRefused as exc:
            raise forms.ValidationError(str(exc)) from exc
        return cleaned


@admin.register(ChannelAccount)
class ChannelAccountAdmin(TeamScopedFormMixin, admin.ModelAdmin):
    form = ChannelAccountForm
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    list_display = ["name", "kind", "team", "enabled", "webhook_url", "created_at"]
    list_filter = ["kind", "enabled", ("team", admin.RelatedOnlyFieldListFilter)]
    list_select_related = ["team"]
    search_fields = ["name"]
    readonly_fields = ["webhook_url"]
    fieldsets = [
        (None, {"fields": ["name", "kind", "team", "enabled", "webhook_url"]}),
        (
            "Credentials",
            {
                "fields": [*_CREDENTIAL_FIELDS],
                "description": "Each field says which platforms use it; leave the others empty.",
            },
        ),
        ("Where replies go", {"fields": ["api_base_url", "callback_url"]}),
    ]

    def save_model(self, request: HttpRequest, obj: ChannelAccount, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        said = form.platform_says
        if said:
            self.message_user(request, f"The platform accepted these credentials: they are {said}.")

    @admin.display(description="Webhook URL (paste it into the platform)")
    def webhook_url(self, obj: ChannelAccount) -> str:
        return obj.webhook_url() if obj.pk is not None else "shown once the account is saved"

    def get_queryset(self, request: HttpRequest) -> QuerySet[ChannelAccount]:
        return super().get_queryset(request).filter(team_id__in=visible_team_ids(request.user))


class IdentityInline(admin.TabularInline):
    model = ContactIdentity
    extra = 0
    fields = ["channel_account", "external_id", "display_name", "created_at"]
    # Identities come from platforms; only the name a person reads may be corrected here.
    readonly_fields = ["channel_account", "external_id", "created_at"]
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_queryset(self, request: HttpRequest) -> QuerySet[ContactIdentity]:
        teams = visible_team_ids(request.user)
        return (
            super().get_queryset(request).filter(channel_account__team_id__in=teams).select_related("channel_account")
        )


@admin.register(Contact)
class ContactAdmin(admin.ModelAdmin):
    list_display = ["display_name", "created_at"]
    search_fields = ["display_name", "identities__external_id"]
    inlines = [IdentityInline]
    actions = ["merge"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Contact]:
        contacts = visible_tickets(request.user).values("contact_id")
        return super().get_queryset(request).filter(id__in=contacts)

    @admin.action(
        description="Merge the selected contacts into the oldest (one person)", permissions=["change", "delete"]
    )
    def merge(self, request: HttpRequest, queryset: QuerySet[Contact]) -> None:
        chosen = list(queryset.order_by("created_at", "pk"))
        if len(chosen) < 2:
            self.message_user(request, "Select at least two contacts to merge.", messages.WARNING)
            return
        keep, others = chosen[0], chosen[1:]
        try:
            # The agent UI's rules, so the admin cannot move a ticket the user does not see.
            moved = contacts_merge_as(user=request.user, keep=keep, others=others, now=timezone.now()).tickets  # type: ignore[arg-type]
        except MergeRefused as exc:
            self.message_user(request, f"{exc} Nothing was merged.", messages.ERROR)
            return
        self.message_user(request, f"Merged {len(others)} contact(s) into {keep}; {moved} ticket(s) moved.")


@admin.register(ContactIdentity)
class ContactIdentityAdmin(admin.ModelAdmin):
    list_display = ["external_id", "display_name", "contact", "channel_account", "created_at"]
    list_filter = ["channel_account__kind"]
    list_select_related = ["contact", "channel_account"]
    search_fields = ["external_id", "display_name", "contact__display_name"]
    readonly_fields = ["contact", "channel_account", "external_id", "created_at"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # identities are made by the first message from a sender

    def get_queryset(self, request: HttpRequest) -> QuerySet[ContactIdentity]:
        teams = visible_team_ids(request.user)
        return super().get_queryset(request).filter(channel_account__team_id__in=teams)


@admin.register(InboundDelivery)
class InboundDeliveryAdmin(admin.ModelAdmin):
    list_display = ["id", "channel_account", "state", "held", "received_at", "attempts", "error"]
    list_filter = ["state", "channel_account__kind", "received_at"]
    list_select_related = ["channel_account"]
    search_fields = ["error"]
    readonly_fields = [
        "channel_account",
        "received_at",
        "method",
        "url",
        "query",
        "body_text",
        "headers_shown",
        "state",
        "held",
        "error",
        "attempts",
        "processed_at",
    ]
    exclude = ["body", "headers"]
    actions = ["rerun"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[InboundDelivery]:
        teams = visible_team_ids(request.user)
        return super().get_queryset(request).filter(channel_account__team_id__in=teams)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # deliveries come from platforms, never from a form

    @admin.display(description="Headers")
    def headers_shown(self, obj: InboundDelivery) -> dict[str, str]:
        """The headers as received, but a header that is the account's own secret (Telegram sends its secret
        token as is) is shown masked: whoever reads deliveries need not hold the account's credentials."""
        account = obj.channel_account
        secrets = {value for value in (account.secret, account.verify_token, account.access_token) if value}
        return {name: ("(the account's secret)" if value in secrets else value) for name, value in obj.headers.items()}

    @admin.display(description="Held")
    def held(self, obj: InboundDelivery) -> str:
        """What the delivery held, by event type, and what was ignored (a reaction, a follow)."""
        summary = obj.summary or {}
        parts = [f"{count} {name}" for name, count in sorted(summary.get("events", {}).items())]
        if summary.get("ignored"):
            parts.append("ignored: " + "; ".join(summary["ignored"]))
        return ", ".join(parts)

    @admin.display(description="Body")
    def body_text(self, obj: InboundDelivery) -> str:
        return bytes(obj.body).decode("utf-8", errors="replace")

    @admin.action(description="Re-run the selected deliveries", permissions=["change"])
    def rerun(self, request: HttpRequest, queryset: QuerySet[InboundDelivery]) -> None:
        counts: dict[str, int] = {}
        for delivery in queryset.select_related("channel_account").exclude(
            state__in=[DeliveryState.PROCESSED, DeliveryState.DUPLICATE]
        ):
            try:
                state = delivery_process(delivery=delivery).state
            except ConnectorError:
                state = DeliveryState.REJECTED
            counts[state] = counts.get(state, 0) + 1
        summary = ", ".join(f"{n} {state}" for state, n in sorted(counts.items())) or "nothing to re-run"
        self.message_user(request, f"Re-ran deliveries: {summary}.", messages.INFO)


class MessageInline(admin.TabularInline):
    model = Message
    extra = 0
    fields = ["direction", "author", "text", "external_id", "sent_at", "delivery_status", "delivery_error"]
    readonly_fields = ["direction", "author", "text", "external_id", "sent_at", "delivery_status", "delivery_error"]
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_queryset(self, request: HttpRequest) -> QuerySet[Message]:
        return super().get_queryset(request).select_related("author")


@admin.register(Ticket)
class TicketAdmin(TeamScopedFormMixin, GuardedModelAdmin):  # type: ignore[misc]  # guardian stubs vs Django's
    list_display = [
        "number",
        "subject",
        "status",
        "priority",
        "team",
        "assignee",
        "contact",
        "channel",
        "last_activity_at",
    ]
    list_filter = ["status", "priority", ("team", admin.RelatedOnlyFieldListFilter), "identity__channel_account__kind"]
    list_select_related = ["team", "assignee", "contact", "identity__channel_account"]
    search_fields = ["=number", "subject", "contact__display_name", "identity__external_id"]
    # Who the ticket is with never changes; the team and assignee choices are limited to what the user sees.
    readonly_fields = [
        "number",
        "contact",
        "identity",
        "created_at",
        "updated_at",
        "last_activity_at",
        "solved_at",
        "closed_at",
    ]
    inlines = [MessageInline]
    filter_horizontal = ["tags"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # a ticket starts with a contact's message, never from an empty form

    def get_queryset(self, request: HttpRequest) -> QuerySet[Ticket]:
        # The same rule as the inbox: visible_tickets decides.
        return visible_tickets(request.user).select_related(*self.list_select_related)

    def save_model(self, request: HttpRequest, obj: Ticket, form: Any, change: bool) -> None:
        ticket_admin_save(
            ticket=obj,
            changed=list(form.changed_data),
            actor=request.user,  # type: ignore[arg-type]
            tags=form.cleaned_data.get("tags"),
        )

    @admin.display(description="Channel", ordering="identity__channel_account__kind")
    def channel(self, obj: Ticket) -> str:
        return obj.identity.channel_account.get_kind_display()


@admin.register(Message)
class MessageAdmin(admin.ModelAdmin):
    list_display = ["id", "ticket", "direction", "author", "short_text", "delivery_status", "sent_at"]
    list_filter = ["direction", "delivery_status", "channel_account__kind"]
    list_select_related = ["ticket", "author"]
    search_fields = ["text", "external_id", "=ticket__number"]
    # Messages are what was said: the admin shows them and never rewrites them.
    readonly_fields = [
        "ticket",
        "channel_account",
        "direction",
        "author",
        "text",
        "external_id",
        "sent_at",
        "created_at",
        "delivery_status",
        "delivery_error",
        "send_attempts",
    ]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def get_queryset(self, request: HttpRequest) -> QuerySet[Message]:
        return super().get_queryset(request).filter(ticket__in=visible_tickets(request.user))

    @admin.display(description="Text")
    def short_text(self, obj: Message) -> str:
        return obj.text[:80]


@admin.register(TicketEvent)
class TicketEventAdmin(admin.ModelAdmin):
    list_display = ["id", "ticket", "kind", "actor", "created_at"]
    list_filter = ["kind", "created_at"]
    list_select_related = ["ticket", "actor"]
    search_fields = ["=ticket__number"]
    readonly_fields = ["ticket", "kind", "actor", "created_at", "data"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[TicketEvent]:
        return super().get_queryset(request).filter(ticket__in=visible_tickets(request.user))

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # the audit trail is written by services only

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


# The admin of attachments and templates, and of API tokens, live in modules of their own (this one is long
# enough); they register on import.
from tickets import admin_api, admin_canned, admin_messaging  # noqa: E402, F401
