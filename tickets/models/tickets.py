"""Tickets, their human numbers, and the audit trail of every change (TicketEvent)."""

from django.conf import settings
from django.db import models
from django.utils import timezone

from tickets.models.contacts import Contact, ContactIdentity
from tickets.models.teams import Team


class Status(models.TextChoices):
    OPEN = "open", "Open"
    PENDING = "pending", "Pending"
    SOLVED = "solved", "Solved"
    CLOSED = "closed", "Closed"


# A message from the contact joins a ticket in one of these states; a closed ticket never reopens.
ACTIVE_STATUSES = (Status.OPEN, Status.PENDING, Status.SOLVED)


class Priority(models.IntegerChoices):
    LOW = 1, "Low"
    NORMAL = 2, "Normal"
    HIGH = 3, "High"
    URGENT = 4, "Urgent"


class Counter(models.Model):
    """A named sequence (ticket numbers), incremented under a row lock so numbers never collide."""

    name = models.CharField(max_length=50, primary_key=True)
    value = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.name}={self.value}"


class Tag(models.Model):
    """A label on tickets ("vip", "billing"); SLA policies may match on it."""

    name = models.SlugField(max_length=50, unique=True, allow_unicode=True, help_text="Lower case, no spaces.")

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Ticket(models.Model):
    """A conversation with one contact identity, owned by a team, worked by an agent."""

    number = models.BigIntegerField(unique=True, editable=False, help_text="The human ticket number.")
    subject = models.CharField(max_length=200, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    priority = models.PositiveSmallIntegerField(choices=Priority.choices, default=Priority.NORMAL)
    team = models.ForeignKey(Team, on_delete=models.PROTECT, related_name="tickets")
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="assigned_tickets"
    )
    contact = models.ForeignKey(Contact, on_delete=models.PROTECT, related_name="tickets")
    identity = models.ForeignKey(ContactIdentity, on_delete=models.PROTECT, related_name="tickets")
    preview = models.CharField(max_length=200, blank=True, help_text="The start of the latest message.")
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)
    last_activity_at = models.DateTimeField(db_index=True)
    solved_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    tags = models.ManyToManyField(Tag, blank=True, related_name="tickets")

    class Meta:
        constraints = [
            # One ticket at a time per contact identity: a new message joins it rather than splitting.
            models.UniqueConstraint(
                fields=["identity"],
                condition=models.Q(status__in=ACTIVE_STATUSES),
                name="one_active_ticket_per_identity",
            ),
            models.CheckConstraint(condition=models.Q(status__in=Status.values), name="ticket_status_valid"),
            models.CheckConstraint(condition=models.Q(priority__in=Priority.values), name="ticket_priority_valid"),
        ]
        indexes = [
            models.Index(fields=["team", "-last_activity_at", "-id"], name="ticket_team_activity"),
            models.Index(fields=["-last_activity_at", "-id"], name="ticket_activity"),
        ]

    def __str__(self) -> str:
        return f"#{self.number}"


class EventKind(models.TextChoices):
    CREATED = "created", "Created"
    MESSAGE_IN = "message_in", "Message received"
    MESSAGE_OUT = "message_out", "Reply written"
    MESSAGE_STATUS = "message_status", "Delivery status changed"
    MESSAGE_EDITED = "message_edited", "Message edited by the contact"
    CONTACT_MERGED = "contact_merged", "Contact merged with another"
    ATTACHMENT = "attachment", "Attachment fetched"
    STATUS = "status", "Status changed"
    ASSIGNED = "assigned", "Assigned"
    PRIORITY = "priority", "Priority changed"
    TAGS = "tags", "Tags changed"
    UPDATED = "updated", "Edited in the admin"
    SLA = "sla", "SLA changed"
    NOTE = "note", "Internal note added"
    ESCALATED = "escalated", "Escalated"


class TicketEvent(models.Model):
    """One change to a ticket: who, when, what. The audit trail and the source of live events."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=30, choices=EventKind.choices)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    # When the change happened, as the service that made it says (clocks start and stop at this instant).
    created_at = models.DateTimeField(default=timezone.now)
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["ticket", "id"], name="event_ticket_id")]

    def __str__(self) -> str:
        return f"{self.kind} on ticket {self.ticket_id}"
