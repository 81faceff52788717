"""SLA policies and their targets, which policy a ticket follows (and why), and each ticket's clocks."""

from datetime import datetime, timedelta

from django.db import models

from policies.engine.clocks import Clock, ClockState
from policies.models.calendars import BusinessCalendar
from tickets.models import ChannelKind, Priority, Tag, Team, Ticket


class TargetKind(models.TextChoices):
    FIRST_RESPONSE = "first_response", "First response"
    NEXT_RESPONSE = "next_response", "Next response"
    RESOLUTION = "resolution", "Resolution"


# The two clocks an agent's public reply stops.
RESPONSE_KINDS = (TargetKind.FIRST_RESPONSE, TargetKind.NEXT_RESPONSE)


class SlaPolicy(models.Model):
    """How fast matching tickets must be answered and solved. The first enabled matching policy applies."""

    name = models.CharField(max_length=100)
    position = models.PositiveIntegerField(
        default=100, help_text="Policies are tried from the lowest number up; the first that matches applies."
    )
    enabled = models.BooleanField(default=True)
    calendar = models.ForeignKey(
        BusinessCalendar,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="sla_policies",
        help_text="Targets count business hours of this calendar. Empty: calendar time (every hour counts).",
    )
    channel_kinds = models.JSONField(
        default=list, blank=True, help_text="The channels this policy applies to. None ticked: any channel."
    )
    teams = models.ManyToManyField(
        Team, blank=True, related_name="sla_policies", help_text="None chosen: any team (superusers only)."
    )
    priorities = models.JSONField(
        default=list, blank=True, help_text="The priorities this policy applies to. None ticked: any priority."
    )
    tags = models.ManyToManyField(
        Tag, blank=True, related_name="sla_policies", help_text="Applies to tickets with any of these tags. None: any."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["position", "id"]
        verbose_name = "SLA policy"
        verbose_name_plural = "SLA policies"

    def __str__(self) -> str:
        return self.name

    def channel_labels(self) -> list[str]:
        labels = dict(ChannelKind.choices)
        return [str(labels.get(kind, kind)) for kind in self.channel_kinds]

    def priority_labels(self) -> list[str]:
        labels = dict(Priority.choices)
        return [str(labels.get(value, value)) for value in self.priorities]


class SlaTarget(models.Model):
    """How long one kind of clock may run for tickets of one priority under a policy."""

    policy = models.ForeignKey(SlaPolicy, on_delete=models.CASCADE, related_name="targets")
    priority = models.PositiveSmallIntegerField(choices=Priority.choices)
    kind = models.CharField(max_length=20, choices=TargetKind.choices)
    duration = models.DurationField(help_text="Business time, e.g. 4h, 1h 30m, 2d.")

    class Meta:
        ordering = ["policy", "-priority", "kind"]
        constraints = [
            models.UniqueConstraint(fields=["policy", "priority", "kind"], name="sla_target_unique_per_policy"),
            models.CheckConstraint(condition=models.Q(duration__gt=timedelta(0)), name="sla_target_duration_positive"),
            models.CheckConstraint(condition=models.Q(kind__in=TargetKind.values), name="sla_target_kind_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} for {self.get_priority_display()}"


class TicketSla(models.Model):
    """Which policy a ticket follows, and why; `responded_at` ends the first-response phase."""

    ticket = models.OneToOneField(Ticket, on_delete=models.CASCADE, primary_key=True, related_name="sla")
    policy = models.ForeignKey(SlaPolicy, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    policy_name = models.CharField(max_length=100, blank=True, help_text="The policy's name when it was applied.")
    reasons = models.JSONField(default=list, blank=True, help_text="The conditions that matched, as sentences.")
    matched_at = models.DateTimeField()
    responded_at = models.DateTimeField(
        null=True, blank=True, help_text="The first agent reply (or the first solve): next responses count after it."
    )
    escalation_policy = models.ForeignKey(
        "policies.EscalationPolicy", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    escalation_policy_name = models.CharField(max_length=100, blank=True)
    escalation_reasons = models.JSONField(default=list, blank=True)

    class Meta:
        verbose_name = "ticket SLA"

    def __str__(self) -> str:
        return f"{self.ticket}: {self.policy_name or 'no policy'}"


class SlaClock(models.Model):
    """One target's clock on one ticket, for one cycle; the fields are those of policies.engine.clocks.Clock."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="sla_clocks")
    kind = models.CharField(max_length=20, choices=TargetKind.choices)
    cycle = models.PositiveIntegerField(default=1, help_text="Next response starts a new cycle per customer turn.")
    target = models.DurationField()
    started_at = models.DateTimeField()
    elapsed = models.DurationField(default=timedelta(0), help_text="Business time used before running_since.")
    running_since = models.DateTimeField(null=True, blank=True)
    paused_at = models.DateTimeField(null=True, blank=True)
    paused_total = models.DurationField(default=timedelta(0))
    due_at = models.DateTimeField(null=True, blank=True)
    warn_at = models.DateTimeField(null=True, blank=True)
    stopped_at = models.DateTimeField(null=True, blank=True)
    breached_at = models.DateTimeField(null=True, blank=True)
    state = models.CharField(max_length=10, choices=[(state.value, state.name.title()) for state in ClockState])
    # "dropped": stopped because the ticket's policy no longer has this target (kept for its breach), not met.
    ended = models.CharField(max_length=10, blank=True)
    # The escalation levels (ids) already fired in this cycle: the tick skips them when it computes what is next.
    escalated = models.JSONField(default=list, blank=True)
    # The next moment the tick has something to do (a breach, an escalation level); it selects on it.
    next_check_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["ticket", "kind", "cycle"]
        constraints = [
            models.UniqueConstraint(fields=["ticket", "kind", "cycle"], name="sla_clock_cycle_unique"),
            # One live cycle per kind: a reply stops it before a new one starts.
            models.UniqueConstraint(
                fields=["ticket", "kind"], condition=models.Q(stopped_at__isnull=True), name="sla_clock_one_live"
            ),
        ]
        indexes = [
            models.Index(
                fields=["next_check_at"], condition=models.Q(next_check_at__isnull=False), name="sla_clock_next_check"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} on {self.ticket_id} ({self.state})"

    _CLOCK_FIELDS = (
        "target",
        "started_at",
        "elapsed",
        "running_since",
        "paused_at",
        "paused_total",
        "due_at",
        "warn_at",
        "stopped_at",
        "breached_at",
    )

    def to_clock(self) -> Clock:
        """The engine's value of this clock."""
        return Clock(**{name: getattr(self, name) for name in self._CLOCK_FIELDS})

    def apply(self, clock: Clock, next_check_at: datetime | None) -> list[str]:
        """Copy `clock` and its next moment onto this row; the names of the fields that changed (for update_fields)."""
        changed = []
        for name in self._CLOCK_FIELDS:
            value = getattr(clock, name)
            if getattr(self, name) != value:
                setattr(self, name, value)
                changed.append(name)
        for name, value in (("state", clock.state.value), ("next_check_at", next_check_at)):
            if getattr(self, name) != value:
                setattr(self, name, value)
                changed.append(name)
        return changed
