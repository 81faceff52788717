"""Teams: the unit that owns channel accounts and tickets, and that agents are granted access to."""

from django.db import models


class Team(models.Model):
    """A group of agents. Agents see a team's tickets through a guardian `view_team` grant on it."""

    name = models.CharField(max_length=100, unique=True)
    commerce_url = models.URLField(
        blank=True,
        help_text=(
            "The team's commerce endpoint, asked for a contact's orders (GET with ?contact=<platform user id>); "
            "empty: the contact panel says it is not configured."
        ),
    )
    commerce_token = models.CharField(
        max_length=500, blank=True, help_text="Sent to the commerce endpoint as 'Authorization: Bearer <token>'."
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        permissions = [("manage_policies", "Can edit the team's SLA policies and business calendars")]

    def __str__(self) -> str:
        return self.name
