"""Read-only admin pages of what escalations did: recent firings with their outcomes, and outbound webhook calls
with every attempt.

A user sees the firings (and calls) of the tickets they may see (`visible_tickets`), nothing else. Nothing is
added, changed or deleted here: a firing is the record of what happened. Each list costs a fixed number of
queries, however many rows it shows (STYLE.md rule 5).
"""

from typing import Any

from django.contrib import admin
from django.db.models import Prefetch, QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from policies.admin.escalation_levels import offset_label
from policies.engine.durations import duration_text
from policies.models import EscalationFiring, WebhookAttempt, WebhookCall
from tickets.models import Ticket
from tickets.selectors import visible_tickets


class ReadOnlyMixin:
    """Viewing only: a record of what happened is neither added, changed nor deleted by hand."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


def ticket_link(ticket: Ticket) -> SafeString:
    """A link to the agent's page of `ticket`."""
    return format_html('<a href="{}">#{}</a>', reverse("ticket-detail", args=[ticket.number]), ticket.number)


def call_state(call: WebhookCall) -> str:
    """ "succeeded after 2 attempts", "pending (1 attempt so far)": a webhook call's state in words."""
    tries = f"{call.attempts} attempt{'' if call.attempts == 1 else 's'}"
    if call.state == "pending":
        return f"pending ({tries} so far)" if call.attempts else "pending"
    return f"{call.get_state_display().lower()} after {tries}"


def attempts_table(call: WebhookCall) -> SafeString:
    """Every attempt of `call`: when, how long, the status code and the error."""
    attempts = list(call.attempt_log.all())
    if not attempts:
        return format_html("{}", "Not tried yet.")
    rows = format_html_join(
        "",
        "<tr><td>{}</td><td>{}</td><td>{} ms</td><td>{}</td><td>{}</td></tr>",
        (
            (
                attempt.number,
                attempt.started_at.isoformat(timespec="seconds"),
                attempt.duration_ms,
                attempt.status_code if attempt.status_code is not None else "no answer",
                attempt.error or "",
            )
            for attempt in attempts
        ),
    )
    return format_html(
        '<table class="webhook-attempts"><thead><tr><th>Attempt</th><th>Started</th><th>Took</th><th>Status</th>'
        "<th>Error</th></tr></thead><tbody>{}</tbody></table>",
        rows,
    )


class WebhookCallInline(ReadOnlyMixin, admin.StackedInline):
    model = WebhookCall
    extra = 0
    # The secret stays out of every page: the URL and the signed body say enough.
    fields = ("url", "call_state", "created_at", "next_attempt_at", "finished_at", "attempt_table", "body")
    readonly_fields = fields
    verbose_name, verbose_name_plural = "webhook call", "webhook calls"

    def get_queryset(self, request: HttpRequest) -> QuerySet[WebhookCall]:
        return super().get_queryset(request).prefetch_related("attempt_log")

    @admin.display(description="State")
    def call_state(self, obj: WebhookCall) -> str:
        return call_state(obj)

    @admin.display(description="Attempts")
    def attempt_table(self, obj: WebhookCall) -> SafeString:
        return attempts_table(obj)


@admin.register(EscalationFiring)
class EscalationFiringAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = [
        "fired_at",
        "ticket_number",
        "policy_name",
        "level_number",
        "kind",
        "moment",
        "lateness",
        "outcome_summary",
        "webhook_state",
    ]
    list_display_links = ["fired_at"]
    list_filter = [("policy", admin.RelatedOnlyFieldListFilter), "kind"]
    ordering = ["-fired_at", "-id"]
    inlines = [WebhookCallInline]
    fields = (
        "ticket_number",
        "policy_name",
        "level_number",
        "kind",
        "offset_text",
        "cycle",
        "moment",
        "fired_at",
        "lateness",
        "recorded_at",
        "outcome_table",
    )
    readonly_fields = fields

    def get_queryset(self, request: HttpRequest) -> QuerySet[EscalationFiring]:
        calls = Prefetch("webhook_calls", queryset=WebhookCall.objects.order_by("id"))
        return (
            super()
            .get_queryset(request)
            .filter(ticket__in=visible_tickets(request.user).values("pk"))
            .select_related("ticket")
            .prefetch_related(calls)
        )

    @admin.display(description="Ticket", ordering="ticket__number")
    def ticket_number(self, obj: EscalationFiring) -> SafeString:
        return ticket_link(obj.ticket)

    @admin.display(description="Offset")
    def offset_text(self, obj: EscalationFiring) -> str:
        return offset_label(obj.offset)

    @admin.display(description="Late by")
    def lateness(self, obj: EscalationFiring) -> str:
        return duration_text(obj.fired_at - obj.moment)

    @admin.display(description="Outcomes")
    def outcome_summary(self, obj: EscalationFiring) -> str:
        return " · ".join(f"{item.get('action')}: {item.get('status')}" for item in obj.outcomes) or "nothing to do"

    @admin.display(description="Webhook")
    def webhook_state(self, obj: EscalationFiring) -> str:
        return "; ".join(call_state(call) for call in obj.webhook_calls.all()) or "—"

    @admin.display(description="Outcomes")
    def outcome_table(self, obj: EscalationFiring) -> SafeString:
        if not obj.outcomes:
            return format_html("{}", "The level had nothing to do.")
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
            ((item.get("action", ""), item.get("status", ""), item.get("detail", "")) for item in obj.outcomes),
        )
        return format_html(
            '<table class="firing-outcomes"><thead><tr><th>Action</th><th>Status</th><th>What happened</th></tr>'
            "</thead><tbody>{}</tbody></table>",
            rows,
        )


class WebhookAttemptInline(ReadOnlyMixin, admin.TabularInline):
    model = WebhookAttempt
    extra = 0
    fields = ("number", "started_at", "duration_ms", "status_code", "error", "response")
    readonly_fields = fields


@admin.register(WebhookCall)
class WebhookCallAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ["id", "created_at", "ticket_number", "url", "call_state", "finished_at"]
    list_filter = ["state"]
    ordering = ["-id"]
    inlines = [WebhookAttemptInline]
    fields = (
        "firing_link",
        "ticket_number",
        "url",
        "call_state",
        "created_at",
        "next_attempt_at",
        "finished_at",
        "body",
    )
    readonly_fields = fields

    def get_queryset(self, request: HttpRequest) -> QuerySet[WebhookCall]:
        return (
            super()
            .get_queryset(request)
            .filter(firing__ticket__in=visible_tickets(request.user).values("pk"))
            .select_related("firing__ticket")
        )

    @admin.display(description="Ticket")
    def ticket_number(self, obj: WebhookCall) -> SafeString:
        return ticket_link(obj.firing.ticket)

    @admin.display(description="State", ordering="state")
    def call_state(self, obj: WebhookCall) -> str:
        return call_state(obj)

    @admin.display(description="Firing")
    def firing_link(self, obj: WebhookCall) -> SafeString:
        url = reverse("admin:policies_escalationfiring_change", args=[obj.firing_id])
        return format_html('<a href="{}">{}</a>', url, obj.firing)
