"""Escalation policies and their levels, the record of each level that fired, and its outbound webhook calls.

A level is (target, offset, actions) (SLA_SEMANTICS.md, "Escalation levels"). Its actions are columns of
the level rather than rows of their own, so that a team lead edits a level as one form in the admin and
the tick reads a policy's levels in one query.
"""

from datetime import timedelta

from django.conf import settings
from django.db import models

from policies.models.sla import SlaClock, SlaPolicy, TargetKind
from tickets.models import ChannelKind, Priority, Tag, Team, Ticket

# Offsets and targets past a year are certainly typing mistakes (and overflow nothing).
MAX_OFFSET = timedelta(days=365)


class EscalationPolicy(models.Model):
    """What happens as a ticket's SLA targets near and pass their due time. The first enabled match applies.

    It applies to tickets governed by its SLA policy (when one is chosen) whose channel, team, priority and
    tags also meet its own conditions; conditions left empty mean "any".
    """

    name = models.CharField(max_length=100)
    position = models.PositiveIntegerField(
        default=100, help_text="Policies are tried from the lowest number up; the first that matches applies."
    )
    enabled = models.BooleanField(default=True)
    sla_policy = models.ForeignKey(
        SlaPolicy,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="escalation_policies",
        help_text="Applies to tickets that follow this SLA policy. Empty: tickets of any SLA policy.",
    )
    channel_kinds = models.JSONField(
        default=list, blank=True, help_text="The channels this policy applies to. None ticked: any channel."
    )
    teams = models.ManyToManyField(
        Team,
        blank=True,
        related_name="escalation_policies",
        help_text="None chosen: any team (of its SLA policy, if one is chosen).",
    )
    priorities = models.JSONField(
        default=list, blank=True, help_text="The priorities this policy applies to. None ticked: any priority."
    )
    tags = models.ManyToManyField(
        Tag, blank=True, related_name="escalation_policies", help_text="Tickets with any of these tags. None: any."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["position", "id"]
        verbose_name_plural = "escalation policies"

    def __str__(self) -> str:
        return self.name

    def channel_labels(self) -> list[str]:
        labels = dict(ChannelKind.choices)
        return [str(labels.get(kind, kind)) for kind in self.channel_kinds]

    def priority_labels(self) -> list[str]:
        labels = dict(Priority.choices)
        return [str(labels.get(value, value)) for value in self.priorities]


class EscalationLevel(models.Model):
    """One step: at the target's due instant plus `offset`, do the chosen actions (once per clock cycle)."""

    policy = models.ForeignKey(EscalationPolicy, on_delete=models.CASCADE, related_name="levels")
    number = models.PositiveSmallIntegerField(help_text="Level 1 comes first; a target's offsets rise level by level.")
    kind = models.CharField("target", max_length=20, choices=TargetKind.choices)
    offset = models.DurationField(
        help_text="From the target's due time: -30m warns 30 business minutes before, 0 is the breach, 1h is an "
        "hour after it."
    )
    notify_users = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="+", help_text="Told in the agent UI and by email."
    )
    notify_teams = models.ManyToManyField(
        Team, blank=True, related_name="+", help_text="Every agent of these teams who may see the ticket is told."
    )
    assign_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="Reassign the ticket to this agent.",
    )
    assign_team = models.ForeignKey(
        Team,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="Move the ticket to this team.",
    )
    set_priority = models.PositiveSmallIntegerField(null=True, blank=True, choices=Priority.choices)
    add_tags = models.ManyToManyField(Tag, blank=True, related_name="+")
    note = models.TextField(blank=True, help_text="An internal note added to the ticket (customers never see it).")
    webhook_url = models.URLField(blank=True, help_text="POSTed a JSON body signed with HMAC-SHA256.")
    webhook_secret = models.CharField(max_length=200, blank=True, help_text="The key of the signature.")

    class Meta:
        ordering = ["policy", "number"]
        constraints = [
            models.UniqueConstraint(fields=["policy", "number"], name="escalation_level_number_unique"),
            models.UniqueConstraint(fields=["policy", "kind", "offset"], name="escalation_level_moment_unique"),
            models.CheckConstraint(
                condition=models.Q(offset__gte=-MAX_OFFSET, offset__lte=MAX_OFFSET), name="escalation_offset_in_range"
            ),
            models.CheckConstraint(condition=models.Q(kind__in=TargetKind.values), name="escalation_kind_valid"),
            models.CheckConstraint(
                condition=models.Q(set_priority__isnull=True) | models.Q(set_priority__in=Priority.values),
                name="escalation_priority_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"Level {self.number}"


class EscalationFiring(models.Model):
    """One level that fired on one clock cycle, with what each of its actions did.

    The unique constraint on (clock, cycle, level) is what makes a level fire once however many ticks run:
    a second insert fails and rolls its tick's transaction back. Names are copied so the record reads the
    same after the policy is edited or deleted.
    """

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="escalation_firings")
    clock = models.ForeignKey(SlaClock, null=True, on_delete=models.SET_NULL, related_name="firings")
    cycle = models.PositiveIntegerField()
    level = models.ForeignKey(EscalationLevel, null=True, on_delete=models.SET_NULL, related_name="firings")
    policy = models.ForeignKey(EscalationPolicy, null=True, on_delete=models.SET_NULL, related_name="firings")
    policy_name = models.CharField(max_length=100)
    level_number = models.PositiveSmallIntegerField()
    kind = models.CharField("target", max_length=20, choices=TargetKind.choices)
    offset = models.DurationField()
    moment = models.DateTimeField(help_text="When the level was due.")
    fired_at = models.DateTimeField(help_text="The instant of the tick that fired it.")
    recorded_at = models.DateTimeField(auto_now_add=True, help_text="The wall-clock time the firing was stored.")
    outcomes = models.JSONField(default=list, help_text="One entry per action: what it did, or why it did not.")

    class Meta:
        ordering = ["-fired_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["clock", "cycle", "level"], name="escalation_fires_once_per_cycle"),
        ]
        indexes = [
            models.Index(fields=["ticket", "fired_at"], name="escalation_firing_ticket"),
            models.Index(fields=["-fired_at"], name="escalation_firing_recent"),
        ]

    def __str__(self) -> str:
        return f"{self.policy_name} level {self.level_number} on ticket {self.ticket_id}"


class CallState(models.TextChoices):
    PENDING = "pending", "Pending"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"


class WebhookCall(models.Model):
    """An outbound webhook a firing asked for: stored with the firing, sent afterwards, retried with backoff."""

    firing = models.ForeignKey(EscalationFiring, on_delete=models.CASCADE, related_name="webhook_calls")
    url = models.URLField()
    secret = models.CharField(max_length=200)
    body = models.TextField(help_text="The exact JSON that is signed and sent.")
    state = models.CharField(max_length=10, choices=CallState.choices, default=CallState.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    # A sender holds the call until then, under its token; one that died mid-call loses it when the lease
    # runs out, and a sender whose token was replaced by a later claim must not send.
    claimed_until = models.DateTimeField(null=True, blank=True)
    claim = models.CharField(max_length=32, blank=True)
    created_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                condition=models.Q(state="pending"),
                name="webhook_call_due",
            ),
        ]

    def __str__(self) -> str:
        return f"webhook {self.pk} to {self.url} ({self.state})"


class WebhookAttempt(models.Model):
    """One try of a webhook call: when, how long, and what came back."""

    call = models.ForeignKey(WebhookCall, on_delete=models.CASCADE, related_name="attempt_log")
    number = models.PositiveSmallIntegerField()
    started_at = models.DateTimeField()
    duration_ms = models.PositiveIntegerField()
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    error = models.TextField(blank=True)
    response = models.TextField(blank=True, help_text="The start of the response body.")

    class Meta:
        ordering = ["call", "number"]
        constraints = [models.UniqueConstraint(fields=["call", "number"], name="webhook_attempt_unique")]

    def __str__(self) -> str:
        return f"attempt {self.number} of webhook {self.call_id}"
