"""What agents keep for their work: saved inbox views and canned responses (saved replies)."""

from django.conf import settings
from django.db import models
from django.db.models import Q

from tickets.models.teams import Team


class SavedView(models.Model):
    """An agent's named inbox view: the filters, search and sort of an inbox URL, kept to open again."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="saved_views")
    name = models.CharField(max_length=80)
    query = models.CharField(
        max_length=2000, blank=True, help_text="The inbox's query string: view, filters, search and sort."
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name", "id"]
        constraints = [models.UniqueConstraint(fields=["user", "name"], name="saved_view_name_unique_per_user")]

    def __str__(self) -> str:
        return self.name


class CannedResponse(models.Model):
    """A saved reply in the brand's voice: a team's (every agent of the team may use it) or an agent's own.

    The body may hold {{ contact.first_name }}, {{ contact.name }}, {{ agent.name }}, {{ ticket.number }}...,
    filled in when an agent inserts it (typing "/" and its name in the reply box).
    """

    name = models.SlugField(max_length=60, help_text='What agents type after "/" to insert it, e.g. "refund".')
    title = models.CharField(max_length=120, blank=True, help_text="A longer description shown in the picker.")
    body = models.TextField()
    team = models.ForeignKey(
        Team,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="canned_responses",
        help_text="A team's response: every agent who sees the team may use it.",
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="canned_responses",
        help_text="A personal response: only its owner uses it.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            # A team's or a person's, never both or neither.
            models.CheckConstraint(
                condition=Q(team__isnull=True, owner__isnull=False) | Q(team__isnull=False, owner__isnull=True),
                name="canned_response_team_or_owner",
            ),
            models.UniqueConstraint(fields=["team", "name"], name="canned_name_unique_per_team"),
            models.UniqueConstraint(fields=["owner", "name"], name="canned_name_unique_per_owner"),
        ]

    def __str__(self) -> str:
        return f"/{self.name}"
